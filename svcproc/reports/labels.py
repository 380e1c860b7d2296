"""Labels of the codes a report's data holds, looked up by their stored value."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..contracts.labels import CONTRACT_STATUS_LABELS, DELIVERABLE_KIND_LABELS, MILESTONE_STATUS_LABELS
from ..delivery.labels import CATEGORY_LABELS as PEOPLE_CATEGORY_LABELS, GENDER_LABELS, RED_FLAG_LABELS
from ..evaluations.labels import GRADE_LABELS, ITEM_STATUS_LABELS, ROUND_KIND_LABELS, ROUND_STATUS_LABELS
from ..procurement.labels import CATEGORY_LABELS, METHOD_LABELS, TARGET_LABELS
from ..registry.forms import RATING_LABELS, STATUS_LABELS as ORG_STATUS_LABELS


def _by_value(labels: dict) -> dict:
    return {getattr(k, "value", k): v for k, v in labels.items()}


LABELS = {
    "contract_status": _by_value(CONTRACT_STATUS_LABELS),
    "milestone_status": _by_value(MILESTONE_STATUS_LABELS),
    "deliverable_kind": _by_value(DELIVERABLE_KIND_LABELS),
    "people_category": _by_value(PEOPLE_CATEGORY_LABELS),
    "gender": _by_value(GENDER_LABELS),
    "red_flag": _by_value(RED_FLAG_LABELS),
    "grade": {**_by_value(GRADE_LABELS), "none": _l("Not evaluated")},
    "item_status": _by_value(ITEM_STATUS_LABELS),
    "round_kind": _by_value(ROUND_KIND_LABELS),
    "round_status": _by_value(ROUND_STATUS_LABELS),
    "category": _by_value(CATEGORY_LABELS),
    "method": _by_value(METHOD_LABELS),
    "target": TARGET_LABELS,
    "rating": _by_value(RATING_LABELS),
    "org_status": _by_value(ORG_STATUS_LABELS),
}


def label(group: str, value) -> str:
    """The translated label, or the code itself when the code is new to this version."""
    if value is None:
        return "—"
    return str(LABELS[group].get(value, value))
