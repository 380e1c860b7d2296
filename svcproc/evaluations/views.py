"""Evaluation pages: rounds of a contract, their set-up, the evaluators' scoring page, the summary,
surveys, evidence, findings and rectification. Indicator template pages are in template_views."""
from __future__ import annotations

from flask import Blueprint

from . import labels

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")


@bp.app_context_processor
def _labels():
    return {"round_kind_labels": labels.ROUND_KIND_LABELS, "round_status_labels": labels.ROUND_STATUS_LABELS,
            "version_status_labels": labels.VERSION_STATUS_LABELS, "item_status_labels": labels.ITEM_STATUS_LABELS,
            "leaf_kind_labels": labels.LEAF_KIND_LABELS, "grade_labels": labels.GRADE_LABELS}


from . import template_views  # noqa: E402,F401  (routes on the same blueprint)
