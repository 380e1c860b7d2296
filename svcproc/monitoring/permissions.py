"""Who reads procurement red flags and monitoring cases, and who acts on a case in which state.

Auditors open cases, issue findings, return an answer and conclude; the bureau's procurement staff
answer the findings issued to them. Both read every case; nobody else sees them."""
from __future__ import annotations

import sqlalchemy as sa

from ..core import scoping
from ..core.permissions import has_permission
from .models import MonitoringCase, MonitoringStatus
from .states import CASE


def can_view_monitoring(user) -> bool:
    return has_permission(user, "monitoring.read")


def can_view_case(user, case) -> bool:
    return can_view_monitoring(user)


def visible_cases(user) -> sa.Select:
    stmt = sa.select(MonitoringCase)
    return stmt if can_view_monitoring(user) else stmt.where(sa.false())


def can_open_case(user) -> bool:
    return has_permission(user, "monitoring.open")


def can_refresh_flags(user) -> bool:
    """Recomputing the flags changes no record of a project: those who open cases may ask for it."""
    return can_open_case(user)


def can_issue_findings(user, case) -> bool:
    return can_open_case(user) and CASE.allows("issue", case)


def can_return_answer(user, case) -> bool:
    return can_open_case(user) and CASE.allows("return", case)


def can_conclude_case(user, case) -> bool:
    return can_open_case(user) and CASE.allows("conclude", case)


def can_answer_cases(user) -> bool:
    return has_permission(user, "monitoring.answer")


def can_answer_case(user, case) -> bool:
    return can_answer_cases(user) and CASE.allows("answer", case)


def can_attach_to_case(user, case) -> bool:
    """The auditor while the case runs; the bureau while its answer is due (the proof of it)."""
    if not CASE.allows("attach", case):
        return False
    if can_open_case(user):
        return True
    return can_answer_cases(user) and case.status == MonitoringStatus.AWAITING_ANSWER


scoping.register(MonitoringCase, visible_cases, can_view_case)
