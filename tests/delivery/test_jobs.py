"""Large ledgers are checked and imported in the background: in a thread of the web process without
Redis, on RQ with it. Jobs report progress, end done or failed, and say why they failed.

Jobs run on their own database connection (a thread here, a worker elsewhere) and only see
committed data, as in production. The rolled-back test transaction would hide the world from them,
so this module commits for real (`committed_world`) and deletes what each test added afterwards.
The RQ tests run the real queue on Redis database 15 and work it with `run_worker(burst=True)`
inside this process, so the worker uses the test's app configuration.
"""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from svcproc.core import crypto, jobs
from svcproc.core.errors import DomainError
from svcproc.delivery import ledger
from svcproc.delivery.views import imports as delivery_views
from svcproc.delivery.models import ImportBatch, ImportStatus, ServiceActivity
from svcproc.extensions import db
from tests.builders.delivery import csv_bytes, ledger_row, settle_and_wait
from tests.helpers import REDIS_TEST_URL, audit_events, login, overwrite_stored


@pytest.fixture
def db_session(committed_session):
    """This module's tests commit (see the module docstring)."""
    yield committed_session


@pytest.fixture
def client(committed_client):
    return committed_client


@pytest.fixture
def background(monkeypatch):
    """Every upload counts as large: checked and imported by a job."""
    monkeypatch.setattr(delivery_views, "INLINE_IMPORT_BYTES", 100)


@pytest.fixture
def local_jobs(app, background, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def rq_jobs(app, background, monkeypatch):
    from redis import Redis

    try:
        redis = Redis.from_url(REDIS_TEST_URL)
        redis.flushdb()
    except Exception as exc:  # noqa: BLE001 - no Redis here: say so instead of failing obscurely
        pytest.skip(f"Redis at {REDIS_TEST_URL} is not available: {exc}")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    yield redis
    redis.flushdb()


def _rows(world, days=("2025-06-02", "2025-06-03", "2025-06-04")) -> list[list[str]]:
    n = world.number
    return [ledger_row(day=day, people=f"{n('elder')};{n('second')}") for day in days]


def _upload(client, world, data: bytes) -> ImportBatch:
    response = client.post(f"/contracts/{world.contract.id}/imports",
                           data={"file": (io.BytesIO(data), "大台账.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.text[:1000]
    return db.session.get(ImportBatch, int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1)))


def _fresh(model, key):
    db.session.rollback()  # forget what this session read before the job committed
    return db.session.get(model, key)


def _imported(world) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(ServiceActivity).where(
        ServiceActivity.contract_id == world.contract.id)).scalar_one()


# --- in a thread, without Redis ---------------------------------------------------------------


def test_a_large_file_is_checked_and_imported_in_a_thread(client, committed_world, local_jobs):
    world = committed_world
    login(client, world.manager)

    batch = _upload(client, world, csv_bytes(_rows(world)))
    settle_and_wait()

    batch = _fresh(ImportBatch, batch.id)
    check_job = db.session.get(jobs.Job, batch.job_id)
    assert (check_job.kind, check_job.status, check_job.error) == ("ledger_check", jobs.JobStatus.DONE, "")
    assert check_job.result == {"batch_id": batch.id, "errors": 0, "new": 3}
    assert jobs.progress_of(check_job) == (100, "")
    assert (batch.status, batch.rows_new, _imported(world)) == (ImportStatus.CHECKED, 3, 0)
    assert f"/imports/{batch.id}/confirm" in client.get(f"/imports/{batch.id}").text

    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303
    settle_and_wait()

    batch = _fresh(ImportBatch, batch.id)
    import_job = db.session.get(jobs.Job, batch.job_id)
    assert import_job.id != check_job.id and import_job.kind == "ledger_import"
    assert import_job.status == jobs.JobStatus.DONE and jobs.progress_of(import_job) == (100, "")
    assert jobs._local_progress[import_job.id][0] == 100
    assert (batch.status, _imported(world)) == (ImportStatus.IMPORTED, 3)
    page = client.get(f"/jobs/{import_job.id}", query_string={"next": f"/imports/{batch.id}"})
    assert page.status_code == 200 and 'class="flash flash-success"' in page.text


def test_the_page_shows_a_progress_bar_while_the_job_runs(client, committed_world, local_jobs, monkeypatch):
    world = committed_world
    login(client, world.manager)
    monkeypatch.setattr(jobs, "dispatch", lambda job: None)  # queued, never started

    batch = _upload(client, world, csv_bytes(_rows(world)))
    page = client.get(f"/imports/{batch.id}")

    assert 'role="progressbar"' in page.text and f"/jobs/{batch.job_id}" in page.text
    assert 'aria-valuenow="0"' in page.text
    jobs._local_progress[batch.job_id] = (40, "")
    _fresh(jobs.Job, batch.job_id).status = jobs.JobStatus.RUNNING
    db.session.commit()
    assert 'aria-valuenow="40"' in client.get(f"/jobs/{batch.job_id}", headers={"HX-Request": "true"}).text


def test_a_file_that_breaks_between_check_and_import_fails_the_job_with_the_reason(
        client, committed_world, local_jobs):
    world = committed_world
    login(client, world.manager)
    batch = _upload(client, world, csv_bytes(_rows(world)))
    settle_and_wait()
    batch = _fresh(ImportBatch, batch.id)
    assert batch.error_count == 0
    # The stored file changes under the batch: now one row names a worker not on the contract.
    broken = csv_bytes(_rows(world) + [ledger_row(day="2025-06-05", workers="王五")])
    overwrite_stored(batch.file, crypto.encrypt(ledger.FILE_PURPOSE, broken))

    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303
    settle_and_wait()

    batch = _fresh(ImportBatch, batch.id)
    job = db.session.get(jobs.Job, batch.job_id)
    assert job.status == jobs.JobStatus.FAILED and job.finished_at is not None
    assert job.error == _error_text(app_locale="zh_CN")
    assert batch.status == ImportStatus.CHECKED  # back to where it was; can be fixed and sent again
    steps = [(e.action, e.changes["status"]) for e in audit_events(object_type="import", object_id=str(batch.id))
             if e.action != "import.checked"]
    assert steps == [("import.started", ["checked", "importing"]), ("import.failed", ["importing", "checked"])]
    assert audit_events("import.failed", object_id=str(batch.id))[0].changes["reason"] == [None, job.error]
    assert _imported(world) == 0
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200 and job.error in page.text
    assert job.error in client.get(f"/imports/{batch.id}").text


def _error_text(app_locale: str) -> str:
    from flask_babel import force_locale

    with force_locale(app_locale):
        return ledger.ngettext_errors(1)


def test_a_job_function_that_raises_ends_failed_saying_why(client, committed_world, local_jobs, monkeypatch):
    world = committed_world

    def explodes(job, progress):
        progress(30)
        raise RuntimeError("ledger service unavailable")

    monkeypatch.setitem(jobs._FUNCTIONS, "test_explodes", explodes)
    job = jobs.create_job("test_explodes", {}, world.manager)
    db.session.commit()

    jobs.dispatch(job)
    settle_and_wait()

    job = _fresh(jobs.Job, job.id)
    assert job.status == jobs.JobStatus.FAILED
    assert job.error == "RuntimeError: ledger service unavailable"
    assert jobs.progress_of(job) == (30, "")
    login(client, world.manager)
    assert "RuntimeError: ledger service unavailable" in client.get(f"/jobs/{job.id}").text


def test_a_refused_rule_in_a_job_shows_its_message_alone(committed_world, local_jobs, monkeypatch):
    def refuses(job, progress):
        raise DomainError("合同已终止，不能导入。")

    monkeypatch.setitem(jobs._FUNCTIONS, "test_refuses", refuses)
    job = jobs.create_job("test_refuses", {}, committed_world.manager)
    db.session.commit()

    jobs.dispatch(job)
    settle_and_wait()

    assert _fresh(jobs.Job, job.id).error == "合同已终止，不能导入。"


@pytest.mark.parametrize("who, status", [("manager", 200), ("procurement", 200), ("auditor", 200),
                                         ("worker", 403), ("other_manager", 403)])
def test_a_jobs_page_is_for_who_started_it_and_the_bureau(client, committed_world, local_jobs, who, status):
    job = jobs.create_job("ledger_check", {"batch_id": 0}, committed_world.manager)
    db.session.commit()
    login(client, committed_world.users[who])

    assert client.get(f"/jobs/{job.id}").status_code == status


# --- on RQ, with Redis ------------------------------------------------------------------------


def test_with_redis_the_jobs_go_to_rq_and_a_worker_runs_them(app, client, committed_world, rq_jobs):
    from rq import Queue
    from rq.job import Job as RQJob

    world = committed_world
    login(client, world.manager)

    batch = _upload(client, world, csv_bytes(_rows(world)))

    queue = Queue("svcproc", connection=rq_jobs)
    assert queue.job_ids == [batch.job_id]
    assert _fresh(jobs.Job, batch.job_id).status == jobs.JobStatus.QUEUED
    assert 'aria-valuenow="0"' in client.get(f"/jobs/{batch.job_id}").text

    jobs.run_worker(burst=True)

    batch = _fresh(ImportBatch, batch.id)
    check_job = db.session.get(jobs.Job, batch.job_id)
    assert check_job.status == jobs.JobStatus.DONE and batch.rows_new == 3
    assert RQJob.fetch(check_job.id, connection=rq_jobs).meta["progress"] == 100
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303
    assert queue.job_ids == [_fresh(ImportBatch, batch.id).job_id]

    jobs.run_worker(burst=True)

    batch = _fresh(ImportBatch, batch.id)
    assert db.session.get(jobs.Job, batch.job_id).status == jobs.JobStatus.DONE
    assert (batch.status, _imported(world)) == (ImportStatus.IMPORTED, 3)
    assert queue.job_ids == []


def test_with_redis_progress_is_read_from_the_rq_job(client, committed_world, rq_jobs, monkeypatch):
    from rq.job import Job as RQJob

    world = committed_world
    login(client, world.manager)
    batch = _upload(client, world, csv_bytes(_rows(world)))
    # As a worker would while it runs: the row says running, the progress lives in the RQ job's meta.
    job = _fresh(jobs.Job, batch.job_id)
    job.status = jobs.JobStatus.RUNNING
    db.session.commit()
    rq_job = RQJob.fetch(job.id, connection=rq_jobs)
    rq_job.meta["progress"] = 37
    rq_job.save_meta()

    page = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})

    assert 'aria-valuenow="37"' in page.text
    assert jobs.progress_of(_fresh(jobs.Job, job.id)) == (37, "")


def test_with_redis_a_failing_job_ends_failed_and_the_worker_goes_on(committed_world, rq_jobs, monkeypatch):
    def explodes(job, progress):
        progress(55)
        raise ValueError("cannot parse row 7")

    monkeypatch.setitem(jobs._FUNCTIONS, "test_explodes", explodes)
    monkeypatch.setitem(jobs._FUNCTIONS, "test_fine", lambda job, progress: {"ok": True})
    failing = jobs.create_job("test_explodes", {}, committed_world.manager)
    fine = jobs.create_job("test_fine", {}, committed_world.manager)
    db.session.commit()
    jobs.dispatch(failing)
    jobs.dispatch(fine)

    jobs.run_worker(burst=True)

    failing, fine = _fresh(jobs.Job, failing.id), db.session.get(jobs.Job, fine.id)
    assert (failing.status, failing.error) == (jobs.JobStatus.FAILED, "ValueError: cannot parse row 7")
    assert jobs.progress_of(failing) == (55, "")
    assert (fine.status, fine.result) == (jobs.JobStatus.DONE, {"ok": True})


def test_with_redis_the_workers_listener_looks_for_commands_every_second(app, rq_jobs):
    """A worker stops only when its listener for commands has: RQ's listener waits a minute between
    looks, so a worker whose listener had not subscribed yet as it stopped took that minute."""
    worker = jobs.worker()
    worker.subscribe()
    try:
        assert worker.pubsub_thread.is_alive()
        assert worker.pubsub_thread.sleep_time == jobs.COMMAND_WAIT_SECONDS <= 1
    finally:
        worker.unsubscribe()
    assert not worker.pubsub_thread.is_alive()
