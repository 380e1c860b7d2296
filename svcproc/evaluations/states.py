"""The state machines of evaluations, as tables: an evaluation round, a rectification item and an
indicator template version. Workflows move records only through them (core/workflow.py `move`);
permissions and pages ask them which verbs a record's state allows."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..core import workflow
from ..core.workflow import StateMachine, Transition
from .models import ItemStatus as I, RoundStatus as R, VersionStatus as V


def _round_labels():
    from .labels import ROUND_STATUS_LABELS

    return ROUND_STATUS_LABELS


def _item_labels():
    from .labels import ITEM_STATUS_LABELS

    return ITEM_STATUS_LABELS


def _version_labels():
    from .labels import VERSION_STATUS_LABELS

    return VERSION_STATUS_LABELS


ROUND = workflow.register(StateMachine("evaluation_round", {
    "open": Transition({R.PLANNED}, R.SCORING, "evaluation.scoring_opened"),
    "finalize": Transition({R.SCORING}, R.FINALIZED, "evaluation.finalized"),
    "reopen": Transition({R.FINALIZED}, R.SCORING, "evaluation.reopened"),
    "cancel": Transition({R.PLANNED, R.SCORING}, R.CANCELLED, "evaluation.cancelled"),
}, labels=_round_labels, refusal=_l("This is not possible while the evaluation is %(status)s."), actions={
    # Set-up happens before scoring opens; who scores, and the schedule, may still change while it runs.
    "set_parties": {R.PLANNED},
    "surveys": {R.PLANNED},
    "schedule": {R.PLANNED, R.SCORING},
    "evaluators": {R.PLANNED, R.SCORING},
    "declare": {R.PLANNED, R.SCORING},
    "evidence": {R.PLANNED, R.SCORING},
    "score": {R.SCORING},
    "findings": {R.SCORING, R.FINALIZED},
    "result": {R.FINALIZED},   # scores are shown to nobody before
}))

ITEM = workflow.register(StateMachine("rectification_item", {
    "respond": Transition({I.OPEN}, I.RESPONDED, "rectification.responded"),
    "close": Transition({I.RESPONDED}, I.CLOSED, "rectification.closed"),
    "reopen": Transition({I.RESPONDED, I.CLOSED}, I.OPEN, "rectification.reopened"),
}, labels=_item_labels, refusal=_l("This is not possible while the item is %(status)s."), reason=None))

# A version has no timestamp of its last change of status (publishing sets published_at itself).
VERSION = workflow.register(StateMachine("template_version", {
    "publish": Transition({V.DRAFT}, V.PUBLISHED, "template_version.published"),
    "retire": Transition({V.PUBLISHED}, V.RETIRED, "template_version.retired"),
}, labels=_version_labels, refusal=_l("This is not possible while the version is %(status)s."), timestamp=None,
    reason=None, actions={"edit": {V.DRAFT}}))
