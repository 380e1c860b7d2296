"""Transactions committing at once on PostgreSQL, each on its own connection: a writer waits only for
another's append and commit, and the chain stays whole and in order.

These commit for real (SQLite has one writer at a time and nothing to show here); every row they add
is deleted afterwards and the chain's head put back (see tests/delivery/conftest.py RowMarks).
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from svcproc.audit.models import AuditEvent
from svcproc.audit.services import append_pending, record
from svcproc.audit.verification import verify_chain
from svcproc.extensions import db
from tests.builders.delivery import RowMarks


@pytest.fixture
def db_session(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers need PostgreSQL (SQLite lets one writer in at a time)")
        marks = RowMarks()
        try:
            yield db.session
        finally:
            marks.remove_newer()
            db.session.remove()


class Writer(threading.Thread):
    """One transaction in its own app context (so its own session and connection): records events,
    optionally takes the chain's lock early and holds it until told to go on, then commits."""

    def __init__(self, app, name: str, events: int, *, hold: threading.Event | None = None,
                 start_together: threading.Barrier | None = None, transactions: int = 1):
        super().__init__(name=name, daemon=True)
        self.app, self.events, self.hold, self.barrier, self.transactions = app, events, hold, start_together, transactions
        self.appended = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        with self.app.app_context():
            try:
                if self.barrier is not None:
                    self.barrier.wait(10)
                for t in range(self.transactions):
                    for i in range(self.events):
                        record(f"test.{self.name}", object_type="test", object_id=f"{t}.{i}")
                    if self.hold is not None:
                        append_pending(db.session)
                        self.appended.set()
                        self.hold.wait(20)
                    db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.error = exc
            finally:
                db.session.remove()


def _chain() -> list[tuple[int, str, str]]:
    db.session.rollback()
    return [tuple(row) for row in db.session.execute(
        sa.select(AuditEvent.seq, AuditEvent.action, AuditEvent.object_id).where(AuditEvent.object_type == "test")
        .order_by(AuditEvent.seq))]


def _waiting_on_a_lock() -> int:
    db.session.rollback()
    return db.session.execute(sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )).scalar_one()


def test_a_second_writer_waits_for_the_first_ones_append_then_follows_it(app):
    go_on = threading.Event()
    first = Writer(app, "first", 3, hold=go_on)
    second = Writer(app, "second", 2)
    first.start()
    assert first.appended.wait(20), first.error

    second.start()
    deadline = time.monotonic() + 20
    while _waiting_on_a_lock() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    waiting = _waiting_on_a_lock()
    go_on.set()
    first.join(20)
    second.join(20)

    assert (first.error, second.error) == (None, None)
    assert waiting == 1, "the second writer should wait for the chain's head while the first holds it"
    chain = _chain()
    assert [action for _seq, action, _id in chain] == ["test.first"] * 3 + ["test.second"] * 2
    seqs = [seq for seq, _action, _id in chain]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert verify_chain().ok


def test_many_writers_committing_at_once_leave_one_whole_chain(app):
    together = threading.Barrier(4)
    writers = [Writer(app, f"w{n}", 3, start_together=together, transactions=5) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)

    assert [w.error for w in writers] == [None] * 4
    chain = _chain()
    assert len(chain) == 4 * 5 * 3
    seqs = [seq for seq, _action, _id in chain]
    assert seqs == list(range(seqs[0], seqs[0] + len(chain)))
    # Each transaction's events sit together, in the order they were recorded.
    for start in range(0, len(chain), 3):
        group = chain[start:start + 3]
        assert len({action for _seq, action, _id in group}) == 1
        assert [object_id.split(".")[1] for _seq, _action, object_id in group] == ["0", "1", "2"]
    assert verify_chain().ok


def test_a_write_takes_the_rows_left_for_its_commit_before_the_chains_head(app, db_session):
    """A write's new versions of the kinds it changed are written in the statement that appends its
    event (core/atcommit.py), and their rows are taken before the chain's head: while another
    transaction holds such a row the write waits for it without holding the head, so every other
    writer can still append (taken the other way round, two writers could wait on each other)."""
    from svcproc.core import versions
    from svcproc.core.versions import DataVersion
    from svcproc.delivery.models import RedFlag

    holder = db.engine.connect()
    holder_tx = holder.begin()
    before = holder.execute(sa.select(DataVersion.value).where(DataVersion.name == "flags")
                            .with_for_update()).scalar_one()

    class Changer(Writer):
        def run(self):
            with self.app.app_context():
                try:
                    versions.rows_changed(db.session, RedFlag)
                    record("test.changer", object_type="test", object_id="1")
                    db.session.commit()
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    self.error = exc
                finally:
                    db.session.remove()

    changer = Changer(app, "changer", 1)
    changer.start()
    try:
        deadline = time.monotonic() + 20
        while _waiting_on_a_lock() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_a_lock() == 1, "the write should wait for the kind's row"
        other = db.engine.connect()
        try:
            with other.begin():
                # Not waiting: the waiting write does not hold the head.
                other.execute(sa.text("SELECT last_seq FROM audit_chain_head WHERE id = 1 FOR UPDATE NOWAIT")).one()
        finally:
            other.close()
    finally:
        holder_tx.rollback()
        holder.close()
        changer.join(20)

    assert changer.error is None
    db.session.rollback()
    assert db.session.execute(sa.select(DataVersion.value).where(DataVersion.name == "flags")).scalar_one() != before
    assert [action for _seq, action, _id in _chain()] == ["test.changer"]
    assert verify_chain().ok
