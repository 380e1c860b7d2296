"""Fixtures of the evaluations tests; the builders they use live in tests/builders/evaluations.py."""
from __future__ import annotations


from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.accounts.models import User
from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationRound, RoundEvaluator, RoundKind, RoundStatus, TemplateVersion
from svcproc.extensions import db
from svcproc.procurement.models import TenderMethod, TenderStatus
from svcproc.registry.models import Organization, OrgKind
from tests.builders.delivery import CONTENT, World, build_world
from tests.builders.accounts import UserFactory
from tests.builders.procurement import make_plan, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import events_after, fields_of, last_seq
from tests.builders.evaluations import *  # noqa: F401,F403  (the builders, for the tests' imports)


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_eval_world)


@pytest.fixture
def world(built, clock) -> EvalWorld:
    clock.set(built["now"])
    return EvalWorld(built)
