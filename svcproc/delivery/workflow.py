"""A ledger import's states: the only code that writes an import batch's status.

A file is checked as it arrives (a dry run: nothing is kept), then, once confirmed, imported all at
once; a large file is imported by a job, and a job that fails puts the batch back to checked so the
file can be fixed and sent again. Every step is recorded in the audit trail.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..contracts.workflow import CONTRACT
from ..core import workflow
from ..core.workflow import StateMachine, Transition, allow
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


def check_recording(contract) -> None:
    """Services are recorded, corrected and imported only while the contract's state allows it
    (signed, in service, completed): the form, the import page and the command line all ask here."""
    CONTRACT.check("record_services", contract, _("Services are recorded on signed contracts only."))


def check_ledger_import(actor, contract) -> None:
    """Before a ledger file is taken for a contract, from the page or the command line (the system
    actor): the organization's manager, on a contract that still records services."""
    from . import permissions as perms

    allow(actor, perms.can_manage_delivery(actor, contract))
    check_recording(contract)
