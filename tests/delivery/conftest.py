"""Fixtures of the delivery tests; the builders they use live in tests/builders/delivery.py."""
from __future__ import annotations


import csv
import io
from contextlib import contextmanager
from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from svcproc.accounts.models import User
from svcproc.audit.models import AuditChainHead
from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract
from svcproc.core import clock as app_clock
from svcproc.core.permissions import Role
from svcproc.delivery import identity, ledger, services
from svcproc.delivery.models import ActivityType, Beneficiary, ConsentBy, ConsentMethod, Gender
from svcproc.extensions import db
from svcproc.procurement.models import TenderMethod, TenderStatus
from svcproc.registry.models import Area, AreaLevel, Organization, SocialWorker
from tests.conftest import DEFAULT_NOW, AppClient, Clock
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.procurement import make_plan, tender_in
from tests.builders.registry import AreaFactory, OrganizationFactory, SocialWorkerFactory
from tests.helpers import events_after, fields_of, last_seq, login, row_counts
from tests.builders.delivery import *  # noqa: F401,F403  (the builders, for the tests' imports)


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_world)


@pytest.fixture
def world(built, clock) -> World:
    clock.set(built["now"])
    return World(built)


@pytest.fixture
def login_as(client, world):
    """login_as("manager") logs the client in as that person of the world (anonymous: None)."""

    def run(who):
        if who is None or who == "anonymous":
            return None
        user = world.users[who]
        assert login(client, user).status_code == 303, who
        return user

    return run


@pytest.fixture(scope="module")
def committed_built(app):
    """The world, committed; every row it added is deleted after the module."""
    with app.app_context():
        marks = RowMarks()
        try:
            frozen = Clock(DEFAULT_NOW)
            ids = build_world(frozen)
            db.session.commit()
            yield ids
        finally:
            app_clock.freeze(None)
            marks.remove_newer()
            db.session.remove()


@pytest.fixture
def committed_session(app, committed_built):
    """Stands in for the rolled-back test transaction: the test, its requests, job threads and workers
    all commit for real; afterwards every row the test added is deleted."""
    with app.app_context():
        marks = RowMarks()
        try:
            yield db.session
        finally:
            marks.remove_newer()
            db.session.remove()


class SettlingClient(AppClient):
    """A client for committed-data tests: the test's session ends its transaction before each
    request, so it holds no lock (SQLite: a read lock) that the request, or a job, must wait for."""

    def open(self, *args, **kwargs):
        db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture
def committed_client(app):
    return SettlingClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def committed_world(committed_built, committed_session, clock) -> World:
    clock.set(committed_built["now"])
    return World(committed_built)
