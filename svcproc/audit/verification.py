"""Verifying the audit chain: a walk in sequence order that leaves checkpoints to resume from, run as a
job (audit/tasks.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..core import clock, jobs
from ..core.permissions import require
from ..extensions import db
from .models import AuditChainHead, AuditCheckpoint, AuditEvent
from .permissions import can_view_audit
from .services import GENESIS, HASHED_FIELDS, hash_of, record

JOB_KIND = "audit_verify"
CHECKPOINT_EVERY = 50_000  # events between checkpoints: what an interrupted run loses at most
BATCH = 5_000              # rows fetched from the server at a time
# A job still queued or running after this long is taken to have died with its process.
JOB_STALE_AFTER = timedelta(hours=1)

# Why an event breaks the chain; `last` is the last intact event before it.
REASONS = {
    "sequence": _l("the sequence jumps to it from event #%(last)s; the events in between were removed"),
    "link": _l("it does not link to the event before it; an earlier event was removed or reordered"),
    "content": _l("its content does not match its hash; it was altered"),
    "tail": _l("the chain's head names later events; they were removed"),
    "head": _l("the chain's head names another last event"),
    "beyond_head": _l("it lies beyond the chain's head; it was added without being chained"),
    "checkpoint": _l("it no longer has the hash it had when it was checked before"),
}

# Plain rows, not ORM objects: the id, the columns a hash covers in the order services.hash_of takes
# them, and the hash. The changes come as text and are parsed here: the drivers' own JSON handling
# costs more than the hash.
_EVENT = AuditEvent.__table__
_COLUMNS = (_EVENT.c.id, *(sa.cast(_EVENT.c.changes, sa.Text).label("changes") if name == "changes"
                           else _EVENT.c[name] for name in HASHED_FIELDS), _EVENT.c.hash)
_CHANGES = HASHED_FIELDS.index("changes")


def _hash_of_row(row) -> str:
    fields = list(row[1:-1])
    fields[_CHANGES] = json.loads(fields[_CHANGES]) if fields[_CHANGES] else None
    return hash_of(*fields)


@dataclass
class ChainReport:
    ok: bool
    checked: int                 # events this run found intact
    bad_seq: int | None = None   # the first broken event
    bad_id: int | None = None
    reason: str = ""             # a key of REASONS
    last_seq: int = 0            # the last intact event
    full: bool = True            # from the start of the chain, or from a checkpoint
    from_seq: int = 0            # the checkpoint it started from (0: the start)

    @property
    def message(self) -> str:
        return str(REASONS[self.reason]) % {"last": self.last_seq} if self.reason else ""


def reason_text(checkpoint: AuditCheckpoint) -> str:
    return str(REASONS[checkpoint.reason]) % {"last": checkpoint.seq} if checkpoint.reason in REASONS else ""


def resume_point() -> AuditCheckpoint | None:
    """The checkpoint a check of new events starts from: the latest one; after a broken result, the
    last good one before the break (so the break is found again until it is put right)."""
    latest = db.session.execute(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one_or_none()
    if latest is None or latest.ok:
        return latest
    return db.session.execute(
        sa.select(AuditCheckpoint).where(AuditCheckpoint.ok, AuditCheckpoint.seq < latest.bad_seq)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(1)).scalar_one_or_none()


def verify_chain(*, resume: bool = False, progress: Callable | None = None, every: int = CHECKPOINT_EVERY,
                 batch: int = BATCH) -> ChainReport:
    """Walk the chain in sequence order and report the first event that is missing, altered or out
    of place: from the start, or (`resume`) from the latest checkpoint, whose event must still
    carry the hash it had then. An event altered before that checkpoint is found only from the start.

    Commits a checkpoint every `every` events and one at the end, so it runs outside a request
    (the job below, or `svcproc audit verify`).
    """
    session = db.session
    progress = progress or (lambda *args, **kwargs: None)
    start = resume_point() if resume else None
    if start is not None and start.seq == 0:  # a checkpoint before the first event: the start itself
        start = None
    run = ChainReport(ok=True, checked=0, full=start is None, from_seq=start.seq if start else 0)
    # The head first: every event up to it was committed with it, so a walk up to it sees them all
    # while writers go on appending.
    head_seq, head_hash = session.execute(
        sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one_or_none() or (0, GENESIS)
    expected_seq, expected_prev = (start.seq + 1, start.hash) if start else (1, GENESIS)

    def finish(bad_seq: int | None = None, reason: str = "", bad_id: int | None = None) -> ChainReport:
        run.ok, run.bad_seq, run.reason, run.bad_id = bad_seq is None, bad_seq, reason, bad_id
        run.last_seq = expected_seq - 1
        _save(run, expected_prev, complete=True)
        return run

    if start is not None:
        row = session.connection().execute(sa.select(*_COLUMNS).where(_EVENT.c.seq == start.seq)).one_or_none()
        if row is None or row.hash != start.hash or _hash_of_row(row) != row.hash:
            expected_seq = start.seq  # nothing after the checkpoint's predecessor is known intact
            expected_prev = ""
            return finish(start.seq, "checkpoint", row.id if row is not None else None)

    total = max(head_seq - expected_seq + 1, 1)
    lower = expected_seq - 1
    while lower < head_seq:
        upper = min(lower + every, head_seq)
        rows = session.connection().execute(
            sa.select(*_COLUMNS).where(_EVENT.c.seq > lower, _EVENT.c.seq <= upper).order_by(_EVENT.c.seq)
            .execution_options(stream_results=True, yield_per=batch))
        broken = None
        for row in rows:
            (event_id, seq, occurred_at, actor_id, actor_name, action, object_type, object_id, changes, client_ip,
             prev_hash, event_hash) = row
            if seq != expected_seq:
                broken = (seq, "sequence", event_id)
            elif prev_hash != expected_prev:
                broken = (seq, "link", event_id)
            elif hash_of(seq, occurred_at, actor_id, actor_name, action, object_type, object_id,
                         json.loads(changes) if changes else None, client_ip, prev_hash) != event_hash:
                broken = (seq, "content", event_id)
            if broken:
                rows.close()
                return finish(*broken)
            expected_prev = event_hash
            expected_seq += 1
            run.checked += 1
            if run.checked % batch == 0:
                progress(100 * run.checked / total)
        lower = upper
        if lower < head_seq:
            run.last_seq = expected_seq - 1
            _save(run, expected_prev, complete=False)

    if expected_seq - 1 < head_seq:
        return finish(expected_seq, "tail")
    if expected_prev != head_hash:
        return finish(head_seq, "head")
    # Events beyond the head: read them before the head again, so any a writer appended meanwhile
    # is covered by the head read after it; what lies beyond that was never chained.
    top = session.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar()
    if top is not None and top > head_seq:
        head_now = session.execute(sa.select(AuditChainHead.last_seq).where(AuditChainHead.id == 1)).scalar()
        if top > head_now:
            forged = session.execute(sa.select(sa.func.min(AuditEvent.seq)).where(
                AuditEvent.seq > head_now, AuditEvent.seq <= top)).scalar()
            return finish(forged, "beyond_head")
    return finish()


def _save(run: ChainReport, last_hash: str, *, complete: bool) -> None:
    db.session.add(AuditCheckpoint(
        seq=run.last_seq, hash=last_hash, checked_at=clock.now(), full=run.full, from_seq=run.from_seq,
        checked=run.checked, complete=complete, ok=run.ok, bad_seq=run.bad_seq, reason=run.reason))
    db.session.commit()


# --- the job and the page -----------------------------------------------------------------------


def start_verification(actor, *, full: bool) -> jobs.Job | None:
    """A queued verification job (audited; handed to the runner once the request commits); None
    while another is under way (one at a time: a second would only check the same events again)."""
    require(can_view_audit(actor))
    if active_job() is not None:
        return None
    job = jobs.start(JOB_KIND, {"full": full}, actor)
    record("audit.verification_started", actor=actor, obj=job, changes={"full": [None, full]})
    return job


def latest_job() -> jobs.Job | None:
    return db.session.execute(sa.select(jobs.Job).where(jobs.Job.kind == JOB_KIND)
                              .order_by(jobs.Job.created_at.desc()).limit(1)).scalar_one_or_none()


def active_job(job: jobs.Job | None = None) -> jobs.Job | None:
    job = job or latest_job()
    if job is None or job.status not in (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING):
        return None
    return job if clock.now() - job.created_at < JOB_STALE_AFTER else None


@dataclass
class Status:
    """What the verification page shows: the latest result, the latest full check when the latest
    was not one, a job under way or the last one's failure, and the chain's length."""
    latest: AuditCheckpoint | None
    latest_full: AuditCheckpoint | None
    job: jobs.Job | None
    failed_job: jobs.Job | None
    head_seq: int


def status() -> Status:
    latest = db.session.execute(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one_or_none()
    latest_full = latest
    if latest is not None and not latest.full:
        latest_full = db.session.execute(
            sa.select(AuditCheckpoint).where(AuditCheckpoint.full).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one_or_none()
    job = latest_job()
    failed = job if job is not None and job.status == jobs.JobStatus.FAILED else None
    head_seq = db.session.execute(
        sa.select(AuditChainHead.last_seq).where(AuditChainHead.id == 1)).scalar() or 0
    return Status(latest=latest, latest_full=latest_full, job=active_job(job), failed_job=failed, head_seq=head_seq)
