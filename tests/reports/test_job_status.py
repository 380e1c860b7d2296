"""The one job-status page (/jobs/<id>/status): whoever started a job follows it, a kind may let
others (report jobs: those who read reports; chain checks: those who read the audit trail), and
everyone else is refused. The box polls every second while the job runs and stops when it ends."""
from __future__ import annotations

import pytest

from svcproc.audit.verification import JOB_KIND as VERIFY_KIND
from svcproc.core import jobs
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.reports.services import JOB_KIND as REPORT_KIND
from tests.builders.accounts import user_for_role
from tests.helpers import login

OWN_ONLY = "test_own_only"


@jobs.job_function(OWN_ONLY)
def _own_only(job, progress) -> dict:
    return {}


ROLES = [Role.ADMIN, Role.PROCUREMENT, Role.EXPERT, Role.ORG_MANAGER, Role.SOCIAL_WORKER, Role.EVALUATOR,
         Role.AUDITOR]
# Besides the person who started it, who follows a job of each kind.
FOLLOWERS = {
    OWN_ONLY: set(),
    REPORT_KIND: {Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR},
    VERIFY_KIND: {Role.ADMIN, Role.AUDITOR},
}
PAYLOADS = {OWN_ONLY: {}, REPORT_KIND: {"kind": "portfolio", "subject_id": 2025, "locale": "zh_CN"},
            VERIFY_KIND: {"full": True}}


def _job(kind: str, owner, status=jobs.JobStatus.QUEUED) -> jobs.Job:
    job = jobs.create_job(kind, PAYLOADS[kind], owner)
    job.status = status  # set by hand: the runner's own moves are tested with it; here only the page
    db.session.flush()
    return job


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_the_person_who_started_a_job_follows_it(client, role):
    owner = user_for_role(role)
    job = _job(OWN_ONLY, owner)
    login(client, owner)

    page = client.get(f"/jobs/{job.id}/status")

    assert page.status_code == 200 and 'role="progressbar"' in page.text


@pytest.mark.parametrize("kind", list(FOLLOWERS))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_a_job_started_by_someone_else_is_followed_only_as_its_kind_allows(client, kind, role):
    job = _job(kind, user_for_role(role))  # someone else of the same role started it
    login(client, user_for_role(role))

    page = client.get(f"/jobs/{job.id}/status")

    assert page.status_code == (200 if role in FOLLOWERS[kind] else 403)
    assert ('role="progressbar"' in page.text) == (page.status_code == 200)


def test_anonymous_visitors_are_sent_to_log_in_and_unknown_jobs_are_missing(client):
    job = _job(OWN_ONLY, user_for_role(Role.ADMIN))

    assert client.get(f"/jobs/{job.id}/status").status_code == 302
    login(client, user_for_role(Role.ADMIN))
    assert client.get("/jobs/no-such-job/status").status_code == 404


def test_the_box_polls_while_the_job_runs_and_stops_when_it_ends(client):
    owner = user_for_role(Role.PROCUREMENT)
    job = _job(OWN_ONLY, owner, jobs.JobStatus.RUNNING)
    login(client, owner)
    jobs._local_progress[job.id] = (40, "")

    running = client.get(f"/jobs/{job.id}/status", headers={"HX-Request": "true"})
    job.status = jobs.JobStatus.DONE  # by hand, as in _job
    db.session.flush()
    done = client.get(f"/jobs/{job.id}/status?next=/audit/verify", headers={"HX-Request": "true"})
    away = client.get(f"/jobs/{job.id}/status?next=https://example.com/", headers={"HX-Request": "true"})

    assert "<html" not in running.text and 'aria-valuenow="40"' in running.text
    assert f'hx-get="/jobs/{job.id}/status"' in running.text and 'hx-trigger="load delay:1s"' in running.text
    assert "hx-get" not in done.text and done.headers["HX-Redirect"] == "/audit/verify"
    assert "HX-Redirect" not in away.headers  # only a page of this site
