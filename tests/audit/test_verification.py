"""Verifying the chain at scale: checkpoints to resume from, what a check of new events finds and what
only a check of the whole chain finds, the page that answers at once and the job it starts."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import gettext

from svcproc.audit.models import AuditCheckpoint, AuditEvent
from svcproc.audit.services import record
from svcproc.audit.verification import JOB_KIND, REASONS, resume_point, verify_chain
from svcproc.core import jobs
from svcproc.core.formatting import local_datetime
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import UserFactory
from tests.helpers import audit_events, count, in_page, login


def _events(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        record("test.event", object_type="area", object_id=i, changes={"name": [None, f"区域{i}"]})
    db.session.commit()


def _sql(statement: str, **params) -> None:
    db.session.execute(sa.text(statement), params)
    db.session.commit()
    db.session.expire_all()


def _checkpoints() -> list[tuple]:
    return [(c.seq, c.complete, c.ok, c.full, c.from_seq, c.checked) for c in db.session.execute(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()]


# --- checkpoints ----------------------------------------------------------------------------------


def test_a_full_check_leaves_checkpoints_as_it_goes_and_at_the_end():
    _events(5)
    seen = []

    report = verify_chain(every=2, progress=lambda percent, message="": seen.append(percent), batch=1)

    assert (report.ok, report.checked, report.last_seq, report.full) == (True, 5, 5, True)
    assert _checkpoints() == [(2, False, True, True, 0, 2), (4, False, True, True, 0, 4), (5, True, True, True, 0, 5)]
    last = db.session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())).scalars().first()
    assert last.hash == audit_events()[-1].hash
    assert seen == [20, 40, 60, 80, 100]


def test_a_check_of_new_events_starts_at_the_latest_checkpoint():
    _events(5)
    verify_chain()
    _events(3, start=5)

    report = verify_chain(resume=True)

    assert (report.ok, report.full, report.from_seq, report.checked, report.last_seq) == (True, False, 5, 3, 8)


def test_a_check_of_new_events_with_none_finds_the_chain_intact():
    _events(4)
    verify_chain()

    report = verify_chain(resume=True)

    assert (report.ok, report.checked, report.from_seq) == (True, 0, 4)


def test_without_a_checkpoint_a_check_of_new_events_checks_everything():
    _events(3)

    report = verify_chain(resume=True)

    assert (report.ok, report.full, report.checked) == (True, True, 3)


def test_an_event_altered_before_the_checkpoint_is_found_only_by_a_full_check():
    _events(6)
    verify_chain()
    _events(2, start=6)
    _sql("UPDATE audit_event SET changes = :c WHERE seq = 2", c='{"name": [null, "伪造"]}')

    resumed = verify_chain(resume=True)
    full = verify_chain()

    assert (resumed.ok, resumed.checked) == (True, 2)
    assert (full.ok, full.full, full.bad_seq, full.reason, full.checked) == (False, True, 2, "content", 1)


@pytest.mark.parametrize("tamper, bad_seq, reason", [
    pytest.param(["UPDATE audit_event SET actor_name = 'x' WHERE seq = 7"], 7, "content", id="altered"),
    pytest.param(["DELETE FROM audit_event WHERE seq = 7"], 8, "sequence", id="deleted"),
    pytest.param(["UPDATE audit_event SET seq = -1 WHERE seq = 7", "UPDATE audit_event SET seq = 7 WHERE seq = 8",
                  "UPDATE audit_event SET seq = 8 WHERE seq = -1"], 7, "link", id="reordered"),
])
def test_a_check_of_new_events_finds_what_happened_after_the_checkpoint(tamper, bad_seq, reason):
    _events(5)
    verify_chain()
    _events(4, start=5)
    for statement in tamper:
        _sql(statement)

    report = verify_chain(resume=True)

    assert (report.ok, report.bad_seq, report.reason, report.from_seq) == (False, bad_seq, reason, 5)


def test_a_changed_checkpoint_event_is_reported_not_trusted():
    _events(5)
    verify_chain()
    _sql("UPDATE audit_event SET action = 'test.forged' WHERE seq = 5")

    report = verify_chain(resume=True)

    assert (report.ok, report.bad_seq, report.reason) == (False, 5, "checkpoint")


def test_after_a_break_a_check_of_new_events_finds_it_again():
    _events(6)
    verify_chain(every=2)  # checkpoints at 2, 4 and 6
    _sql("UPDATE audit_event SET actor_name = 'x' WHERE seq = 5")
    assert verify_chain().bad_seq == 5

    assert resume_point().seq == 4
    again = verify_chain(resume=True)

    assert (again.ok, again.bad_seq, again.from_seq) == (False, 5, 4)


def test_a_removed_tail_and_an_unchained_event_are_found_from_a_checkpoint():
    _events(5)
    verify_chain()
    _events(2, start=5)
    last = audit_events()[-1]
    forged = AuditEvent(seq=8, occurred_at=last.occurred_at, actor_id=None, actor_name="intruder", action="x",
                        object_type="", object_id="", changes={}, client_ip="", prev_hash=last.hash, hash="0" * 64)
    db.session.add(forged)
    db.session.commit()

    beyond = verify_chain(resume=True)
    _sql("DELETE FROM audit_event WHERE seq >= 7")
    tail = verify_chain(resume=True)

    assert (beyond.ok, beyond.bad_seq, beyond.reason) == (False, 8, "beyond_head")
    assert (tail.ok, tail.bad_seq, tail.reason) == (False, 7, "tail")


def test_every_reason_has_a_message():
    assert all(str(message) for message in REASONS.values())


# --- the command line -----------------------------------------------------------------------------


def test_the_command_checks_the_whole_chain_or_resumes(cli):
    _events(4)
    cli("audit", "verify")
    _events(2, start=4)
    _sql("UPDATE audit_event SET object_id = '99' WHERE seq = 1")

    resumed = cli("audit", "verify", "--resume")
    full = cli("audit", "verify")

    assert resumed.exit_code == 0 and "from checkpoint #4: 2 events checked" in resumed.output
    assert full.exit_code == 1 and "event #1" in full.output and "it was altered" in full.output


# --- the page -------------------------------------------------------------------------------------


@pytest.fixture
def auditor(client):
    user = UserFactory(role=Role.AUDITOR)
    login(client, user)
    return user


@pytest.fixture
def queued(monkeypatch):
    """The ids of the jobs handed to the runner, kept here instead of started."""
    started = []
    monkeypatch.setattr(jobs, "dispatch", lambda job: started.append(getattr(job, "id", job)))
    return started


def _when(checkpoint) -> str:
    return local_datetime(checkpoint.checked_at, "%Y-%m-%d %H:%M:%S")


def _run(job_id: str) -> None:
    jobs.execute(job_id, jobs.Progress(job_id))


def test_the_page_answers_at_once_whatever_the_chains_length(client, auditor, count_queries):
    _events(3)
    client.get("/audit/verify")  # the menu's badge is counted once, then kept as in both below
    with count_queries() as few:
        short = client.get("/audit/verify")
    _events(200, start=3)

    with count_queries() as many:
        long = client.get("/audit/verify")

    assert short.status_code == long.status_code == 200
    assert many.count == few.count <= 8, "\n".join(many.statements)
    assert not any("audit_event" in s for s in many.statements), "the page must not read the chain's events"
    assert count(AuditCheckpoint) == 0
    assert in_page(lambda: gettext("The chain has not been verified yet.")) in long.text


def test_a_button_starts_a_check_as_a_job_and_the_page_shows_its_result(client, auditor, queued):
    _events(3)

    response = client.post("/audit/verify", data={"scope": "full"})

    assert response.status_code == 303 and response.headers["Location"] == "/audit/verify"
    job = db.session.get(jobs.Job, queued[0])
    assert len(queued) == 1
    assert (job.kind, job.payload, job.created_by_id) == (JOB_KIND, {"full": True}, auditor.id)
    [event] = audit_events("audit.verification_started")
    assert (event.object_type, event.object_id, event.changes) == ("job", job.id, {"full": [None, True]})
    polling = client.get("/audit/verify", headers={"HX-Request": "true"})
    assert 'role="progressbar"' in polling.text and 'hx-trigger="load delay:1s"' in polling.text
    assert f'hx-get="/jobs/{job.id}?next=/audit/verify"' in polling.text  # the one job-status page
    assert "<html" not in polling.text and 'name="scope"' not in polling.text

    _run(job.id)
    done = client.get("/audit/verify", headers={"HX-Request": "true"})

    assert db.session.get(jobs.Job, job.id).status == jobs.JobStatus.DONE
    assert "flash-success" in done.text and 'role="progressbar"' not in done.text
    # The login, three events, the request for the check and the job's start.
    assert in_page(lambda: gettext(
        "The check of the whole chain at %(when)s found it intact: %(n)d events, up to event #%(seq)s.",
        when=_when(resume_point()), n=6, seq=6)) in done.text
    assert [e.action for e in audit_events("job.started")] == ["job.started"]
    assert [e.changes for e in audit_events("job.finished", object_id=job.id)] == [{"status": ["running", "done"]}]
    assert 'value="new"' in done.text and 'value="full"' in done.text


def test_a_check_of_new_events_is_the_default_button(client, auditor, queued):
    _events(2)
    verify_chain()

    client.post("/audit/verify", data={"scope": "new"})

    job = db.session.get(jobs.Job, queued[0])
    assert job.payload == {"full": False}
    _run(job.id)
    latest = resume_point()
    assert (latest.full, latest.ok, latest.complete) == (False, True, True)


def test_while_a_check_is_under_way_no_second_one_starts(client, auditor, queued):
    client.post("/audit/verify", data={"scope": "full"})
    events = len(audit_events())

    response = client.post("/audit/verify", data={"scope": "new"})

    assert response.status_code == 303
    assert len(queued) == 1 and count(jobs.Job) == 1 and len(audit_events()) == events


def test_the_page_says_which_check_found_what(client, auditor, queued):
    _events(4)
    verify_chain()
    _events(2, start=4)
    _sql("UPDATE audit_event SET actor_name = 'x' WHERE seq = 3")
    verify_chain(resume=True)

    intact_new = client.get("/audit/verify").text
    verify_chain()
    broken = client.get("/audit/verify").text

    latest = db.session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())).scalars().first()
    assert "flash-success" in intact_new and "flash-error" not in intact_new
    assert in_page(lambda: gettext(
        "The check of the whole chain at %(when)s found the chain broken at event #%(bad)s: %(reason)s. "
        "The %(n)d events before it are intact.", when=_when(latest), bad=3, reason=str(REASONS["content"]),
        n=2)) in broken


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.EXPERT, Role.ORG_MANAGER, Role.EVALUATOR])
def test_others_neither_see_nor_start_a_check(client, role, queued):
    login(client, UserFactory(role=role))
    events = len(audit_events())

    assert client.get("/audit/verify").status_code == 403
    assert client.post("/audit/verify", data={"scope": "full"}).status_code == 403
    assert queued == [] and count(jobs.Job) == 0 and len(audit_events()) == events
