"""Reports, spreadsheets and audit packages are made by background jobs: in a thread without Redis, on
RQ with it. The page polls a progress bar, then offers the download; a failed job says why and can be
tried again.

Jobs only see committed data, so this module builds the service-delivery world with real commits
(see tests/delivery/test_jobs.py) and deletes what each test added afterwards.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from svcproc.core import files, jobs
from svcproc.extensions import db
from svcproc.reports import render
from svcproc.reports.models import AuditPackage, GeneratedReport
from tests.delivery.conftest import (committed_built, committed_client, committed_session,  # noqa: F401
                                     committed_world, settle_and_wait)
from tests.helpers import REDIS_TEST_URL, audit_events, login
from tests.reports.conftest import pdf_text


@pytest.fixture
def db_session(committed_session):  # noqa: F811
    yield committed_session


@pytest.fixture
def client(committed_client):  # noqa: F811
    return committed_client


@pytest.fixture
def local_jobs(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def rq_jobs(app, monkeypatch):
    from redis import Redis

    try:
        redis = Redis.from_url(REDIS_TEST_URL)
        redis.flushdb()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {REDIS_TEST_URL} is not available: {exc}")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    yield redis
    redis.flushdb()


def _ask(client, world) -> str:
    response = client.post(f"/reports/assessment/{world.contract.id}")
    assert response.status_code == 303, response.text[:500]
    return response.headers["Location"]


def _job_id(location: str) -> str:
    return re.search(r"/jobs/([0-9a-f-]+)/status", location).group(1)


def _fresh(model, key):
    db.session.rollback()
    return db.session.get(model, key)


def test_a_report_is_generated_in_a_thread_then_offered_for_download(client, committed_world, local_jobs):
    world = committed_world
    login(client, world.users["auditor"])

    job_id = _job_id(_ask(client, world))
    settle_and_wait()

    job = _fresh(jobs.Job, job_id)
    assert (job.status, job.error) == (jobs.JobStatus.DONE, "")
    report = db.session.get(GeneratedReport, job.result["report_id"])
    assert report.job_id == job.id and report.generated_by_id == world.users["auditor"].id
    fragment = client.get(f"/jobs/{job_id}/status", headers={"HX-Request": "true"})
    assert f"/reports/{report.id}/download" in fragment.text and report.code in fragment.text
    download = client.get(f"/reports/{report.id}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    # No finalized evaluation: the report says so and shows no score.
    data = json.loads(render.read_attachment(download.data))
    assert data["evaluation"] == {"finalized": False, "rounds": []}
    assert "Final score" not in pdf_text(download.data) and world.contract.number in pdf_text(download.data)
    assert len(audit_events("report.requested", object_id=job_id)) == 1
    # Asked again with nothing changed: the job finds the stored copy.
    again = _job_id(_ask(client, world))
    settle_and_wait()
    assert _fresh(jobs.Job, again).result == {"report_id": report.id, "stored_before": True}
    # The code printed at the foot of a page proves the copy genuine, to anyone.
    printed = re.search(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", pdf_text(download.data)).group(0)
    client.post("/logout")
    verdict = client.get(f"/verify/{printed}")
    assert printed == report.code and 'class="flash flash-success"' in verdict.text
    assert world.contract.number in verdict.text


def test_the_page_polls_a_progress_bar_while_the_job_waits(client, committed_world, local_jobs, monkeypatch):
    login(client, committed_world.users["procurement"])
    monkeypatch.setattr(jobs, "dispatch", lambda job: None)  # queued, never started

    job_id = _job_id(_ask(client, committed_world))
    page = client.get(f"/jobs/{job_id}/status")

    assert 'role="progressbar"' in page.text and f'hx-get="/jobs/{job_id}/status"' in page.text
    jobs._local_progress[job_id] = (30, "")
    _fresh(jobs.Job, job_id).status = jobs.JobStatus.RUNNING
    db.session.commit()
    assert 'aria-valuenow="30"' in client.get(f"/jobs/{job_id}/status", headers={"HX-Request": "true"}).text


def test_a_failed_job_says_why_and_can_be_retried(client, committed_world, local_jobs, monkeypatch):
    world = committed_world
    login(client, world.users["procurement"])

    def broken(*args, **kwargs):
        raise RuntimeError("font missing")

    monkeypatch.setattr(render, "render_pdf", broken)
    job_id = _job_id(_ask(client, world))
    settle_and_wait()
    failed = _fresh(jobs.Job, job_id)
    assert failed.status == jobs.JobStatus.FAILED and failed.error == "RuntimeError: font missing"
    page = client.get(f"/jobs/{job_id}/status")
    assert "RuntimeError: font missing" in page.text and f"/reports/jobs/{job_id}/retry" in page.text
    monkeypatch.undo()
    monkeypatch.setitem(client.application.config, "REDIS_URL", None)

    retried = client.post(f"/reports/jobs/{job_id}/retry")
    settle_and_wait()

    again = _fresh(jobs.Job, _job_id(retried.headers["Location"]))
    assert again.id != job_id and again.status == jobs.JobStatus.DONE and again.payload == failed.payload
    assert _fresh(jobs.Job, job_id).status == jobs.JobStatus.FAILED  # kept as it was, for the record
    assert len(audit_events("report.retried", object_id=again.id)) == 1


def test_only_a_failed_report_job_can_be_retried(client, committed_world, local_jobs):
    login(client, committed_world.users["procurement"])
    job_id = _job_id(_ask(client, committed_world))
    settle_and_wait()

    assert client.post(f"/reports/jobs/{job_id}/retry").status_code == 409


def test_with_redis_the_report_job_goes_to_rq_and_a_worker_runs_it(client, committed_world, rq_jobs):
    from rq import Queue
    from rq.job import Job as RQJob

    login(client, committed_world.users["auditor"])
    job_id = _job_id(_ask(client, committed_world))
    assert Queue("svcproc", connection=rq_jobs).job_ids == [job_id]
    assert 'aria-valuenow="0"' in client.get(f"/jobs/{job_id}/status").text

    jobs.run_worker(burst=True)

    job = _fresh(jobs.Job, job_id)
    assert job.status == jobs.JobStatus.DONE
    assert RQJob.fetch(job_id, connection=rq_jobs).meta["progress"] == 100
    assert db.session.get(GeneratedReport, job.result["report_id"]).file.size > 10_000


def test_an_audit_package_is_built_in_a_thread_then_downloaded(client, committed_world, local_jobs):
    world = committed_world
    login(client, world.users["auditor"])

    response = client.post(f"/contracts/{world.contract.id}/audit-package")
    job_id = _job_id(response.headers["Location"])
    settle_and_wait()

    job = _fresh(jobs.Job, job_id)
    assert (job.status, job.error) == (jobs.JobStatus.DONE, "")
    package = db.session.get(AuditPackage, job.result["package_id"])
    assert package.job_id == job.id and package.report.job_id == job.id   # the first report: made for it
    download = client.get(f"/contracts/{world.contract.id}/audit-package.zip")
    assert download.status_code == 200 and download.data == files.read(package.file)
    assert zipfile.ZipFile(io.BytesIO(download.data)).read("report.pdf") == files.read(package.report.file)


def test_a_spreadsheet_is_made_in_a_thread(client, committed_world, local_jobs):
    world = committed_world
    login(client, world.users["procurement"])

    response = client.post(f"/reports/organization/{world.org.id}", data={"format": "xlsx"})
    settle_and_wait()

    job = _fresh(jobs.Job, _job_id(response.headers["Location"]))
    report = db.session.get(GeneratedReport, job.result["report_id"])
    assert (job.status, report.format.value, report.code) == (jobs.JobStatus.DONE, "xlsx", None)
    assert client.get(f"/reports/{report.id}/download").data == files.read(report.file)
