"""Events join the chain when their transaction commits: in the order they were recorded, without
those of a rolled-back savepoint or transaction, and with the chain's lock taken only at the end."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from svcproc.audit.models import AuditChainHead, AuditEvent
from svcproc.audit.services import GENESIS, append_pending, compute_hash, record
from svcproc.audit.verification import verify_chain
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry import services
from svcproc.registry.models import Area, AreaLevel
from tests.builders.accounts import UserFactory


def _chain() -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(AuditEvent.seq, AuditEvent.action).order_by(AuditEvent.seq))]


def _head() -> tuple[int, str]:
    return tuple(db.session.execute(sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash)).one())


def test_a_recorded_event_joins_the_chain_at_commit():
    event = record("test.first")

    assert event.seq is None and _chain() == [] and _head() == (0, GENESIS)
    db.session.commit()

    assert _chain() == [(1, "test.first")]
    assert event.seq == 1 and event.prev_hash == GENESIS and event.hash == compute_hash(event)
    assert _head() == (1, event.hash)


def test_events_join_in_the_order_they_were_recorded_after_what_is_already_there():
    record("test.earlier")
    db.session.commit()

    for action in ("test.c", "test.a", "test.b"):
        record(action)
    db.session.commit()

    assert _chain() == [(1, "test.earlier"), (2, "test.c"), (3, "test.a"), (4, "test.b")]
    assert verify_chain().ok


def test_append_pending_places_them_before_the_commit_and_only_once():
    first, second = record("test.one"), record("test.two")

    placed = append_pending(db.session)
    db.session.commit()

    assert placed == [first, second] and (first.seq, second.seq) == (1, 2)
    assert _chain() == [(1, "test.one"), (2, "test.two")]
    assert append_pending(db.session) == []


def test_events_of_a_rolled_back_savepoint_are_not_appended():
    record("test.before")
    savepoint = db.session.begin_nested()
    record("test.inside")
    savepoint.rollback()
    record("test.after")

    db.session.commit()

    assert _chain() == [(1, "test.before"), (2, "test.after")]
    assert verify_chain().ok


def test_events_of_an_inner_savepoint_go_with_the_outer_one_rolled_back():
    outer = db.session.begin_nested()
    record("test.outer")
    inner = db.session.begin_nested()
    record("test.inner")
    inner.commit()
    outer.rollback()

    db.session.commit()

    assert _chain() == []


def test_events_of_a_released_savepoint_are_kept():
    record("test.before")
    with db.session.begin_nested():
        record("test.inside")
    record("test.after")

    db.session.commit()

    assert _chain() == [(1, "test.before"), (2, "test.inside"), (3, "test.after")]


def test_events_of_a_rolled_back_transaction_vanish():
    record("test.kept")
    db.session.commit()
    head = _head()
    record("test.lost")

    db.session.rollback()
    db.session.commit()

    assert _chain() == [(1, "test.kept")] and _head() == head


def test_the_chains_lock_is_taken_after_the_transactions_other_work(count_queries):
    """A workflow records its event, then goes on working: the head row is touched only at commit,
    after everything else was written, so concurrent writers wait for the append alone."""
    admin = UserFactory(role=Role.ADMIN)
    db.session.flush()
    with count_queries() as counted:
        area = services.create_area(admin, level=AreaLevel.DISTRICT, code="510107", name="武侯区", parent=None)
        during = list(counted.statements)
        area.name = "武侯区（改）"  # more work after the event was recorded
        db.session.commit()

    assert not any("audit_chain_head" in s or "audit_event" in s for s in during)
    statements = counted.statements[len(during):]
    head_update = next(i for i, s in enumerate(statements) if "audit_chain_head" in s)  # the lock's statement
    assert any(s.lstrip().upper().startswith("UPDATE AREA") for s in statements[:head_update])
    assert all("audit_" in s for s in statements[head_update:]), statements[head_update:]
    assert db.session.get(Area, area.id).name == "武侯区（改）" and _chain() == [(1, "area.created")]


@pytest.mark.parametrize("recorded", [0, 3])
def test_a_commit_without_events_leaves_the_chain_alone(recorded, count_queries):
    for i in range(recorded):
        record(f"test.{i}")
    db.session.commit()

    with count_queries() as counted:
        UserFactory(role=Role.AUDITOR)
        db.session.commit()

    assert not any("audit_" in s for s in counted.statements)
    assert _head()[0] == recorded
