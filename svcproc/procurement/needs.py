"""The "two-line" intake: residents' needs, their triage, and the project plans they feed."""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import created, diff, record, snapshot
from ..core import clock
from ..core.errors import DomainError, ValidationError
from ..core.workflow import StateMachine, Transition, register
from ..core.targets import TARGET_FIELDS
from ..extensions import db
from ..registry.models import Area, AreaLevel
from .models import CommunityNeed, NeedStatus, ProjectPlan, ServiceCategory

NEED_FIELDS = ("community_id", "category", "description", "status", "status_reason", "merged_into_id", "plan_id")
PLAN_FIELDS = ("fiscal_year", "title", "category", "budget_fen", "description") + TARGET_FIELDS
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def _receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


def submit_need(*, community: Area, category: ServiceCategory, description: str, contact_name: str = "",
                contact_phone: str = "") -> CommunityNeed:
    """A resident's or community worker's need, from the public form (no account)."""
    if community is None or community.level not in (AreaLevel.COMMUNITY, AreaLevel.GRID):
        raise ValidationError(_("Choose the community the need comes from."), "community_id")
    description = (description or "").strip()
    if len(description) < 10:
        raise ValidationError(_("Describe the need in at least 10 characters."), "description")
    now = clock.now()
    need = CommunityNeed(receipt_code=_receipt_code(), community_id=community.id, category=ServiceCategory(category),
                         description=description, contact_name=(contact_name or "").strip(),
                         contact_phone=(contact_phone or "").strip(), submitted_at=now, status=NeedStatus.SUBMITTED,
                         status_changed_at=now)
    db.session.add(need)
    db.session.flush()
    # The contact stays out of the trail: only that a need arrived, and where from.
    record("need.submitted", obj=need, actor_name="public",
           changes=created(need, ("community_id", "category", "receipt_code")))
    return need


def find_by_receipt(code: str) -> CommunityNeed | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    return db.session.execute(sa.select(CommunityNeed).where(CommunityNeed.receipt_code == code)).scalar_one_or_none()


def _need_labels():
    # The raw status, as residents' receipts and the bureau's messages have always named it.
    return {}


NEED = register(StateMachine("need", {
    "adopt": Transition({NeedStatus.SUBMITTED}, NeedStatus.ADOPTED, "need.adopted"),
    "decline": Transition({NeedStatus.SUBMITTED}, NeedStatus.DECLINED, "need.declined"),
    "address": Transition({NeedStatus.SUBMITTED, NeedStatus.ADOPTED}, NeedStatus.ADDRESSED, "need.addressed"),
    "merge": Transition({NeedStatus.SUBMITTED}, NeedStatus.MERGED, "need.merged"),
}, labels=_need_labels, refusal=_l("This need has already been dealt with (%(status)s)."), reason=None))


def _move(actor, need: CommunityNeed, verb: str, reason: str = "", **extra) -> None:
    """Through the need machine's door; the event also records the reason and links the same step set."""
    before = snapshot(need, NEED_FIELDS)
    need.status_reason = reason
    for key, value in extra.items():
        setattr(need, key, value)
    changes = {k: v for k, v in diff(before, snapshot(need, NEED_FIELDS)).items() if k != "status"}
    NEED.move(actor, need, verb, changes=changes)


def adopt_need(actor, need: CommunityNeed, plan: ProjectPlan | None = None) -> None:
    NEED.check("adopt", need)
    _move(actor, need, "adopt", plan_id=plan.id if plan else None)


def decline_need(actor, need: CommunityNeed, reason: str) -> None:
    NEED.check("decline", need)
    if not (reason or "").strip():
        raise ValidationError(_("Say why the need is declined; the resident sees the reason."), "reason")
    _move(actor, need, "decline", reason.strip())


def address_need(actor, need: CommunityNeed, note: str = "") -> None:
    if not NEED.allows("address", need):
        raise DomainError(_("Only a new or adopted need can be marked addressed."))
    _move(actor, need, "address", (note or "").strip())


def merge_need(actor, duplicate: CommunityNeed, into: CommunityNeed) -> None:
    """Mark a duplicate: it follows the need it was merged into."""
    NEED.check("merge", duplicate)
    if duplicate.id == into.id:
        raise ValidationError(_("A need cannot be merged into itself."), "into")
    if into.status == NeedStatus.MERGED:
        raise ValidationError(_("Merge into the surviving need, not into another duplicate."), "into")
    _move(actor, duplicate, "merge", _("Duplicate of need %(code)s", code=into.receipt_code), merged_into_id=into.id)


def effective_need(need: CommunityNeed) -> CommunityNeed:
    """The need whose progress a resident following a merged duplicate sees."""
    seen = set()
    while need.merged_into is not None and need.id not in seen:
        seen.add(need.id)
        need = need.merged_into
    return need


# --- plans ------------------------------------------------------------------------------------


def _check_plan(fiscal_year: int, title: str, budget_fen: int, targets: dict[str, int]) -> None:
    if not 2000 <= int(fiscal_year) <= 2100:
        raise ValidationError(_("Give a fiscal year such as 2026."), "fiscal_year")
    if not (title or "").strip():
        raise ValidationError(_("Give the plan a title."), "title")
    if budget_fen is None or budget_fen <= 0:
        raise ValidationError(_("The budget must be more than zero."), "budget")
    for name, value in targets.items():
        if value is None or value < 0:
            raise ValidationError(_("Targets cannot be negative."), name)
    if targets.get("target_satisfaction", 0) > 100:
        raise ValidationError(_("The satisfaction target is a percentage (0 to 100)."), "target_satisfaction")
    if targets.get("target_people", 0) > targets.get("target_person_times", 0) > 0:
        raise ValidationError(_("Distinct people cannot exceed person-times."), "target_people")


def _check_communities(communities: list[Area]) -> None:
    if not communities:
        raise ValidationError(_("Choose at least one community the project serves."), "communities")
    if any(c.level != AreaLevel.COMMUNITY for c in communities):
        raise ValidationError(_("Only communities can be served by a plan."), "communities")


def create_plan(actor, *, fiscal_year: int, title: str, category: ServiceCategory, budget_fen: int,
                description: str, communities: list[Area], needs: list[CommunityNeed],
                targets: dict[str, int]) -> ProjectPlan:
    _check_plan(fiscal_year, title, budget_fen, targets)
    _check_communities(communities)
    plan = ProjectPlan(fiscal_year=int(fiscal_year), title=title.strip(), category=ServiceCategory(category),
                       budget_fen=int(budget_fen), description=(description or "").strip(), created_at=clock.now(),
                       created_by_id=getattr(actor, "id", None), **{k: int(v) for k, v in targets.items()})
    plan.communities = list(communities)
    db.session.add(plan)
    db.session.flush()
    record("plan.created", actor=actor, obj=plan,
           changes={**created(plan, PLAN_FIELDS), "communities": [None, sorted(c.id for c in communities)]})
    for need in needs:
        link_need(actor, plan, need)
    return plan


def update_plan(actor, plan: ProjectPlan, *, fiscal_year: int, title: str, category: ServiceCategory,
                budget_fen: int, description: str, communities: list[Area], targets: dict[str, int]) -> ProjectPlan:
    _check_plan(fiscal_year, title, budget_fen, targets)
    _check_communities(communities)
    from .workflow import committed_ceilings

    committed = committed_ceilings(plan)
    if budget_fen < committed:
        raise ValidationError(_("The budget cannot fall below the ceilings of this plan's tenders (%(n)s fen).",
                                n=committed), "budget")
    before = snapshot(plan, PLAN_FIELDS)
    before_communities = sorted(c.id for c in plan.communities)
    plan.fiscal_year, plan.title, plan.category = int(fiscal_year), title.strip(), ServiceCategory(category)
    plan.budget_fen, plan.description = int(budget_fen), (description or "").strip()
    for key, value in targets.items():
        setattr(plan, key, int(value))
    plan.communities = list(communities)
    changes = diff(before, snapshot(plan, PLAN_FIELDS))
    after_communities = sorted(c.id for c in communities)
    if after_communities != before_communities:
        changes["communities"] = [before_communities, after_communities]
    if changes:
        db.session.flush()
        record("plan.updated", actor=actor, obj=plan, changes=changes)
    return plan


def link_need(actor, plan: ProjectPlan, need: CommunityNeed) -> None:
    """A need taken into a plan is adopted by it."""
    if need.plan_id == plan.id:
        return
    if need.status not in (NeedStatus.SUBMITTED, NeedStatus.ADOPTED):
        raise ValidationError(_("Need %(code)s is closed and cannot be linked.", code=need.receipt_code), "needs")
    if NEED.allows("adopt", need):
        _move(actor, need, "adopt", plan_id=plan.id)
    else:
        before = need.plan_id
        need.plan_id = plan.id
        db.session.flush()
        record("need.linked", actor=actor, obj=need, changes={"plan_id": [before, plan.id]})
