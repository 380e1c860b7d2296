"""Translatable names for evaluations' enumerations, grades and leaf kinds."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from .models import ItemStatus, RoundKind, RoundStatus, VersionStatus
from .tree import LeafKind

ROUND_KIND_LABELS = {
    RoundKind.MIDTERM: _l("Mid-term evaluation"),
    RoundKind.FINAL: _l("Final evaluation"),
    RoundKind.SPECIAL: _l("Special evaluation"),
}
ROUND_STATUS_LABELS = {
    RoundStatus.PLANNED: _l("Being prepared"),
    RoundStatus.SCORING: _l("Scoring"),
    RoundStatus.FINALIZED: _l("Finalized"),
    RoundStatus.CANCELLED: _l("Cancelled"),
}
VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: _l("Draft"),
    VersionStatus.PUBLISHED: lazy_pgettext("template version", "Published"),
    VersionStatus.RETIRED: _l("Retired"),
}
ITEM_STATUS_LABELS = {
    ItemStatus.OPEN: _l("Waiting for the organization"),
    ItemStatus.RESPONDED: _l("Responded, to be reviewed"),
    ItemStatus.CLOSED: lazy_pgettext("rectification item", "Closed"),
}
LEAF_KIND_LABELS = {
    LeafKind.EVALUATOR: _l("Scored by evaluators"),
    LeafKind.OUTPUT: _l("Computed from the service logs"),
    LeafKind.SATISFACTION: _l("Computed from the satisfaction survey"),
}
GRADE_LABELS = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "pass": _l("Pass"),
    "fail": _l("Fail"),
}
