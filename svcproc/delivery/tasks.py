"""Background jobs of service delivery: checking and importing a large ledger file."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale

from ..core import jobs
from ..core.errors import DomainError
from ..extensions import db
from . import ledger, workflow
from .models import ImportBatch


def _actor(job):
    from ..accounts.models import User

    return db.session.get(User, job.created_by_id) if job.created_by_id else None


def _followers(user, job) -> bool:
    """Besides whoever started it, the bureau and the auditor follow a ledger's check and import."""
    from ..procurement.permissions import can_read_procurement

    return can_read_procurement(user)


@contextmanager
def _language_of(job):
    """Row errors and refusals in the language of the person who sent the file."""
    with force_locale(job.payload.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]):
        yield


def _orphaned_import(job) -> None:
    """An import whose process died took its uncommitted entries with it: the batch goes back to
    checked, to be confirmed again."""
    batch = db.session.get(ImportBatch, job.payload.get("batch_id"))
    if batch is not None and workflow.IMPORT.allows("fail", batch) and batch.job_id == job.id:
        workflow.fail_import(None, batch, job.error)


@jobs.job_function("ledger_check", can_view=_followers, template="delivery/_job_outcome.html")
def check_ledger(job, report):
    batch = db.session.get(ImportBatch, job.payload["batch_id"])
    with _language_of(job):
        ledger.run_check(_actor(job), batch, report)
    db.session.commit()
    return {"batch_id": batch.id, "errors": batch.error_count, "new": batch.rows_new}


@jobs.job_function("ledger_import", can_view=_followers, template="delivery/_job_outcome.html",
                   on_orphaned=_orphaned_import)
def import_ledger(job, report):
    with _language_of(job):
        return _import_ledger(job, report)


def _import_ledger(job, report):
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
