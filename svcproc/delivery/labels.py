"""Translatable names for service-delivery enumerations."""
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from .models import ActivityType, ConsentBy, ConsentMethod, Gender, ImportStatus, PersonStatus, RedFlagKind, ViewKind

ACTIVITY_TYPE_LABELS = {
    ActivityType.CASE_WORK: _l("Case work"),
    ActivityType.GROUP_SESSION: _l("Group session"),
    ActivityType.COMMUNITY_EVENT: _l("Community event"),
    ActivityType.DELIBERATION: _l("Micro-deliberation meeting"),
    ActivityType.VOLUNTEER_TRAINING: _l("Volunteer training"),
}
GENDER_LABELS = {Gender.FEMALE: _l("Female"), Gender.MALE: _l("Male")}
CONSENT_BY_LABELS = {ConsentBy.SELF: _l("The person"), ConsentBy.GUARDIAN: _l("A guardian")}
CONSENT_METHOD_LABELS = {
    ConsentMethod.WRITTEN: _l("Signed form"),
    ConsentMethod.ELECTRONIC: _l("Electronic confirmation"),
    ConsentMethod.VERBAL_RECORDED: _l("Verbal, recorded"),
}
CATEGORY_LABELS = {
    "elderly_alone": _l("Elderly living alone"),
    "left_behind_child": _l("Left-behind child"),
    "disability": _l("Person with disability"),
    "low_income": _l("Low-income household"),
    "veteran": _l("Veteran"),
    "single_parent": _l("Single-parent family"),
    "youth_at_risk": _l("Young person at risk"),
    "other": _l("Other"),
}
PERSON_STATUS_LABELS = {
    PersonStatus.ACTIVE: _l("Consent given"),
    PersonStatus.WITHDRAWN: _l("Consent withdrawn"),
    PersonStatus.ANONYMISED: _l("Anonymised"),
}
VIEW_KIND_LABELS = {
    ViewKind.VIEWED: _l("Read the record"),
    ViewKind.REVEALED: _l("Showed the identity number and phone in full"),
    ViewKind.EXPORTED: _l("Exported everything held about the person"),
}
IMPORT_STATUS_LABELS = {
    ImportStatus.CHECKED: _l("Checked, waiting for confirmation"),
    ImportStatus.IMPORTING: _l("Importing"),
    ImportStatus.IMPORTED: _l("Imported"),
    ImportStatus.FAILED: _l("Import failed"),
}


def import_state(batch) -> str:
    """An import's state as its pages title it: a checked file with errors says so, with their count."""
    if batch.status == ImportStatus.CHECKED and batch.error_count:
        return ngettext("Checked: %(num)d error, nothing can be imported until the file is corrected",
                        "Checked: %(num)d errors, nothing can be imported until the file is corrected",
                        batch.error_count)
    return str(IMPORT_STATUS_LABELS[batch.status])


RED_FLAG_LABELS = {
    RedFlagKind.WORKER_OVERLAP: _l("Social worker in two overlapping activities"),
    RedFlagKind.WORKER_HOURS: _l("More than 12 service hours by one worker in a day"),
    RedFlagKind.OUTSIDE_PERIOD: _l("Activity outside the contract period or in the future"),
    RedFlagKind.DOUBLE_COUNTED: _l("Same person counted by two contracts for the same service"),
    RedFlagKind.DUPLICATE: _l("Duplicate entry"),
}


def worker_label(worker) -> str:
    """A worker told apart from a namesake: the name, the worker's number and the masked phone."""
    from .identity import mask_phone

    phone = mask_phone(worker.phone) if worker.phone else ""
    return f"{worker.name}({worker.id}{' · ' + phone if phone else ''})"


def worker_labels(workers) -> dict[int, str]:
    """How each of these workers is shown in a list or a choice: the name alone, unless another
    worker of the list has the same name; then with the worker's number and masked phone."""
    counts: dict[str, int] = {}
    for w in workers:
        counts[w.name] = counts.get(w.name, 0) + 1
    return {w.id: worker_label(w) if counts[w.name] > 1 else w.name for w in workers}
