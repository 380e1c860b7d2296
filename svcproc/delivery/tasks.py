"""Background jobs of service delivery: checking and importing a large ledger file."""
from __future__ import annotations

from ..core import jobs
from ..core.errors import DomainError
from ..extensions import db
from . import ledger, workflow
from .models import ImportBatch


def _actor(job):
    from ..accounts.models import User

    return db.session.get(User, job.created_by_id) if job.created_by_id else None


@jobs.job_function("ledger_check")
def check_ledger(job, report):
    batch = db.session.get(ImportBatch, job.payload["batch_id"])
    ledger.run_check(_actor(job), batch, report)
    db.session.commit()
    return {"batch_id": batch.id, "errors": batch.error_count, "new": batch.rows_new}


@jobs.job_function("ledger_import")
def import_ledger(job, report):
    batch = db.session.get(ImportBatch, job.payload["batch_id"])
    try:
        ledger.run_import(_actor(job), batch, report)
    except Exception as exc:
        db.session.rollback()
        # Nothing of the file was kept: say so in the trail and let it be fixed and sent again.
        batch = db.session.get(ImportBatch, job.payload["batch_id"])
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        workflow.fail_import(_actor(job), batch, message)
        db.session.commit()
        raise
    db.session.commit()
    return {"batch_id": batch.id, "created": batch.rows_new}
