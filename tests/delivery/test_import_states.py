"""A ledger import's states, declared once (delivery/workflow.py IMPORT): every step goes through the
transition table, is recorded in the audit trail, and a step the state does not allow changes nothing."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from svcproc.core import jobs
from svcproc.core.errors import DomainError
from svcproc.delivery import ledger
from svcproc.delivery import permissions as perms
from svcproc.delivery import workflow
from svcproc.delivery.models import ImportBatch, ImportStatus
from svcproc.delivery.views import imports as import_views
from svcproc.extensions import db
from tests.delivery.conftest import csv_bytes, ledger_row, unchanged, upload
from tests.helpers import events_after, in_page, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(autouse=True)
def _english():
    """Refusals raised outside a request come out in English, so the tests can match their words."""
    with force_locale("en"):
        yield

S = ImportStatus
# verb: (the states it starts from, where it leads, its audit event)
TABLE = {
    "check": ({S.CHECKED}, S.CHECKED, "import.checked"),
    "start": ({S.CHECKED}, S.IMPORTING, "import.started"),
    "complete": ({S.CHECKED, S.IMPORTING}, S.IMPORTED, "import.completed"),
    "fail": ({S.IMPORTING}, S.CHECKED, "import.failed"),
}


def _rows(world):
    n = world.number
    return [ledger_row(day=day, people=f"{n('elder')};{n('second')}") for day in ("2025-06-02", "2025-06-03")]


def _checked(world) -> ImportBatch:
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes(_rows(world))))
    ledger.run_check(world.manager, batch)
    return batch


def _in(world, status: ImportStatus) -> ImportBatch:
    batch = _checked(world)
    if status == S.IMPORTING:
        workflow.start_import(world.manager, batch, "job-1")
    elif status == S.IMPORTED:
        ledger.run_import(world.manager, batch)
    elif status == S.FAILED:  # no step leads here; a batch left so by an earlier version of the software
        db.session.execute(db.update(ImportBatch).where(ImportBatch.id == batch.id).values(status=status))
        db.session.expire(batch, ["status"])
    return batch


def test_the_table_is_the_declared_one():
    assert {verb: (set(t.sources), t.target, t.event) for verb, t in workflow.IMPORT.transitions.items()} == TABLE


@pytest.mark.parametrize("verb, status", [pytest.param(v, s, id=f"{v}-from-{s.value}") for v in TABLE for s in S])
def test_each_step_from_exactly_its_states(world, clock, verb, status):
    sources, target, event = TABLE[verb]
    batch = _in(world, status)
    if status in sources:
        seq = last_seq()

        workflow.IMPORT.move(world.manager, batch, verb)

        assert (batch.status, batch.status_changed_at) == (target, clock.now)
        events = events_after(seq)
        assert [e.action for e in events] == [event]
        assert events[0].object_id == str(batch.id) and events[0].actor_id == world.manager.id
        assert events[0].changes["status"] == [status.value, target.value]
    else:
        with unchanged(batch), pytest.raises(DomainError, match="Not possible while the import is"):
            workflow.IMPORT.move(world.manager, batch, verb)


def test_the_dry_run_and_the_import_are_recorded_through_the_table(world):
    seq = last_seq()

    batch = _checked(world)
    ledger.run_import(world.manager, batch)

    events = events_after(seq)
    assert [e.action for e in events] == ["import.checked", "import.completed"]
    assert events[0].changes["status"] == ["checked", "checked"] and events[0].changes["new"] == [None, 2]
    assert events[1].changes["status"] == ["checked", "imported"] and events[1].changes["created"] == [None, 2]


def test_importing_an_imported_file_again_is_refused_and_changes_nothing(world):
    batch = _in(world, S.IMPORTED)

    with unchanged(batch), pytest.raises(DomainError, match="Not possible while the import is"):
        ledger.run_import(world.manager, batch)


def test_handing_a_confirmed_file_to_a_job_is_audited(client, login_as, world, monkeypatch):
    """The step the confirmation page once made without an audit event: now `import.started`."""
    monkeypatch.setattr(import_views, "INLINE_IMPORT_BYTES", 10)
    monkeypatch.setattr(jobs, "dispatch", lambda job: None)  # queued, never started
    batch = _checked(world)
    login_as("manager")
    seq = last_seq()

    response = client.post(f"/imports/{batch.id}/confirm")

    assert response.status_code == 303
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == S.IMPORTING and batch.job_id
    [event] = events_after(seq)
    assert (event.action, event.object_id, event.actor_id) == ("import.started", str(batch.id), world.manager.id)
    assert event.changes["status"] == ["checked", "importing"] and event.changes["job_id"] == [None, batch.job_id]


def test_a_failed_import_job_goes_back_to_checked_with_an_audit_event(world):
    """The other step that once went unaudited: the job's failure puts the batch back to checked."""
    batch = _in(world, S.IMPORTING)
    seq = last_seq()

    workflow.fail_import(world.manager, batch, "第 3 行：社工不在本合同。")

    assert batch.status == S.CHECKED
    [event] = events_after(seq)
    assert event.action == "import.failed"
    assert event.changes["status"] == ["importing", "checked"]
    assert event.changes["reason"] == [None, "第 3 行：社工不在本合同。"]


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.value)
def test_the_confirm_button_shows_exactly_when_the_table_allows_it(client, login_as, world, status):
    batch = _in(world, status)
    login_as("manager")

    page = client.get(f"/imports/{batch.id}").text

    allowed = workflow.IMPORT.allows("start", batch)
    assert perms.can_confirm_import(world.manager, batch) == allowed
    assert (f"/imports/{batch.id}/confirm" in page) == allowed


@pytest.mark.parametrize("status", [S.IMPORTING, S.IMPORTED], ids=lambda s: s.value)
def test_confirming_a_file_not_waiting_for_it_is_refused_and_changes_nothing(client, login_as, world, status):
    batch = _in(world, status)
    login_as("manager")

    with unchanged(batch):
        response = client.post(f"/imports/{batch.id}/confirm",
                               headers={"Referer": f"http://localhost/imports/{batch.id}"})

    assert response.status_code == 422
    assert in_page(lambda: _("Only a checked file without errors can be imported.")) in response.text
