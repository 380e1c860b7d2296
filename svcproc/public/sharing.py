"""What came of it, per street and community: the projects serving an area, the services delivered
in aggregates only, finalized evaluation results, and the needs residents raised with their status.

No figure about people is shown below `PUBLIC_MIN_CELL` (a smaller one is a `Cell` that reads
"<10"), nothing names a person, and each part is one grouped query, so the page costs the same
number of statements however many services, projects or needs the area has.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..contracts.models import PUBLIC_CONTRACT_STATUSES, Contract
from ..delivery.models import ServiceActivity, activity_participant
from ..evaluations.models import EvaluationRound, RoundStatus, SatisfactionSurvey
from ..extensions import db
from ..procurement.models import CommunityNeed, NeedStatus, ProjectPlan, Tender, plan_community
from ..registry.models import Area, AreaLevel


@dataclass(frozen=True)
class Cell:
    """A count as the public may see it: the number, or "<minimum" when it is smaller."""

    value: int
    minimum: int

    @property
    def suppressed(self) -> bool:
        return 0 < self.value < self.minimum

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.value

    def __str__(self) -> str:
        return f"<{self.minimum}" if self.suppressed else f"{self.value:,}"


def cell(value: int | None) -> Cell:
    return Cell(int(value or 0), int(current_app.config["PUBLIC_MIN_CELL"]))


@dataclass
class Services:
    sessions: Cell
    person_times: Cell
    people: Cell


@dataclass
class Project:
    contract: Contract
    services: Services
    rounds: list[EvaluationRound] = field(default_factory=list)
    satisfaction: Decimal | None = None      # percent, from finalized rounds' surveys of enough people
    surveyed: Cell | None = None


def communities_of(area: Area) -> sa.Select:
    """The ids of the communities an area covers: itself, a street's communities, a district's."""
    if area.level == AreaLevel.COMMUNITY:
        return sa.select(sa.literal(area.id))
    if area.level == AreaLevel.DISTRICT:
        streets = sa.select(Area.id).where(Area.parent_id == area.id, Area.level == AreaLevel.STREET)
        return sa.select(Area.id).where(Area.parent_id.in_(streets), Area.level == AreaLevel.COMMUNITY)
    return sa.select(Area.id).where(Area.parent_id == area.id, Area.level == AreaLevel.COMMUNITY)


def _services(where) -> dict:
    """{contract id (or None for the whole area): [sessions, person-times, distinct people]} in three queries."""
    figures: dict = {}
    by_contract = db.session.execute(
        sa.select(ServiceActivity.contract_id, sa.func.count(ServiceActivity.id),
                  sa.func.coalesce(sa.func.sum(ServiceActivity.participant_count + ServiceActivity.head_count), 0))
        .where(*where).group_by(ServiceActivity.contract_id)).all()
    for contract_id, sessions, person_times in by_contract:
        figures[contract_id] = [sessions, int(person_times), 0]
    people = sa.func.count(sa.distinct(activity_participant.c.beneficiary_id))
    joined = sa.select(ServiceActivity.contract_id, people).join(
        activity_participant, activity_participant.c.activity_id == ServiceActivity.id).where(*where)
    rows = db.session.execute(joined.group_by(ServiceActivity.contract_id)).all()
    # The same person served by two projects is one person of the area.
    rows.append((None, db.session.execute(joined.with_only_columns(people)).scalar_one()))
    for contract_id, count in rows:
        figures.setdefault(contract_id, [0, 0, 0])[2] = count
    total = figures.setdefault(None, [0, 0, 0])
    total[0] = sum(v[0] for k, v in figures.items() if k is not None)
    total[1] = sum(v[1] for k, v in figures.items() if k is not None)
    return figures


def results(area: Area) -> dict:
    """Everything the area's public results page shows."""
    communities = communities_of(area)
    contracts = db.session.execute(
        sa.select(Contract).join(Tender, Tender.id == Contract.tender_id)
        .where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
               Tender.plan_id.in_(sa.select(plan_community.c.plan_id).where(plan_community.c.area_id.in_(communities))))
        .options(joinedload(Contract.organization), joinedload(Contract.tender).joinedload(Tender.plan))
        .order_by(Contract.start_date.desc(), Contract.id.desc())).unique().scalars().all()
    contract_ids = [c.id for c in contracts]
    where = (ServiceActivity.community_id.in_(communities),
             ServiceActivity.contract_id.in_(sa.select(Contract.id).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES))))
    figures = _services(where)
    rounds: dict[int, list[EvaluationRound]] = {}
    satisfaction: dict[int, tuple[int, int]] = {}
    if contract_ids:
        for r in db.session.execute(
                sa.select(EvaluationRound).where(EvaluationRound.contract_id.in_(contract_ids),
                                                 EvaluationRound.status == RoundStatus.FINALIZED)
                .order_by(EvaluationRound.finalized_at, EvaluationRound.id)).scalars():
            rounds.setdefault(r.contract_id, []).append(r)
        for contract_id, surveyed, satisfied in db.session.execute(
                sa.select(EvaluationRound.contract_id, sa.func.sum(SatisfactionSurvey.surveyed),
                          sa.func.sum(SatisfactionSurvey.satisfied))
                .join(EvaluationRound, EvaluationRound.id == SatisfactionSurvey.round_id)
                .where(EvaluationRound.contract_id.in_(contract_ids), EvaluationRound.status == RoundStatus.FINALIZED)
                .group_by(EvaluationRound.contract_id)).all():
            satisfaction[contract_id] = (int(surveyed or 0), int(satisfied or 0))
    projects = []
    for c in contracts:
        s = figures.get(c.id, [0, 0, 0])
        surveyed, satisfied = satisfaction.get(c.id, (0, 0))
        surveyed_cell = cell(surveyed) if surveyed else None
        rate = (Decimal(satisfied * 100) / surveyed).quantize(Decimal("0.1")) \
            if surveyed and not surveyed_cell.suppressed else None
        projects.append(Project(contract=c, services=Services(cell(s[0]), cell(s[1]), cell(s[2])),
                                rounds=rounds.get(c.id, []), satisfaction=rate, surveyed=surveyed_cell))
    t = figures[None]
    by_type = db.session.execute(
        sa.select(ServiceActivity.type, sa.func.count(ServiceActivity.id)).where(*where)
        .group_by(ServiceActivity.type)).all()
    need_counts = dict(db.session.execute(
        sa.select(CommunityNeed.status, sa.func.count(CommunityNeed.id))
        .where(CommunityNeed.community_id.in_(communities)).group_by(CommunityNeed.status)).all())
    return {"projects": projects, "total": Services(cell(t[0]), cell(t[1]), cell(t[2])),
            "by_type": [(kind, cell(n)) for kind, n in sorted(by_type, key=lambda r: r[0].value)],
            "need_counts": {status: need_counts.get(status, 0) for status in NeedStatus}}


def needs_statement(area: Area) -> sa.Select:
    """The needs raised in the area, newest first, with the plan that answered each (paged by the view)."""
    return (sa.select(CommunityNeed).where(CommunityNeed.community_id.in_(communities_of(area)))
            .options(joinedload(CommunityNeed.community), joinedload(CommunityNeed.plan))
            .order_by(CommunityNeed.submitted_at.desc(), CommunityNeed.id.desc()))


def need_trace(need: CommunityNeed) -> dict:
    """From a need to the plan, its tenders, the contracts and the services that answered it (aggregates)."""
    plan: ProjectPlan | None = need.plan
    if plan is None:
        return {"tenders": [], "contracts": [], "services": {}}
    tenders = db.session.execute(
        sa.select(Tender).where(Tender.plan_id == plan.id, Tender.publish_at.is_not(None))
        .order_by(Tender.id)).scalars().all()
    contracts = db.session.execute(
        sa.select(Contract).join(Tender, Tender.id == Contract.tender_id)
        .where(Tender.plan_id == plan.id, Contract.status.in_(PUBLIC_CONTRACT_STATUSES))
        .options(joinedload(Contract.organization)).order_by(Contract.id)).unique().scalars().all()
    services = {}
    if contracts:
        figures = _services((ServiceActivity.contract_id.in_([c.id for c in contracts]),
                             ServiceActivity.community_id == need.community_id))
        services = {c.id: Services(*(cell(v) for v in figures.get(c.id, [0, 0, 0]))) for c in contracts}
    return {"tenders": tenders, "contracts": contracts, "services": services}
