"""A ledger import's states: the only code that writes an import batch's status.

A file is checked as it arrives (a dry run: nothing is kept), then, once confirmed, imported all at
once; a large file is imported by a job, and a job that fails puts the batch back to checked so the
file can be fixed and sent again. Every step is recorded in the audit trail.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..core import workflow
from ..core.workflow import StateMachine, Transition
from .models import ImportBatch, ImportStatus

S = ImportStatus


def _labels():
    from .labels import IMPORT_STATUS_LABELS

    return IMPORT_STATUS_LABELS


IMPORT = workflow.register(StateMachine("import", {
    "check": Transition({S.CHECKED}, S.CHECKED, "import.checked"),
    "start": Transition({S.CHECKED}, S.IMPORTING, "import.started"),
    "complete": Transition({S.CHECKED, S.IMPORTING}, S.IMPORTED, "import.completed"),
    "fail": Transition({S.IMPORTING}, S.CHECKED, "import.failed"),
}, labels=_labels, refusal=_l("Not possible while the import is %(status)s."), reason=None))


def start_import(actor, batch: ImportBatch, job_id: str) -> None:
    """A confirmed file handed to a job: the batch shows it is importing until the job ends."""
    batch.job_id = job_id
    IMPORT.move(actor, batch, "start", job_id=job_id)


def fail_import(actor, batch: ImportBatch, error: str) -> None:
    """The job's import failed and nothing of it was kept: back to checked, to be fixed and sent again."""
    IMPORT.move(actor, batch, "fail", reason=error[:500])
