"""Background jobs: RQ on Redis when REDIS_URL is set (`svcproc worker` runs them), otherwise a
thread in this process. Jobs report progress and, when they fail, the reason.

A job function is registered with @job_function("kind") in its domain's tasks.py and called as
fn(job, progress) inside an app context; it commits its own work. The registration also says who may
follow the job (`can_view(user, job)`; by default the person who started it) and how its status box
shows it (`template`, `context(job)`), for the one job-status page (core/job_views.py). Progress
lives outside the job's transaction (RQ job meta on Redis, a dict in this process otherwise), so a
page can show it while the work is uncommitted.
"""
from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import traceback
import uuid
from datetime import datetime, timedelta
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock, workflow
from .errors import DomainError
from .types import UTCDateTime, enum_column

log = logging.getLogger(__name__)


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    __tablename__ = "job"
    audit_type = "job"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED)
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The process that runs the job ("host:pid"): the one that queued it when jobs run in threads of
    # the web process, the worker that took it on RQ. A job whose process has died is failed at the
    # next start-up (recover_orphans).
    runner: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")


# A job's status changes through the one door too, so the trail shows when each job ran and how it
# ended. (A job found running again was interrupted with its worker and starts over.)
JOB = workflow.register(workflow.StateMachine("job", {
    "start": workflow.Transition({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.RUNNING, "job.started"),
    "finish": workflow.Transition({JobStatus.RUNNING}, JobStatus.DONE, "job.finished"),
    "fail": workflow.Transition({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.FAILED, "job.failed"),
}, labels=dict, refusal=_l("Not possible while the job is %(status)s."), timestamp=None, reason=None))

JobFunction = Callable[["Job", "Progress"], dict]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its function, who may follow it, and what its status box shows."""

    kind: str
    run: JobFunction
    can_view: Callable[[Any, "Job"], bool] | None = None   # None: only the person who started it
    template: str | None = None                            # the status box's content (jobs/_outcome.html)
    context: Callable[["Job"], dict] | None = None         # what that template reads besides the job
    # What the kind's domain puts right when a job of it is found orphaned (its process died), after
    # the job has been marked failed; in the same transaction.
    on_orphaned: Callable[["Job"], None] | None = None


_FUNCTIONS: dict[str, JobFunction] = {}
KINDS: dict[str, JobKind] = {}
_local_progress: dict[str, tuple[int, str]] = {}
_threads: list[threading.Thread] = []


def job_function(kind: str, *, can_view: Callable[[Any, "Job"], bool] | None = None, template: str | None = None,
                 context: Callable[["Job"], dict] | None = None, on_orphaned: Callable[["Job"], None] | None = None):
    def register(fn: JobFunction) -> JobFunction:
        _FUNCTIONS[kind] = fn
        KINDS[kind] = JobKind(kind, fn, can_view, template, context, on_orphaned)
        return fn
    return register


def can_view_job(user, job: "Job") -> bool:
    """The person who started a job follows it; a kind may let others (its registered predicate)."""
    kind = KINDS.get(job.kind)
    if kind is not None and kind.can_view is not None and kind.can_view(user, job):
        return True
    return job.created_by_id is not None and job.created_by_id == getattr(user, "id", None)


class Progress:
    """Reports how far a job has got, visible to other requests at once."""

    def __init__(self, job_id: str, rq_job=None):
        self.job_id = job_id
        self.rq_job = rq_job
        self.last = -1

    def __call__(self, percent: float, message: str = "") -> None:
        value = max(0, min(100, int(percent)))
        if value == self.last and not message:
            return
        self.last = value
        if self.rq_job is not None:
            self.rq_job.meta["progress"] = value
            self.rq_job.meta["message"] = message
            self.rq_job.save_meta()
        else:
            _local_progress[self.job_id] = (value, message)


def _redis():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def _queue():
    from rq import Queue

    return Queue("svcproc", connection=_redis(), default_timeout=int(_timeout().total_seconds()))


def _timeout() -> timedelta:
    """How long a job may run on a worker (RQ stops it then); see recover_orphans."""
    return timedelta(minutes=int(current_app.config.get("JOB_TIMEOUT_MINUTES", 60)))


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def create_job(kind: str, payload: dict, actor=None) -> Job:
    """A queued job row (flushed). Views use `start`, which hands it to the runner after the commit."""
    if kind not in _FUNCTIONS:
        raise ValueError(f"unknown job kind {kind}")
    # Without Redis the job runs in a thread of this process, which is then its runner from the start.
    job = Job(id=str(uuid.uuid4()), kind=kind, status=JobStatus.QUEUED, payload=payload,
              created_by_id=getattr(actor, "id", None), created_at=clock.now(),
              runner="" if current_app.config.get("REDIS_URL") else this_process())
    db.session.add(job)
    db.session.flush()
    return job


def start(kind: str, payload: dict, actor=None) -> Job:
    """A job row now, handed to the runner once the request's transaction commits (core/flow.py)."""
    from .flow import after_commit

    job = create_job(kind, payload, actor)
    job_id = job.id  # read now: after the commit the row is expired
    after_commit(lambda: dispatch(job_id))
    return job


def dispatch(job: Job | str) -> None:
    """Hand a committed job to the runner: RQ when Redis is configured, else a thread here."""
    job_id = job if isinstance(job, str) else job.id
    if current_app.config.get("REDIS_URL"):
        _queue().enqueue("svcproc.core.jobs.execute_in_worker", job_id, job_id=job_id)
        return
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run_in_thread, args=(app, job_id), name=f"job-{job_id}", daemon=True)
    _threads.append(thread)
    thread.start()


def wait_for_local_jobs(timeout: float = 60) -> None:
    """Block until the in-process jobs started so far have finished (tests, CLI)."""
    for thread in list(_threads):
        thread.join(timeout)
        if not thread.is_alive():
            _threads.remove(thread)


def _run_in_thread(app, job_id: str) -> None:
    with app.app_context():
        try:
            execute(job_id, Progress(job_id))
        finally:
            db.session.remove()


def execute_in_worker(job_id: str) -> None:
    """Entry point for an RQ worker process."""
    from flask import has_app_context
    from rq import get_current_job

    if has_app_context():  # a worker started inside the app (`svcproc worker`, tests)
        execute(job_id, Progress(job_id, get_current_job()))
        return
    from .. import create_app

    with create_app().app_context():
        try:
            execute(job_id, Progress(job_id, get_current_job()))
        finally:
            db.session.remove()


def execute(job_id: str, progress: Progress) -> None:
    job = db.session.get(Job, job_id)
    if job is None or not JOB.allows("start", job):
        return
    job.started_at = clock.now()
    job.runner = this_process()
    JOB.move(None, job, "start", kind=job.kind)
    db.session.commit()
    progress(0)
    try:
        result = _FUNCTIONS[job.kind](job, progress) or {}
    except DomainError as exc:
        db.session.rollback()
        _finish(job_id, JobStatus.FAILED, error=exc.message)
    except Exception as exc:  # the job failed; say why and keep the worker alive
        db.session.rollback()
        log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
        _finish(job_id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(job_id, JobStatus.DONE, result=result)
        progress(100)


def _finish(job_id: str, status: JobStatus, result: dict | None = None, error: str = "") -> None:
    job = db.session.get(Job, job_id)
    job.finished_at = clock.now()
    job.result = result or {}
    job.error = error
    if status == JobStatus.DONE:
        JOB.move(None, job, "finish")
    else:
        JOB.move(None, job, "fail", error=error)
    db.session.commit()


# --- jobs left behind by a process that died --------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return False
    return True


def is_orphaned(job: Job, now: datetime, host: str | None = None) -> bool:
    """Whether no process will ever finish this queued or running job.

    A job of a process on this host is orphaned when that process is gone (in-process jobs die with
    their web process; a worker's with the worker). A job of another host, or a job no worker has
    taken, is orphaned once it has been running or waiting longer than a job may run (RQ stops a job
    at JOB_TIMEOUT_MINUTES; a margin is added). Liveness is read from the process table rather than
    from a heartbeat the job writes: on SQLite a job's own transaction holds the database's write
    lock, so a heartbeat from another connection would wait for the job it reports on.
    """
    host = host or socket.gethostname()
    runner_host, _sep, pid = (job.runner or "").rpartition(":")
    if runner_host == host and pid.isdigit():
        return int(pid) != os.getpid() and not _alive(int(pid))
    since = job.started_at or job.created_at
    return since is not None and since < now - _timeout() - timedelta(minutes=5)


def recover_orphans() -> list[str]:
    """Mark failed every job no process will finish, and let its domain put right what it left (an
    import batch goes back to be confirmed again). Run when a web process or worker starts; commits.
    Returns the ids of the jobs failed."""
    now = clock.now()
    host = socket.gethostname()
    waiting = db.session.execute(sa.select(Job).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                                 ).scalars().all()
    failed = []
    for job in waiting:
        if not is_orphaned(job, now, host):
            continue
        with force_locale(job.payload.get("locale") or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
            job.error = _("The process running this job stopped before it finished; nothing of it was kept. "
                          "Start it again.")
        job.finished_at = now
        JOB.move(None, job, "fail", error=job.error, orphaned_from=job.runner or None)
        kind = KINDS.get(job.kind)
        if kind is not None and kind.on_orphaned is not None:
            kind.on_orphaned(job)
        failed.append(job.id)
    db.session.commit()
    if failed:
        log.warning("marked %d orphaned job(s) failed: %s", len(failed), ", ".join(failed))
    return failed


def recover_orphans_at_start(app) -> None:
    """recover_orphans for a starting process, which a database not yet upgraded does not stop."""
    with app.app_context():
        try:
            recover_orphans()
        except sa.exc.SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("jobs left by stopped processes were not checked: %s", exc)


def progress_of(job: Job) -> tuple[int, str]:
    if job.status == JobStatus.DONE:
        return 100, ""
    if job.status == JobStatus.QUEUED:
        return 0, ""
    if current_app.config.get("REDIS_URL"):
        try:
            from rq.job import Job as RQJob

            rq_job = RQJob.fetch(job.id, connection=_redis())
            return int(rq_job.meta.get("progress", 0)), rq_job.meta.get("message", "")
        except Exception:  # the RQ record expired or Redis is away: show what the row says
            return 0, ""
    return _local_progress.get(job.id, (0, ""))


# How long the worker's listener for commands (RQ's pubsub thread: shut down, stop a job) waits
# for one before it looks again, in seconds. RQ's own listener waits a minute, and a worker that
# stops waits for its listener: when the listener had not subscribed yet as the worker stopped (a
# burst with nothing to do on a busy machine), the worker's exit took the whole minute.
COMMAND_WAIT_SECONDS = 1.0


def worker():
    """RQ's worker without a fork (every job runs with this app's configuration), listening for
    commands with `COMMAND_WAIT_SECONDS` between looks."""
    from rq import SimpleWorker

    class Worker(SimpleWorker):
        def subscribe(self):
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(
                sleep_time=COMMAND_WAIT_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler)

    return Worker([_queue()], connection=_redis())


def run_worker(burst: bool = False) -> None:
    """Work the queue inside this app."""
    worker().work(burst=burst)
