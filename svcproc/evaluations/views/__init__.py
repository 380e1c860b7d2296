"""Evaluation pages, one blueprint split by page family: rounds (lists, set-up, transitions),
surveys and evidence, scoring and the result, findings and rectification, indicator templates."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask_babel import gettext as _, lazy_gettext as _nl
from sqlalchemy.orm import load_only

from ...contracts.models import Contract
from ...core import nav, scoping
from ...core.errors import ValidationError
from ...extensions import db
from ...procurement.labels import TARGET_LABELS
from .. import labels
from .. import permissions as perms
from ..models import EvaluationRound, RectificationItem

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")
nav.menu("evaluations.rounds", _nl("Evaluations"), order=40, visible=perms.can_list_evaluations)
nav.menu("evaluations.rectification", _nl("Rectification"), order=41, visible=perms.can_list_rectification)
nav.menu("evaluations.templates", _nl("Indicator templates"), order=42, visible=perms.can_view_templates)
nav.predicates(perms)
scoping.register(EvaluationRound, perms.visible_rounds, perms.can_view_round)
scoping.register(RectificationItem, perms.visible_rectification_items, perms.can_view_rectification_item)


# What the contract's page shows of each round (title, state, result), not its computed figures
# and locked result (JSON decoded for nothing); built once.
_CONTRACT_ROUNDS = (sa.select(EvaluationRound).where(EvaluationRound.contract_id == sa.bindparam("contract"))
                    .options(load_only(EvaluationRound.id, EvaluationRound.contract_id, EvaluationRound.title,
                                       EvaluationRound.status, EvaluationRound.total, EvaluationRound.grade,
                                       EvaluationRound.scheduled_start))
                    .order_by(EvaluationRound.scheduled_start, EvaluationRound.id))


def contract_rounds(contract: Contract) -> list[EvaluationRound]:
    """The rounds listed on a contract's page."""
    return list(db.session.execute(_CONTRACT_ROUNDS, {"contract": contract.id}).scalars())


def require_valid(form) -> None:
    """A button's small form (a note, a reason) that does not validate is refused on its page."""
    if not form.validate_on_submit():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        raise ValidationError(" ".join(messages) or _("The form was incomplete; reload the page and enter your "
                                                      "changes again."), next(iter(form.errors), None))


def state_refusals_to_the_page(exc) -> bool:
    """For a form on the round's page: what was typed is refused under the form's field, but a rule
    of the round's state is answered like a refused button, by the error handlers on the page it was
    sent from (in that state the page may not show the form at all)."""
    if not isinstance(exc, ValidationError):
        raise exc
    return False


@bp.app_context_processor
def _labels():
    return {"round_kind_labels": labels.ROUND_KIND_LABELS, "round_status_labels": labels.ROUND_STATUS_LABELS,
            "version_status_labels": labels.VERSION_STATUS_LABELS, "item_status_labels": labels.ITEM_STATUS_LABELS,
            "leaf_kind_labels": labels.LEAF_KIND_LABELS, "grade_labels": labels.GRADE_LABELS,
            "target_labels": TARGET_LABELS, "evaluation_rounds_of": contract_rounds}


from . import rectification, rounds, scoring, surveys, templates  # noqa: E402,F401  (routes on bp)
