"""A monitoring case's states: the auditor issues findings, the bureau answers with what it
eliminated, the auditor returns an answer that falls short or concludes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..core import workflow
from .labels import CASE_STATUS_LABELS
from .models import MonitoringStatus as S

CASE = workflow.register(workflow.StateMachine("monitoring_case", {
    "issue": workflow.Transition({S.OPEN}, S.AWAITING_ANSWER, "monitoring.findings_issued"),
    "answer": workflow.Transition({S.AWAITING_ANSWER}, S.ANSWERED, "monitoring.answered"),
    "return": workflow.Transition({S.ANSWERED}, S.AWAITING_ANSWER, "monitoring.answer_returned"),
    "conclude": workflow.Transition({S.OPEN, S.ANSWERED}, S.CONCLUDED, "monitoring.concluded"),
}, labels=lambda: CASE_STATUS_LABELS, refusal=_l("Not possible while the monitoring case is %(status)s."),
    actions={"attach": {S.OPEN, S.AWAITING_ANSWER, S.ANSWERED}}))
