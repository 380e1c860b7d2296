"""Translatable names for contract enumerations and fields."""
from flask_babel import lazy_gettext as _l

from .models import ContractStatus, DeliverableKind, MilestoneStatus, PeriodStatus

CONTRACT_STATUS_LABELS = {
    ContractStatus.DRAFT: _l("Draft"),
    ContractStatus.SIGNED: _l("Signed"),
    ContractStatus.IN_PROGRESS: _l("In progress"),
    ContractStatus.COMPLETED: _l("Completed (accepted)"),
    ContractStatus.CLOSED: _l("Closed"),
    ContractStatus.TERMINATED: _l("Terminated"),
}
MILESTONE_STATUS_LABELS = {
    MilestoneStatus.PENDING: _l("Not yet submitted"),
    MilestoneStatus.SUBMITTED: _l("Submitted for acceptance"),
    MilestoneStatus.ACCEPTED: _l("Accepted"),
    MilestoneStatus.RETURNED: _l("Returned with comments"),
    MilestoneStatus.PAID: _l("Paid"),
}
PERIOD_STATUS_LABELS = {
    PeriodStatus.CLOSED: _l("Entries locked"),
    PeriodStatus.REOPENED: _l("Entries reopened for corrections"),
}
DELIVERABLE_KIND_LABELS = {
    DeliverableKind.PLAN: _l("Service plan"),
    DeliverableKind.REPORT: _l("Report"),
    DeliverableKind.SIGN_IN_SHEET: _l("Sign-in sheet"),
    DeliverableKind.PHOTO: _l("Photo"),
    DeliverableKind.OTHER: _l("Other"),
}
ART23_LABELS = {
    "service_content": _l("Service content"),
    "quantity": _l("Quantity of service"),
    "quality": _l("Quality requirements"),
    "settlement": _l("Price, payment and settlement"),
    "rights_obligations": _l("Rights and obligations of the parties"),
    "breach_liability": _l("Liability for breach"),
}
AMENDABLE_LABELS = {
    "amount_fen": _l("Amount"),
    "end_date": _l("End date"),
    "service_content": _l("Service content"),
}
