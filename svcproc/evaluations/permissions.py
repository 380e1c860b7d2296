"""Who may see and change indicator templates, evaluation rounds, scores and rectification items.

The role predicates (`can_manage_rounds`) say who may act at all; the verb predicates
(`can_open_scoring(user, round)`) add whether the record's state allows the verb now (states.py), and
are what pages ask before they offer a button. The lists each person sees are `visible_rounds` and
`visible_rectification_items`, which agree with `can_view_round`.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..core.permissions import Role, has_permission
from ..extensions import db
from .states import ITEM, ROUND, VERSION


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
    return ROUND.allows("result", round_) and can_view_round(user, round_)


def can_add_findings(user, round_) -> bool:
    if has_permission(user, "evaluations.manage"):
        return True
    member = assignment(user, round_) if has_permission(user, "evaluations.score") else None
    return member is not None and member.declared_at is not None and not member.conflicted


def can_respond_rectification(user, round_) -> bool:
    return _org_manager_of(user, round_)


def can_review_rectification(user, round_=None) -> bool:
    return has_permission(user, "rectification.review")


# --- verbs: who, and whether the state allows it now ------------------------------------------------


def can_open_scoring(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("open", round_)


def can_finalize_round(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("finalize", round_)


def can_cancel_round(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("cancel", round_)


def can_reopen_finalized_round(user, round_) -> bool:
    return can_reopen_round(user, round_) and ROUND.allows("reopen", round_)


def can_change_schedule(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("schedule", round_)


def can_set_parties(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("set_parties", round_)


def can_assign_evaluators(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("evaluators", round_)


def can_manage_surveys(user, round_) -> bool:
    return can_manage_rounds(user, round_) and ROUND.allows("surveys", round_)


def can_add_evidence(user, round_) -> bool:
    return can_submit_evidence(user, round_) and ROUND.allows("evidence", round_)


def can_record_findings(user, round_) -> bool:
    return can_add_findings(user, round_) and ROUND.allows("findings", round_)


def can_declare_on_round(user, round_, member=None) -> bool:
    """The evaluator's own conflict declaration, once, before their scoring ends."""
    member = member or assignment(user, round_)
    return member is not None and member.user_id == getattr(user, "id", None) and member.declared_at is None \
        and ROUND.allows("declare", round_)


def can_score_as_member(user, member) -> bool:
    """An evaluator scores on their own place of a round that is scoring: declared without a
    conflict, not yet submitted."""
    return (member is not None and member.user_id == getattr(user, "id", None)
            and has_permission(user, "evaluations.score") and member.declared_at is not None and not member.conflicted and member.submitted_at is None
            and ROUND.allows("score", member.round))


def can_respond_item(user, item) -> bool:
    return can_respond_rectification(user, item.finding.round) and ITEM.allows("respond", item)


def can_close_item(user, item) -> bool:
    return can_review_rectification(user) and ITEM.allows("close", item)


def can_reopen_item(user, item) -> bool:
    return can_review_rectification(user) and ITEM.allows("reopen", item)


def can_edit_version(user, version) -> bool:
    return can_manage_templates(user) and VERSION.allows("edit", version)


def can_publish_version(user, version) -> bool:
    return can_manage_templates(user) and VERSION.allows("publish", version)


def can_retire_version(user, version) -> bool:
    return can_manage_templates(user) and VERSION.allows("retire", version)


def can_start_version(user, template) -> bool:
    """A new version starts from the newest, unless that one is still a draft to finish."""
    latest = template.latest
    return can_manage_templates(user) and (latest is None or not VERSION.allows("edit", latest))


# --- the lists --------------------------------------------------------------------------------------


def visible_rounds(user) -> sa.Select:
    """The rounds a person's lists hold, as can_view_round decides one: the bureau and auditors all,
    an evaluator those assigned to them, an organization's manager those of its own contracts."""
    from ..contracts.models import Contract
    from .models import EvaluationRound, RoundEvaluator

    stmt = sa.select(EvaluationRound)
    if has_permission(user, "evaluations.read"):
        return stmt
    if has_permission(user, "evaluations.score"):
        return stmt.where(EvaluationRound.id.in_(
            sa.select(RoundEvaluator.round_id).where(RoundEvaluator.user_id == user.id)))
    if (has_permission(user, "evaluations.respond") and user.role == Role.ORG_MANAGER
            and user.organization_id is not None):
        return stmt.where(EvaluationRound.contract_id.in_(
            sa.select(Contract.id).where(Contract.organization_id == user.organization_id)))
    return stmt.where(sa.false())


def viewable_round_ids(user, round_ids) -> set[int]:
    """Of these rounds, those the person may open (as `can_view_round` decides each): none read for
    the bureau and auditors, who open every round, and one statement (`visible_rounds`) for anyone
    else, instead of each round's evaluators read in turn."""
    from .models import EvaluationRound

    ids = set(round_ids)
    if not ids or has_permission(user, "evaluations.read"):
        return ids
    return set(db.session.execute(visible_rounds(user).with_only_columns(EvaluationRound.id)
                                  .where(EvaluationRound.id.in_(sorted(ids)))).scalars())


def can_view_rectification_item(user, item) -> bool:
    """An item is seen by whoever sees its round and may list rectification (the bureau, auditors,
    the organization's manager)."""
    return can_list_rectification(user) and can_view_round(user, item.finding.round)


def visible_rectification_items(user) -> sa.Select:
    from .models import EvaluationRound, Finding, RectificationItem

    if not can_list_rectification(user):
        return sa.select(RectificationItem).where(sa.false())
    rounds = visible_rounds(user).with_only_columns(EvaluationRound.id)
    return sa.select(RectificationItem).where(RectificationItem.finding_id.in_(
        sa.select(Finding.id).where(Finding.round_id.in_(rounds))))
