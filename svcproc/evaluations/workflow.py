"""Evaluation rounds: set-up, conflict declarations, scoring, freezing computed leaves, finalizing,
reopening, surveys, evidence, findings and rectification. A round's and a rectification item's status
change only through their state machines (states.py); each function checks who acts and the rules,
records one audit event and flushes; the request commits.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.services import jsonable, record
from ..contracts.models import Contract, ContractStatus
from ..contracts.workflow import today
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..core.formatting import points as points_text
from ..core.permissions import Role
from ..core.workflow import allow
from ..extensions import db
from ..registry.models import Organization, OrgKind
from . import permissions as perms
from .indicators import leaves_of
from .models import (EvaluationEvidence, EvaluationParty, EvaluationRound, EvaluationScore, Finding, ItemStatus,
                     RectificationItem, RectificationResponse, ResponseFile, RoundEvaluator, RoundKind, RoundStatus,
                     SatisfactionSurvey, TemplateVersion, VersionStatus)
from .results import compute_leaves, round_result
from .states import ITEM, ROUND
from .tree import LeafKind

R = RoundStatus
EVALUABLE_CONTRACTS = (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS, ContractStatus.COMPLETED,
                       ContractStatus.CLOSED)
EVIDENCE_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)
EVALUATOR_ROLES = (Role.EVALUATOR,)
DEFAULT_TARGET_PERCENT = {RoundKind.MIDTERM: 50, RoundKind.FINAL: 100, RoundKind.SPECIAL: 100}


def status_label(status: RoundStatus) -> str:
    return ROUND.label(status)


def _move(actor, round_: EvaluationRound, verb: str, reason: str = "", **extra) -> None:
    """Through the round's one door; a move without a reason clears the last one (a cancellation's, a
    reopening's), so the page shows only the reason for the state the round is in."""
    round_.status_reason = reason
    ROUND.move(actor, round_, verb, reason=reason, **extra)


def _text(value, field: str, message: str, limit: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(message, field)
    return value[:limit] if limit else value


# --- creating and preparing a round -------------------------------------------------------------


def create_round(actor, contract: Contract, *, kind: RoundKind, title: str, template_version: TemplateVersion,
                 evaluation_org: Organization | None, scheduled_start: date, scheduled_end: date,
                 target_percent: int | None = None) -> EvaluationRound:
    allow(actor, perms.can_manage_rounds(actor))
    if contract.status not in EVALUABLE_CONTRACTS:
        raise DomainError(_("Only a signed contract can be evaluated."))
    kind = RoundKind(kind)
    if template_version.status != VersionStatus.PUBLISHED:
        raise ValidationError(_("Choose a published template version."), "template_version")
    if evaluation_org is not None and evaluation_org.kind != OrgKind.EVALUATION:
        raise ValidationError(_("Choose a third-party evaluation organization."), "evaluation_org")
    if evaluation_org is not None and evaluation_org.id == contract.organization_id:
        raise ValidationError(_("An organization cannot evaluate its own project."), "evaluation_org")
    if scheduled_end < scheduled_start:
        raise ValidationError(_("The evaluation ends before it starts."), "scheduled_end")
    if kind == RoundKind.FINAL and any(r.kind == RoundKind.FINAL and r.status != R.CANCELLED
                                       for r in rounds_of(contract)):
        raise DomainError(_("This contract already has a final evaluation."))
    percent = DEFAULT_TARGET_PERCENT[kind] if target_percent is None else int(target_percent)
    if not 1 <= percent <= 100:
        raise ValidationError(_("Measure outputs against between 1 and 100 percent of the contract's targets."), "target_percent")
    now = clock.now()
    round_ = EvaluationRound(contract_id=contract.id, kind=kind, title=_text(title, "title", _("Give the evaluation a title."), 200),
                             template_version_id=template_version.id,
                             evaluation_org_id=evaluation_org.id if evaluation_org else None,
                             target_percent=percent, scheduled_start=scheduled_start, scheduled_end=scheduled_end,
                             status=R.PLANNED, status_changed_at=now, computed={}, result={}, created_at=now,
                             created_by_id=getattr(actor, "id", None))
    db.session.add(round_)
    db.session.flush()
    record("evaluation.created", actor=actor, obj=round_,
           changes={"contract_id": [None, contract.id], "kind": [None, kind.value], "title": [None, round_.title],
                    "template_version_id": [None, template_version.id],
                    "evaluation_org_id": [None, round_.evaluation_org_id], "target_percent": [None, percent]})
    return round_


def rounds_of(contract: Contract) -> list[EvaluationRound]:
    return list(db.session.execute(sa.select(EvaluationRound).where(EvaluationRound.contract_id == contract.id)
                                   .order_by(EvaluationRound.scheduled_start, EvaluationRound.id)).scalars())


def update_schedule(actor, round_: EvaluationRound, *, title: str, scheduled_start: date, scheduled_end: date) -> None:
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("schedule", round_)
    if scheduled_end < scheduled_start:
        raise ValidationError(_("The evaluation ends before it starts."), "scheduled_end")
    before = {"title": round_.title, "scheduled_start": round_.scheduled_start, "scheduled_end": round_.scheduled_end}
    round_.title = _text(title, "title", _("Give the evaluation a title."), 200)
    round_.scheduled_start, round_.scheduled_end = scheduled_start, scheduled_end
    db.session.flush()
    after = {"title": round_.title, "scheduled_start": round_.scheduled_start, "scheduled_end": round_.scheduled_end}
    changes = {k: [jsonable(before[k]), jsonable(v)] for k, v in after.items() if before[k] != v}
    if changes:
        record("evaluation.updated", actor=actor, obj=round_, changes=changes)


def set_parties(actor, round_: EvaluationRound, rows: list[tuple[str, str]]) -> None:
    """Replace the scoring parties: (name, weight) pairs whose weights add up to 100. A party that
    still has evaluators keeps its place (matched by name)."""
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("set_parties", round_)
    cleaned: list[tuple[str, Decimal]] = []
    for number, (name, weight_text) in enumerate(rows, start=1):
        name, weight_text = (name or "").strip(), (weight_text or "").strip()
        if not name and not weight_text:
            continue
        if not name:
            raise ValidationError(_("Party %(n)d: give its name.", n=number), "parties")
        try:
            weight = Decimal(weight_text)
        except InvalidOperation:
            raise ValidationError(_("Party %(n)d: the weight is a number, e.g. 70.", n=number), "parties") from None
        if not weight.is_finite() or weight <= 0 or weight > 100 or weight != weight.quantize(Decimal("0.01")):
            raise ValidationError(_("Party %(n)d: the weight is above 0 and at most 100.", n=number), "parties")
        if any(existing == name for existing, _w in cleaned):
            raise ValidationError(_("Party %(n)d: the name %(name)s is used twice.", n=number, name=name), "parties")
        cleaned.append((name[:100], weight))
    if not cleaned:
        raise ValidationError(_("Name at least one scoring party."), "parties")
    total = sum((w for _n, w in cleaned), Decimal(0))
    if total != 100:
        raise ValidationError(_("The parties' weights add up to %(total)s, not 100.", total=points_text(total)),
                              "parties")
    kept = {p.name: p for p in round_.parties}
    removed = [p for name, p in kept.items() if name not in {n for n, _w in cleaned}]
    for party in removed:
        if any(e.party_id == party.id for e in round_.evaluators):
            raise DomainError(_("The party %(name)s still has evaluators; remove them first.", name=party.name))
    before = [[p.name, str(p.weight)] for p in round_.parties]
    for party in removed:
        round_.parties.remove(party)
    for position, (name, weight) in enumerate(cleaned):
        party = kept.get(name)
        if party is None:
            party = EvaluationParty(name=name)
            round_.parties.append(party)
        party.weight, party.position = weight, position
    round_.parties.sort(key=lambda p: p.position)
    db.session.flush()
    after = [[p.name, str(p.weight)] for p in round_.parties]
    if before != after:
        record("evaluation.parties_set", actor=actor, obj=round_, changes={"parties": [before, after]})


def assign_evaluator(actor, round_: EvaluationRound, user, party: EvaluationParty) -> RoundEvaluator:
    """Staff of the evaluated organization are refused; relations are declared by the evaluator."""
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("evaluators", round_)
    if party.round_id != round_.id:
        raise ValidationError(_("Choose one of this evaluation's parties."), "party")
    if user.role not in EVALUATOR_ROLES or not user.active:
        raise ValidationError(_("Only an active evaluator account can be assigned."), "user")
    if user.organization_id is not None and user.organization_id == round_.contract.organization_id:
        raise DomainError(_("%(name)s works for the evaluated organization and cannot evaluate its project.",
                            name=user.full_name or user.username))
    if any(e.user_id == user.id for e in round_.evaluators):
        raise DomainError(_("%(name)s is already an evaluator of this round.", name=user.full_name or user.username))
    member = RoundEvaluator(round=round_, party=party, user_id=user.id, assigned_at=clock.now(),
                            assigned_by_id=getattr(actor, "id", None))
    db.session.add(member)
    db.session.flush()
    record("evaluation.evaluator_assigned", actor=actor, obj=round_,
           changes={"evaluator": [None, user.username], "party": [None, party.name]})
    return member


def remove_evaluator(actor, member: RoundEvaluator) -> None:
    round_ = member.round
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("evaluators", round_)
    if member.submitted_at is not None:
        raise DomainError(_("%(name)s has submitted scores and stays on the round.",
                          name=member.user.full_name or member.user.username))
    username, party = member.user.username, member.party.name
    db.session.delete(member)
    db.session.flush()
    db.session.expire(round_, ["evaluators"])
    record("evaluation.evaluator_removed", actor=actor, obj=round_,
           changes={"evaluator": [username, None], "party": [party, None]})


def declare(actor, member: RoundEvaluator, *, related: bool, note: str = "") -> None:
    """The evaluator's conflict declaration: a relation with the evaluated organization (former
    staff, family, business ties) keeps them from scoring."""
    allow(actor, member.user_id == getattr(actor, "id", None))
    round_ = member.round
    ROUND.check("declare", round_)
    if member.declared_at is not None:
        raise DomainError(_("You have already made your declaration for this evaluation."))
    note = (note or "").strip()
    if related and not note:
        raise ValidationError(_("Describe the relation."), "note")
    member.declared_at = clock.now()
    member.declared_related = bool(related)
    member.declaration_note = note
    employer = member.user.organization_id
    member.conflicted = bool(related) or (employer is not None and employer == round_.contract.organization_id)
    db.session.flush()
    record("evaluation.evaluator_declared", actor=actor, obj=round_,
           changes={"evaluator": [None, member.user.username], "related": [None, bool(related)],
                    "conflicted": [None, member.conflicted]})


# --- surveys and evidence (before scoring opens) ------------------------------------------------


def satisfaction_leaves(round_: EvaluationRound):
    return [leaf for leaf in leaves_of(round_.template_version) if leaf.kind == LeafKind.SATISFACTION]


def add_survey(actor, round_: EvaluationRound, *, leaf_key: str, group_name: str, surveyed, satisfied,
               surveyed_on: date | None = None, note: str = "", file=None) -> SatisfactionSurvey:
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("surveys", round_)
    if leaf_key not in {leaf.key for leaf in satisfaction_leaves(round_)}:
        raise ValidationError(_("Choose the satisfaction indicator the survey feeds."), "leaf_key")
    group_name = _text(group_name, "group_name", _("Name the group of respondents."), 100)
    try:
        surveyed, satisfied = int(surveyed), int(satisfied)
    except (TypeError, ValueError):
        raise ValidationError(_("Give whole numbers of people."), "surveyed") from None
    if surveyed <= 0:
        raise ValidationError(_("At least one person must have been surveyed."), "surveyed")
    if not 0 <= satisfied <= surveyed:
        raise ValidationError(_("The satisfied cannot be more than the surveyed (%(n)d).", n=surveyed), "satisfied")
    if surveyed_on is not None and surveyed_on > today():
        raise ValidationError(_("The survey date is in the future."), "surveyed_on")
    survey = SatisfactionSurvey(round=round_, leaf_key=leaf_key, group_name=group_name, surveyed=surveyed,
                                satisfied=satisfied, surveyed_on=surveyed_on, note=(note or "").strip(),
                                file_id=file.id if file is not None else None, created_at=clock.now(),
                                created_by_id=getattr(actor, "id", None))
    db.session.add(survey)
    db.session.flush()
    record("evaluation.survey_added", actor=actor, obj=round_,
           changes={"leaf_key": [None, leaf_key], "group": [None, group_name], "surveyed": [None, surveyed],
                    "satisfied": [None, satisfied], "file_sha256": [None, file.sha256 if file is not None else None]})
    return survey


def remove_survey(actor, survey: SatisfactionSurvey) -> None:
    round_ = survey.round
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("surveys", round_)
    values = {"group": survey.group_name, "surveyed": survey.surveyed, "satisfied": survey.satisfied}
    db.session.delete(survey)
    db.session.flush()
    db.session.expire(round_, ["surveys"])
    record("evaluation.survey_removed", actor=actor, obj=round_, changes={k: [v, None] for k, v in values.items()})


def add_evidence(actor, round_: EvaluationRound, upload, title: str) -> EvaluationEvidence:
    allow(actor, perms.can_submit_evidence(actor, round_))
    ROUND.check("evidence", round_)
    title = (title or "").strip()
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationError(_("Choose a file to upload."), "file")
    stored = files.store(upload, purpose="evaluation_evidence", rule=EVIDENCE_RULE, actor=actor)
    item = EvaluationEvidence(round=round_, title=(title or stored.original_name)[:200], file_id=stored.id,
                              uploaded_at=clock.now(), uploaded_by_id=getattr(actor, "id", None))
    db.session.add(item)
    db.session.flush()
    record("evaluation.evidence_added", actor=actor, obj=round_,
           changes={"title": [None, item.title], "file": [None, stored.original_name], "sha256": [None, stored.sha256]})
    return item


# --- scoring ------------------------------------------------------------------------------------


def open_scoring(actor, round_: EvaluationRound) -> None:
    """Freeze the computed leaves (outputs from the logs, satisfaction from the surveys) and let
    the evaluators score."""
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("open", round_)
    if not round_.parties:
        raise DomainError(_("Name the scoring parties and their weights first."))
    empty = [p.name for p in round_.parties if not any(e.party_id == p.id for e in round_.evaluators)]
    if empty:
        raise DomainError(_("Assign at least one evaluator to each party: %(names)s.", names=", ".join(empty)))
    unsurveyed = [leaf.name for leaf in satisfaction_leaves(round_)
                  if not any(s.leaf_key == leaf.key for s in round_.surveys)]
    if unsurveyed:
        raise DomainError(_("Enter the satisfaction survey for: %(names)s.", names=", ".join(unsurveyed)))
    round_.computed = compute_leaves(round_)
    round_.opened_at = clock.now()
    _move(actor, round_, "open", computed={k: v["points"] for k, v in round_.computed.items()})


def _active_member(actor, member: RoundEvaluator) -> EvaluationRound:
    allow(actor, member.user_id == getattr(actor, "id", None))
    round_ = member.round
    ROUND.check("score", round_)
    if member.declared_at is None:
        raise DomainError(_("Make your conflict declaration before scoring."))
    if member.conflicted:
        raise DomainError(_("You declared a relation with the evaluated organization and cannot score it."))
    if member.submitted_at is not None:
        raise DomainError(_("You have submitted your scores; they can no longer change."))
    return round_


def scored_leaves(round_: EvaluationRound):
    return [leaf for leaf in leaves_of(round_.template_version) if leaf.kind == LeafKind.EVALUATOR]


def save_score(actor, member: RoundEvaluator, leaf_key: str, points, comment: str = "") -> EvaluationScore:
    round_ = _active_member(actor, member)
    leaf = next((leaf for leaf in scored_leaves(round_) if leaf.key == leaf_key), None)
    if leaf is None:
        raise DomainError(_("That indicator is not scored by evaluators."))
    text = (str(points) if points is not None else "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("Give %(name)s a number of points.", name=leaf.name), "points") from None
    if not value.is_finite() or not Decimal(0) <= value <= leaf.weight or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("Give %(name)s between 0 and %(max)s points.", name=leaf.name,
                                max=points_text(leaf.weight)), "points")
    score = next((s for s in member.scores if s.leaf_key == leaf_key), None)
    before = None if score is None else [str(score.points), score.comment]
    comment = (comment or "").strip()
    if score is None:
        score = EvaluationScore(evaluator_id=member.id, leaf_key=leaf_key, points=value, comment=comment,
                                updated_at=clock.now())
        member.scores.append(score)
    score.points, score.comment, score.updated_at = value, comment, clock.now()
    db.session.flush()
    if before != [str(value), comment]:
        # Not the points: the audit trail is read while scoring runs, and scores stay hidden
        # until the round is finalized (the finalized result keeps every score).
        record("evaluation.score_saved", actor=actor, obj=round_,
               changes={"evaluator": [None, member.user.username], "leaf": [None, leaf_key]})
    return score


def missing_scores(member: RoundEvaluator) -> list[str]:
    """Names of the leaves still without points or without a comment."""
    mine = {s.leaf_key: s for s in member.scores}
    return [leaf.name for leaf in scored_leaves(member.round)
            if leaf.key not in mine or not mine[leaf.key].comment]


def submit_scores(actor, member: RoundEvaluator) -> None:
    round_ = _active_member(actor, member)
    missing = missing_scores(member)
    if missing:
        raise DomainError(_("Give points and a comment for every indicator; still missing: %(names)s.",
                            names=", ".join(missing)))
    member.submitted_at = clock.now()
    db.session.flush()
    record("evaluation.evaluator_submitted", actor=actor, obj=round_,
           changes={"evaluator": [None, member.user.username]})


def scoring_members(round_: EvaluationRound) -> list[RoundEvaluator]:
    return [e for e in round_.evaluators if not e.conflicted]


def finalize(actor, round_: EvaluationRound) -> None:
    """Lock the round with its result: every evaluator without a conflict has submitted and each
    party has at least one submitted evaluator."""
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("finalize", round_)
    members = scoring_members(round_)
    undeclared = [e for e in members if e.declared_at is None]
    if undeclared:
        raise DomainError(_("Waiting for these evaluators' conflict declarations: %(names)s.",
                            names=", ".join(e.user.full_name or e.user.username for e in undeclared)))
    pending = [e for e in members if e.submitted_at is None]
    if pending:
        raise DomainError(_("Waiting for these evaluators' scores: %(names)s.",
                            names=", ".join(e.user.full_name or e.user.username for e in pending)))
    silent = [p.name for p in round_.parties if not any(e.party_id == p.id for e in members)]
    if silent:
        raise DomainError(_("No evaluator without a conflict scored for: %(names)s; assign another.",
                            names=", ".join(silent)))
    result = round_result(round_)
    round_.total, round_.grade = result.total, result.grade
    round_.result = {"total": str(result.total), "grade": result.grade,
                     "nodes": {k: str(v) for k, v in result.nodes.items()},
                     "by_party": {p: {k: str(v) for k, v in m.items()} for p, m in result.by_party.items()}}
    round_.finalized_at = clock.now()
    _move(actor, round_, "finalize", total=str(result.total), grade=result.grade)


def reopen(actor, round_: EvaluationRound, reason: str) -> None:
    """Only an administrator reopens a finalized round, with a reason; evaluators may then revise
    and submit again, and the result is recomputed when it is finalized anew."""
    allow(actor, perms.can_reopen_round(actor))
    ROUND.check("reopen", round_)
    reason = _text(reason, "reason", _("Give the reason for reopening the evaluation."))
    previous = {"total": str(round_.total), "grade": round_.grade}
    round_.total = round_.grade = None
    round_.result = {}
    round_.finalized_at = None
    for member in round_.evaluators:
        member.submitted_at = None
    _move(actor, round_, "reopen", reason=reason, previous=previous)


def cancel(actor, round_: EvaluationRound, reason: str) -> None:
    allow(actor, perms.can_manage_rounds(actor))
    ROUND.check("cancel", round_)
    reason = _text(reason, "reason", _("Give the reason for cancelling the evaluation."))
    _move(actor, round_, "cancel", reason=reason)


# --- findings and rectification -----------------------------------------------------------------


def add_finding(actor, round_: EvaluationRound, text: str) -> Finding:
    allow(actor, perms.can_add_findings(actor, round_))
    ROUND.check("findings", round_)
    finding = Finding(round=round_, text=_text(text, "text", _("Describe the finding.")),
                      created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(finding)
    db.session.flush()
    record("finding.added", actor=actor, obj=finding, changes={"round_id": [None, round_.id],
                                                                "text": [None, finding.text]})
    return finding


def add_item(actor, finding: Finding, *, action: str, owner: str, deadline: date) -> RectificationItem:
    round_ = finding.round
    allow(actor, perms.can_add_findings(actor, round_))
    ROUND.check("findings", round_)
    action = _text(action, "action", _("Say what must be rectified."))
    owner = _text(owner, "owner", _("Name who answers for the rectification."), 100)
    if deadline is None:
        raise ValidationError(_("Give a deadline."), "deadline")
    if deadline < today():
        raise ValidationError(_("The deadline has already passed."), "deadline")
    now = clock.now()
    item = RectificationItem(finding=finding, action=action, owner=owner, deadline=deadline,
                             status=ItemStatus.OPEN, status_changed_at=now, created_at=now,
                             created_by_id=getattr(actor, "id", None))
    db.session.add(item)
    db.session.flush()
    record("rectification.added", actor=actor, obj=item,
           changes={"round_id": [None, round_.id], "action": [None, action], "owner": [None, owner],
                    "deadline": [None, deadline.isoformat()]})
    return item


def _move_item(actor, item: RectificationItem, verb: str, note: str = "") -> None:
    """Through the item's one door, with the bureau's note (cleared by a response)."""
    item.status_note = note
    ITEM.move(actor, item, verb, changes={"note": [None, note]} if note else None)


def check_respondable(item: RectificationItem) -> None:
    if not ITEM.allows("respond", item):
        raise DomainError(_("This item is not waiting for a response."))


def respond(actor, item: RectificationItem, text: str, uploads: list) -> RectificationResponse:
    round_ = item.finding.round
    allow(actor, perms.can_respond_rectification(actor, round_))
    check_respondable(item)
    text = _text(text, "text", _("Say what was done."))
    response = RectificationResponse(item=item, text=text, created_at=clock.now(),
                                     created_by_id=getattr(actor, "id", None))
    db.session.add(response)
    db.session.flush()
    for upload in [u for u in uploads if u and getattr(u, "filename", "")]:
        stored = files.store(upload, purpose="rectification", rule=EVIDENCE_RULE, actor=actor)
        db.session.add(ResponseFile(response=response, file=stored))
    db.session.flush()
    _move_item(actor, item, "respond")
    return response


def close_item(actor, item: RectificationItem, note: str = "") -> None:
    allow(actor, perms.can_review_rectification(actor))
    if not ITEM.allows("close", item):
        raise DomainError(_("Only an item the organization has responded to can be closed."))
    _move_item(actor, item, "close", note=(note or "").strip())


def reopen_item(actor, item: RectificationItem, reason: str) -> None:
    """The bureau sends an item back: the response was not enough, or a closed item recurred."""
    allow(actor, perms.can_review_rectification(actor))
    if not ITEM.allows("reopen", item):
        raise DomainError(_("This item is already open."))
    reason = _text(reason, "reason", _("Say why the item is reopened."))
    _move_item(actor, item, "reopen", note=reason)
