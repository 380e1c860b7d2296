"""The audit trail's hash chain: intact chains verify, edited, deleted or reordered events are found."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from svcproc.audit.models import AuditChainHead, AuditEvent
from svcproc.audit.services import GENESIS, HASHED_FIELDS, append_pending, canonical_json, compute_hash, hash_of, record
from svcproc.audit.verification import verify_chain
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry import services
from svcproc.registry.models import AreaLevel
from tests.builders.accounts import UserFactory
from tests.helpers import audit_events

EVENTS = 5


@pytest.fixture
def chain(clock):
    """Five events written by real service calls, a minute apart."""
    actor = UserFactory(role=Role.ADMIN, username="chief")
    district = services.create_area(actor, level=AreaLevel.DISTRICT, code="510107", name="武侯区", parent=None)
    for i in range(1, EVENTS - 1):
        clock.advance(minutes=1)
        services.create_area(actor, level=AreaLevel.STREET, code=f"51010700{i}", name=f"街道{i}", parent=district)
    clock.advance(minutes=1)
    services.update_area(actor, district, code="510107", name="武侯区（新）", parent=None)
    db.session.flush()
    events = audit_events()
    assert [e.seq for e in events] == list(range(1, EVENTS + 1))
    return events


def _sql(statement: str, **params) -> None:
    db.session.execute(sa.text(statement), params)
    db.session.expire_all()


# --- an intact chain ----------------------------------------------------------------------------


def test_an_intact_chain_verifies(chain):
    report = verify_chain()

    assert report.ok
    assert report.checked == EVENTS


def test_the_chain_starts_empty():
    report = verify_chain()

    assert report.ok and report.checked == 0
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (0, GENESIS)


def test_each_event_links_to_the_one_before(chain):
    previous = GENESIS
    for event in chain:
        assert event.prev_hash == previous
        assert event.hash == compute_hash(event)
        previous = event.hash
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (EVENTS, previous)


def test_events_record_who_what_and_before_after(chain):
    last = chain[-1]

    assert (last.actor_name, last.action, last.object_type) == ("chief", "area.updated", "area")
    assert last.changes == {"name": ["武侯区", "武侯区（新）"]}
    assert chain[0].changes["code"] == [None, "510107"]


def test_the_chain_survives_a_database_round_trip(chain):
    db.session.expire_all()  # read every event back from the database

    assert all(compute_hash(event) == event.hash for event in audit_events())


@pytest.mark.parametrize("actor_name, changes, moment", [
    ("chief", {"name": ["武侯区", "武侯区（新）"]}, datetime(2025, 6, 3, 9, 30, 15, 123456, tzinfo=timezone.utc)),
    ('quote " back \\ slash', {"note": ['a "b"\n\tc', "\u2028 \x07 😀"], "n": [1, 2.5]},
     datetime(2025, 6, 3, 9, 30, tzinfo=timezone.utc)),
    ("", {}, datetime(999, 1, 1, tzinfo=timezone.utc)),
], ids=["chinese", "escapes", "empty-and-early"])
def test_an_event_appended_alone_is_hashed_as_python_hashes_it(chain, actor_name, changes, moment):
    """A write recording one event (most do) is given its place and hash by one statement on
    PostgreSQL: the hash is the one Python computes of the same fields, and the chain goes on."""
    before = db.session.get(AuditChainHead, 1)
    last_seq, last_hash = before.last_seq, before.last_hash
    event = record("test.alone", actor_name=actor_name, object_type="test", object_id="x\"1", changes=changes)
    event.occurred_at = moment

    append_pending()
    db.session.expire_all()

    stored = db.session.get(AuditEvent, event.id)
    assert (stored.seq, stored.prev_hash) == (last_seq + 1, last_hash)
    assert stored.hash == compute_hash(stored) == event.hash
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (last_seq + 1, stored.hash)
    assert verify_chain().ok


# --- tampering ----------------------------------------------------------------------------------


def test_an_edited_change_is_detected(chain):
    target = chain[2]
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id)
                       .values(changes={"name": [None, "伪造的名字"]}))
    db.session.expire_all()

    report = verify_chain()

    assert not report.ok
    assert (report.bad_seq, report.bad_id, report.checked) == (3, target.id, 2)
    assert report.reason == "content"


def test_an_edited_actor_is_detected(chain):
    _sql("UPDATE audit_event SET actor_name = 'someone-else', actor_id = NULL WHERE seq = 2")

    report = verify_chain()

    assert not report.ok and report.bad_seq == 2


def test_an_edited_action_is_detected(chain):
    _sql("UPDATE audit_event SET action = 'area.viewed' WHERE seq = 4")

    report = verify_chain()

    assert not report.ok and report.bad_seq == 4


def test_a_deleted_middle_event_is_detected(chain):
    _sql("DELETE FROM audit_event WHERE seq = 3")

    report = verify_chain()

    assert not report.ok
    assert (report.bad_seq, report.checked) == (4, 2)


def test_a_deleted_middle_event_with_the_rest_renumbered_is_detected(chain):
    _sql("DELETE FROM audit_event WHERE seq = 3")
    for seq in range(4, EVENTS + 1):
        _sql("UPDATE audit_event SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    _sql("UPDATE audit_chain_head SET last_seq = :n", n=EVENTS - 1)

    report = verify_chain()

    assert not report.ok
    assert (report.bad_seq, report.checked) == (3, 2)


def test_a_deleted_last_event_is_detected(chain):
    _sql("DELETE FROM audit_event WHERE seq = :s", s=EVENTS)

    report = verify_chain()

    assert not report.ok
    assert (report.bad_seq, report.bad_id, report.checked) == (EVENTS, None, EVENTS - 1)


def test_swapped_events_are_detected(chain):
    _sql("UPDATE audit_event SET seq = -1 WHERE seq = 2")
    _sql("UPDATE audit_event SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_event SET seq = 3 WHERE seq = -1")

    report = verify_chain()

    assert not report.ok
    assert (report.bad_seq, report.checked) == (2, 1)


def test_a_forged_event_appended_without_the_head_is_detected(chain):
    last = chain[-1]
    forged = AuditEvent(seq=EVENTS + 1, occurred_at=last.occurred_at, actor_id=None, actor_name="intruder",
                        action="area.updated", object_type="area", object_id="1", changes={}, client_ip="",
                        prev_hash=last.hash)
    forged.hash = compute_hash(forged)
    db.session.add(forged)
    db.session.flush()

    report = verify_chain()

    assert not report.ok


# --- the command and the page -------------------------------------------------------------------


def test_audit_verify_command_reports_an_intact_chain(cli, chain):
    result = cli("audit", "verify")

    assert result.exit_code == 0
    assert f"{EVENTS} events" in result.output


def test_audit_verify_command_names_the_first_bad_event(cli, chain):
    _sql("UPDATE audit_event SET actor_name = 'x' WHERE seq = 4")

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"#4 (id {chain[3].id})" in result.output
    assert "3 events before it are intact" in result.output


def test_audit_verify_command_reports_a_removed_tail(cli, chain):
    _sql("DELETE FROM audit_event WHERE seq = :s", s=EVENTS)

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"#{EVENTS}" in result.output


# --- the canonical text, written fast ---------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    dict(actor_id=7, actor_name="chief", changes={"name": ["武侯区", "武侯区（新）"], "b": [None, 1]}),
    dict(actor_id=None, actor_name="", changes={}),
    dict(actor_id=3, actor_name='引号"与\\反斜杠\n换行\t制表\x01', changes={"z": {"nested": [True, False, None]}}),
    dict(actor_id=3, actor_name="=cmd|' /C calc'!A0", changes={"emoji": [None, "🙂\u2028"], "n": [1, 2]}),
    dict(actor_id=3, actor_name="x", changes=None, occurred_at=datetime(2025, 3, 12, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))),
])
def test_the_fast_hash_is_the_hash_of_the_canonical_json(fields):
    values = dict(seq=42, occurred_at=datetime(2025, 3, 12, 2, 0, 0, 123, tzinfo=timezone.utc), action="area.updated",
                  object_type="area", object_id="17", client_ip="10.0.0.1", prev_hash="ab" * 32) | fields
    ordered = [values[name] for name in HASHED_FIELDS]

    assert hash_of(*ordered) == hashlib.sha256(canonical_json(*ordered).encode("utf-8")).hexdigest()


def test_one_events_append_is_a_statement_compiled_once(app):
    """A write that records one event (most do) appends it with a statement SQLAlchemy keeps
    compiled: a list of rows' VALUES has no cache key and was compiled again at every write."""
    from sqlalchemy.dialects import postgresql

    from svcproc.audit.services import _append_stmt

    assert _append_stmt(1)._generate_cache_key() is not None
    # Several events still go in one statement, their rows in order.
    text = str(_append_stmt(3).compile(dialect=postgresql.dialect()))
    assert text.count("INSERT INTO audit_event") == 1 and "hash_2" in text
