"""Fixtures for the contract tests: an awarded tender, contracts in each status, and a check that a
refused change left every contract table, the audit trail and the upload folder as they were."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from svcproc.contracts.models import ContractStatus
from svcproc.core.errors import DomainError
from svcproc.extensions import db
from svcproc.procurement.models import TenderStatus

from tests.builders.contracts import contract_in
from tests.builders.procurement import tender_in

# Everything a contract action could touch.
TABLES = ("contract", "contract_amendment", "milestone", "deliverable", "payment", "stored_file", "file_chunk",
          "audit_event", "audit_chain_head", "tender", "bid")


def uploaded_files() -> list[Path]:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def db_state() -> dict:
    """Every row of the tables a contract action could touch (file chunks included), and the files in
    the upload folder.

    Flushes first, so a change a refused call made in memory shows up as a difference too.
    """
    db.session.flush()
    state = {}
    for name in TABLES:
        table = db.metadata.tables[name]
        state[name] = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
    state["files"] = uploaded_files()
    return state


@contextmanager
def refused(match: str | None = None, exc: type[Exception] = DomainError):
    """`with refused("rule text"): workflow_call(...)` — the call raises, and nothing changed."""
    before = db_state()
    with pytest.raises(exc, match=match) as info:
        yield info
    assert db_state() == before


@pytest.fixture(autouse=True)
def _english():
    """Messages raised outside a request come out in English, so tests can match their words."""
    with force_locale("en"):
        yield


@pytest.fixture
def awarded(clock):
    """A public tender taken through bidding, opening, scoring, publicity and the award."""
    return tender_in(TenderStatus.AWARDED, clock)


@pytest.fixture
def build(clock):
    """build(status, **options) → a ContractSetup in that status (see builders.contract_in)."""
    return lambda status, **options: contract_in(status, clock, **options)


@pytest.fixture(params=list(ContractStatus), ids=lambda s: s.value)
def any_contract(request, build):
    """A contract in each status in turn."""
    return build(request.param)
