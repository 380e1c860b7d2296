"""The bureau's expert pool: each expert's categories, their ties to organizations, and the random
draw of a tender's panel from the pool (政府采购法实施条例 arts. 39, 9).

A draw is recorded in the audit trail with its seed and the pool it drew from, so anyone can replay
it (`replay_draw`) and see that the experts were not picked by hand.
"""
from __future__ import annotations

import random
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from ..accounts.models import User
from ..audit.services import record
from ..core import clock
from ..core.errors import DomainError, ValidationError
from ..core.permissions import Role
from ..core.workflow import allow
from ..extensions import db
from ..registry.models import Organization
from . import permissions as perms
from .models import AffiliationKind, BidStatus, ExpertAffiliation, ServiceCategory, Tender, TenderExpert, expert_category

DRAW_SOURCE = "《政府采购法实施条例》第三十九条"


def categories_of(user_id: int) -> list[ServiceCategory]:
    return [ServiceCategory(c) for c in db.session.execute(
        sa.select(expert_category.c.category).where(expert_category.c.user_id == user_id)
        .order_by(expert_category.c.category)).scalars()]


def set_categories(actor, expert: User, categories) -> None:
    """Replace the service categories an expert evaluates."""
    allow(actor, perms.can_manage_experts(actor))
    if expert.role != Role.EXPERT:
        raise ValidationError(_("Only bid evaluation experts have categories."), "categories")
    wanted = sorted({ServiceCategory(c).value for c in categories})
    before = [c.value for c in categories_of(expert.id)]
    if wanted == before:
        return
    db.session.execute(sa.delete(expert_category).where(expert_category.c.user_id == expert.id))
    if wanted:
        db.session.execute(sa.insert(expert_category), [{"user_id": expert.id, "category": c} for c in wanted])
    record("expert.categories_set", actor=actor, obj=expert, changes={"categories": [before, wanted]})


def add_affiliation(actor, expert: User, organization: Organization, kind, note: str = "") -> ExpertAffiliation:
    allow(actor, perms.can_manage_experts(actor))
    if expert.role != Role.EXPERT:
        raise ValidationError(_("Only bid evaluation experts are linked to organizations here."), "expert")
    kind = AffiliationKind(kind)
    exists = db.session.execute(sa.select(ExpertAffiliation.id).where(
        ExpertAffiliation.user_id == expert.id, ExpertAffiliation.organization_id == organization.id,
        ExpertAffiliation.kind == kind)).first()
    if exists:
        raise ValidationError(_("This tie is already recorded."), "organization")
    tie = ExpertAffiliation(user_id=expert.id, organization_id=organization.id, kind=kind,
                            note=(note or "").strip(), created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(tie)
    db.session.flush()
    record("expert.affiliation_added", actor=actor, obj=tie,
           changes={"expert": [None, expert.username], "organization": [None, organization.name],
                    "kind": [None, kind.value], "note": [None, tie.note]})
    return tie


def remove_affiliation(actor, tie: ExpertAffiliation) -> None:
    allow(actor, perms.can_manage_experts(actor))
    changes = {"expert": [tie.user.username, None], "organization": [tie.organization.name, None],
               "kind": [tie.kind.value, None]}
    record("expert.affiliation_removed", actor=actor, obj=tie, changes=changes)
    db.session.delete(tie)
    db.session.flush()


def tied_organization_ids(user: User) -> set[int]:
    """Organizations the expert works for or is tied to, by the bureau's record and the account."""
    ids = set(db.session.execute(sa.select(ExpertAffiliation.organization_id)
                                 .where(ExpertAffiliation.user_id == user.id)).scalars())
    if user.organization_id is not None:
        ids.add(user.organization_id)
    return ids


def _bidder_ids(tender: Tender) -> set[int]:
    # Known to the bureau only once the bids are opened (sealed bids): before, nobody is excluded.
    if tender.opened_at is None:
        return set()
    return {b.organization_id for b in tender.bids if b.status == BidStatus.SUBMITTED}


def pool(tender: Tender) -> list[int]:
    """Ids of the experts a draw for this tender may pick: active experts of the plan's category, not
    already on the panel (a withdrawn expert included), and, once the bidders are known, tied to none."""
    category = tender.plan.category
    stmt = (sa.select(User.id).join(expert_category, expert_category.c.user_id == User.id)
            .where(User.role == Role.EXPERT, User.active.is_(True), expert_category.c.category == category.value,
                   User.id.not_in(sa.select(TenderExpert.user_id).where(TenderExpert.tender_id == tender.id))))
    bidders = _bidder_ids(tender)
    if bidders:
        stmt = stmt.where(User.id.not_in(sa.select(ExpertAffiliation.user_id)
                                         .where(ExpertAffiliation.organization_id.in_(bidders))),
                          sa.or_(User.organization_id.is_(None), User.organization_id.not_in(bidders)))
    return sorted(db.session.execute(stmt).scalars())


def replay_draw(seed: int, pool_ids: list[int], count: int) -> list[int]:
    """The experts a draw with this seed picks from this pool (in the pool's sorted order)."""
    return random.Random(seed).sample(sorted(pool_ids), count)


def draw_experts(actor, tender: Tender, count: int, seed: int | None = None) -> list[TenderExpert]:
    """Draw `count` experts at random from the tender's pool onto its panel and record the draw."""
    from .workflow import assign_expert, check_tender

    allow(actor, perms.can_manage_tenders(actor))
    check_tender("manage_panel", tender)
    if count is None or count < 1:
        raise ValidationError(_("Say how many experts to draw."), "count")
    candidates = pool(tender)
    if len(candidates) < count:
        raise DomainError(_("The expert pool for %(category)s holds %(n)d expert(s) who can sit on this panel; "
                            "%(m)d are needed (%(source)s). Add experts of this category to the pool.",
                            category=_category_label(tender.plan.category), n=len(candidates), m=count,
                            source=DRAW_SOURCE))
    seed = secrets.randbits(63) if seed is None else int(seed)
    chosen = replay_draw(seed, candidates, count)
    members = [assign_expert(actor, tender, db.session.get(User, user_id)) for user_id in chosen]
    record("tender.experts_drawn", actor=actor, obj=tender,
           changes={"seed": [None, seed], "pool": [None, candidates], "drawn": [None, chosen],
                    "category": [None, tender.plan.category.value]})
    return members


def _category_label(category: ServiceCategory) -> str:
    from .labels import CATEGORY_LABELS

    return str(CATEGORY_LABELS[category])


def experts_of_pool() -> list[User]:
    return list(db.session.execute(sa.select(User).where(User.role == Role.EXPERT).order_by(User.username))
                .unique().scalars())
