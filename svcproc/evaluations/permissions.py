"""Who may see and change indicator templates, evaluation rounds, scores and rectification items."""
from __future__ import annotations

from ..core.permissions import Role, has_permission


def _org_manager_of(user, round_) -> bool:
    return bool(has_permission(user, "evaluations.respond") and user.role == Role.ORG_MANAGER
                and user.organization_id is not None and user.organization_id == round_.contract.organization_id)


def assignment(user, round_):
    """The person's place on the round's list of evaluators, if they have one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return next((e for e in round_.evaluators if e.user_id == user.id), None)


def can_manage_templates(user) -> bool:
    return has_permission(user, "templates.manage")


def can_view_templates(user) -> bool:
    return has_permission(user, "templates.manage") or has_permission(user, "evaluations.read") \
        or has_permission(user, "evaluations.score")


def can_list_evaluations(user) -> bool:
    return (has_permission(user, "evaluations.read") or has_permission(user, "evaluations.score")
            or has_permission(user, "evaluations.respond"))


def can_list_rectification(user) -> bool:
    """Rectification items: the bureau and auditors all of them, an organization's manager its own."""
    return has_permission(user, "evaluations.read") or has_permission(user, "evaluations.respond")


def can_view_round(user, round_) -> bool:
    """The bureau and auditors see every round; evaluators the rounds they are assigned to; an
    organization's manager the rounds of its own contracts."""
    if has_permission(user, "evaluations.read"):
        return True
    if has_permission(user, "evaluations.score") and assignment(user, round_) is not None:
        return True
    return _org_manager_of(user, round_)


def can_manage_rounds(user, round_=None) -> bool:
    return has_permission(user, "evaluations.manage")


def can_score_round(user, round_) -> bool:
    return has_permission(user, "evaluations.score") and assignment(user, round_) is not None


def can_reopen_round(user, round_=None) -> bool:
    return has_permission(user, "evaluations.reopen")


def can_submit_evidence(user, round_) -> bool:
    return _org_manager_of(user, round_)


def can_view_result(user, round_) -> bool:
    """Scores are nobody's to see until the round is finalized; then everyone who sees the round."""
    from .models import RoundStatus

    return round_.status == RoundStatus.FINALIZED and can_view_round(user, round_)


def can_add_findings(user, round_) -> bool:
    if has_permission(user, "evaluations.manage"):
        return True
    member = assignment(user, round_) if has_permission(user, "evaluations.score") else None
    return member is not None and member.declared_at is not None and not member.conflicted


def can_respond_rectification(user, round_) -> bool:
    return _org_manager_of(user, round_)


def can_review_rectification(user, round_=None) -> bool:
    return has_permission(user, "rectification.review")
