"""What came of it, per street and community: the projects serving an area, the services delivered
in aggregates only, finalized evaluation results, and the needs residents raised with their status.

No figure about people is shown below `PUBLIC_MIN_CELL` (primary suppression), nor any figure from
which a withheld one could be worked out (secondary suppression, `protect`): a street's figure is the
sum of its communities', an area's total the sum of its projects' and of its kinds of service, so
a total with one withheld part would give that part away. The figures of every area are therefore
decided together, over the whole district, before any page shows one of them. Nothing names a
person, and each part is one grouped query, so a page costs the same number of statements however
many services, projects or needs the district has.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from ..contracts.models import PUBLIC_CONTRACT_STATUSES, Contract
from ..core import clock, versions
from ..delivery.models import ActivityType, ServiceActivity, activity_participant
from ..evaluations.models import EvaluationRound, RoundStatus, SatisfactionSurvey
from ..extensions import db
from ..procurement.models import CommunityNeed, NeedStatus, ProjectPlan, Tender, plan_community
from ..registry.models import Area, AreaLevel, Organization
from .models import PublicFigures


@dataclass(frozen=True)
class Cell:
    """A count as the public may see it: the number, or "withheld" when it is below the minimum
    (primary) or would let a withheld one be worked out (secondary). Both read the same, so a
    reader cannot tell a small count from a large one withheld to protect it."""

    value: int
    minimum: int
    withheld: bool = False

    @property
    def suppressed(self) -> bool:
        return self.withheld or 0 < self.value < self.minimum

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.value

    def __str__(self) -> str:
        return _("withheld") if self.suppressed else f"{self.value:,}"


def cell(value: int | None, withheld: bool = False) -> Cell:
    return Cell(int(value or 0), int(current_app.config["PUBLIC_MIN_CELL"]), withheld)


@dataclass
class Services:
    sessions: Cell
    person_times: Cell
    people: Cell


@dataclass(frozen=True)
class Round:
    """A finalized evaluation as the results page names it."""
    kind: str
    total: Decimal | None
    grade: str | None


@dataclass
class Project:
    contract: Any                            # a row of `_projects`: id, title, term, organization_name, category
    services: Services
    rounds: list[Round] = field(default_factory=list)
    satisfaction: Decimal | None = None      # percent, from finalized rounds' surveys of enough people
    surveyed: Cell | None = None


# --- secondary suppression ------------------------------------------------------------------------

# A figure's key: ("total", area id, None), ("project", area id, contract id), ("type", area id, kind).
Key = tuple
Group = tuple  # (total key, [part keys]): the total is the sum of the parts


def protect(values: dict[Key, int], groups: list[Group], minimum: int) -> set[Key]:
    """The keys to withhold: every count below `minimum` (and above 0), and then, group by group
    until nothing changes, whatever else keeps a withheld count from being worked out:

    - a shown total whose withheld parts are one alone, or add up so little that a reader who takes
      every other withheld part as 1 could tell one is below the minimum: the smallest shown
      non-zero part is withheld too (the total itself when no part is left);
    - a withheld total whose parts are all shown (it is their sum): its smallest non-zero part.

    Zeros are shown (they reveal no one) and never chosen. What it guarantees is said of each sum
    on its own: no total less its shown parts gives a withheld figure or pins it below the minimum.
    Several sums taken together (a system of equations) could narrow a withheld figure further;
    auditing that is a linear program per figure, which this heuristic (the one statistical offices
    apply by hand) does not run."""
    withheld = {k for k, v in values.items() if 0 < v < minimum}

    def smallest_shown(keys) -> Key | None:
        shown = [k for k in keys if k not in withheld and values.get(k, 0) > 0]
        return min(shown, key=lambda k: (values[k], repr(k))) if shown else None

    changed = True
    while changed:
        changed = False
        for total, parts in groups:
            hidden = [k for k in parts if k in withheld]
            if total in withheld:
                if hidden or values.get(total, 0) == 0:
                    continue
                extra = smallest_shown(parts)
            else:
                if not hidden:
                    continue
                slack = sum(values.get(k, 0) for k in hidden) - (len(hidden) - 1)
                small = any(0 < values.get(k, 0) < minimum for k in hidden)
                if len(hidden) >= 2 and (not small or slack >= minimum):
                    continue
                extra = smallest_shown(parts) or total
            if extra is not None and extra not in withheld:
                withheld.add(extra)
                changed = True
    return withheld


@dataclass
class Table:
    """Every published service figure of every area, each a Cell, decided together."""

    cells: dict[str, dict[Key, Cell]]   # measure -> key -> cell

    def services(self, kind: str, area_id: int, sub=None) -> Services:
        key = (kind, area_id, sub)
        return Services(*(self.cells[m].get(key) or cell(0) for m in ("sessions", "person_times", "people")))

    def by_type(self, area_id: int) -> list[tuple]:
        found = [(k[2], c) for k, c in self.cells["sessions"].items() if k[0] == "type" and k[1] == area_id]
        return sorted(found, key=lambda r: r[0].value)


def table() -> Table:
    """The district's figures with every withheld one decided, as last stored: one statement. Deciding
    them reads the whole service log, so it is done by a job (and `svcproc public refresh` from cron),
    never by the page: figures older than PUBLIC_FIGURES_CACHE_SECONDS are shown while a refresh is
    queued; only the very first page, with nothing stored yet, decides them itself. Every web host
    reads the same stored figures, and every page of one moment shows the same ones, never a mix.
    With PUBLIC_FIGURES_CACHE_SECONDS = 0 they are decided for each page."""
    from flask import g

    config = current_app.config
    minimum = int(config["PUBLIC_MIN_CELL"])
    if "public_figures" in g:
        return g.public_figures
    ttl = float(config.get("PUBLIC_FIGURES_CACHE_SECONDS") or 0)
    if ttl <= 0:
        g.public_figures = _build_table(minimum)
        return g.public_figures
    # When they were decided and the version of the stored figures, without the figures: a district's
    # are some ten thousand rows, read and made into cells once per version by each process and kept.
    stored = db.session.execute(
        sa.select(PublicFigures.computed_at, versions.column(FIGURES)).where(PublicFigures.minimum == minimum)
    ).one_or_none()
    if stored is None:
        g.public_figures = refresh(minimum)
        return g.public_figures
    computed_at, version = stored
    if clock.now() - computed_at > timedelta(seconds=ttl):
        _queue_refresh()
    g.public_figures = _kept_tables.get_at(version, minimum, lambda: _from_rows(db.session.execute(
        sa.select(PublicFigures.cells).where(PublicFigures.minimum == minimum)).scalar_one(), minimum))
    return g.public_figures


# The stored figures' version (core/versions.py): a refresh, on whatever host or job, gives them a
# new one as it commits.
FIGURES = "public_figures"
versions.watch(FIGURES, PublicFigures, versions.EVERY_COLUMN)
_kept_tables = versions.Kept(None, size=16)


def refresh(minimum: int | None = None) -> Table:
    """Decide the figures now and store them (the job, the command, the first page)."""
    minimum = int(current_app.config["PUBLIC_MIN_CELL"]) if minimum is None else minimum
    result = _build_table(minimum)
    rows = [[measure, kind, area_id, getattr(sub, "value", sub), found.value, found.withheld]
            for measure, cells in result.cells.items() for (kind, area_id, sub), found in cells.items()]
    stored = db.session.get(PublicFigures, minimum)
    if stored is None:
        stored = PublicFigures(minimum=minimum)
        db.session.add(stored)
    stored.computed_at, stored.cells = clock.now(), rows
    db.session.flush()
    return result


def _from_rows(rows: list, minimum: int) -> Table:
    cells: dict[str, dict[Key, Cell]] = {m: {} for m in ("sessions", "person_times", "people")}
    for measure, kind, area_id, sub, value, withheld in rows:
        if kind == "type":
            sub = ActivityType(sub)
        cells[measure][(kind, area_id, sub)] = Cell(int(value), minimum, bool(withheld))
    return Table(cells)


def _queue_refresh() -> None:
    """A refresh job, unless one is already waiting or running (several hosts may notice at once; a
    second job would only decide the same figures again)."""
    from ..core import jobs
    from .tasks import JOB_KIND

    since = clock.now() - jobs._timeout()
    waiting = db.session.execute(sa.select(jobs.Job.id).where(
        jobs.Job.kind == JOB_KIND, jobs.Job.status.in_([jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING]),
        jobs.Job.created_at > since).limit(1)).first()
    if waiting is None:
        jobs.start(JOB_KIND, {})


def _build_table(minimum: int) -> Table:
    A = ServiceActivity
    areas = db.session.execute(
        sa.select(Area.id, Area.level, Area.parent_id)
        .where(Area.level.in_([AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY]))).all()
    parent = {a.id: a.parent_id for a in areas}
    children: dict[int, list[int]] = defaultdict(list)
    for a in areas:
        if a.parent_id is not None and a.level != AreaLevel.DISTRICT:
            children[a.parent_id].append(a.id)

    def upward(area_id):
        """The community, its street and its district."""
        while area_id is not None:
            yield area_id
            area_id = parent.get(area_id)

    public = A.contract_id.in_(sa.select(Contract.id).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES)))
    values = {m: defaultdict(int) for m in ("sessions", "person_times", "people")}
    for community, contract, sessions, person_times in db.session.execute(
            sa.select(A.community_id, A.contract_id, sa.func.count(A.id),
                      sa.func.coalesce(sa.func.sum(A.participant_count + A.head_count), 0))
            .where(public).group_by(A.community_id, A.contract_id)).all():
        for area_id in upward(community):
            for key in (("total", area_id, None), ("project", area_id, contract)):
                values["sessions"][key] += sessions
                values["person_times"][key] += int(person_times)
    for community, kind, sessions in db.session.execute(
            sa.select(A.community_id, A.type, sa.func.count(A.id)).where(public)
            .group_by(A.community_id, A.type)).all():
        for area_id in upward(community):
            values["sessions"][("type", area_id, kind)] += sessions
    # Distinct people do not add up (one person may be served in two places or by two projects):
    # each level is counted on its own, per project and in all, in one statement; the groups below
    # still treat them as sums, which protects at least as much.
    people = sa.func.count(sa.distinct(activity_participant.c.beneficiary_id))
    community_area, street_area = aliased(Area), aliased(Area)
    base = (sa.select(people).select_from(A)
            .join(activity_participant, activity_participant.c.activity_id == A.id).where(public))
    in_street = base.join(community_area, community_area.id == A.community_id)
    in_district = in_street.join(street_area, street_area.id == community_area.parent_id)
    no_contract = sa.cast(sa.null(), sa.Integer)
    counts = []
    for area_column, stmt in ((A.community_id, base), (community_area.parent_id, in_street),
                              (street_area.parent_id, in_district)):
        counts.append(stmt.with_only_columns(area_column.label("area"), A.contract_id.label("contract"), people)
                      .group_by(area_column, A.contract_id))
        counts.append(stmt.with_only_columns(area_column.label("area"), no_contract.label("contract"), people)
                      .group_by(area_column))
    for area_id, contract, count in db.session.execute(sa.union_all(*counts)):
        if area_id is not None:
            values["people"][("total", area_id, None) if contract is None else ("project", area_id, contract)] = count
    cells = {}
    for measure, found in values.items():
        groups = _groups(found, children)
        withheld = protect(found, groups, minimum)
        cells[measure] = {k: Cell(int(v), minimum, k in withheld) for k, v in found.items()}
    return Table(cells)


def _groups(values: dict[Key, int], children: dict[int, list[int]]) -> list[Group]:
    """Every sum a reader could take: an area's figure over its children's (district over streets,
    street over communities), of each project and each kind of service alike; and each area's total
    over its projects and over its kinds of service."""
    subs: dict[tuple, set] = defaultdict(set)  # (kind, area) -> the projects / kinds it has
    for kind, area_id, sub in values:
        if kind != "total":
            subs[(kind, area_id)].add(sub)
    groups: list[Group] = []
    for area_id, kids in children.items():
        groups.append((("total", area_id, None), [("total", k, None) for k in kids]))
        for kind in ("project", "type"):
            for sub in subs.get((kind, area_id), ()):
                groups.append(((kind, area_id, sub), [(kind, k, sub) for k in kids]))
    for (kind, area_id), found in subs.items():
        groups.append((("total", area_id, None), [(kind, area_id, sub) for sub in sorted(found, key=repr)]))
    return groups


def communities_of(area: Area) -> sa.Select:
    """The ids of the communities an area covers: itself, a street's communities, a district's."""
    if area.level == AreaLevel.COMMUNITY:
        return sa.select(sa.literal(area.id))
    if area.level == AreaLevel.DISTRICT:
        streets = sa.select(Area.id).where(Area.parent_id == area.id, Area.level == AreaLevel.STREET)
        return sa.select(Area.id).where(Area.parent_id.in_(streets), Area.level == AreaLevel.COMMUNITY)
    return sa.select(Area.id).where(Area.parent_id == area.id, Area.level == AreaLevel.COMMUNITY)


def _projects(communities: sa.Select) -> sa.Select:
    """The projects serving the communities, newest first, as the columns the results page shows:
    a street lists hundreds and the district thousands, which as whole contracts with their
    organizations, tenders and plans took most of the page's time."""
    return (sa.select(Contract.id, Contract.title, Contract.start_date, Contract.end_date,
                      Organization.name.label("organization_name"), ProjectPlan.category)
            .join(Tender, Tender.id == Contract.tender_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
            .join(Organization, Organization.id == Contract.organization_id)
            .where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
                   Tender.plan_id.in_(sa.select(plan_community.c.plan_id)
                                      .where(plan_community.c.area_id.in_(communities))))
            .order_by(Contract.start_date.desc(), Contract.id.desc()))


def results(area: Area) -> dict:
    """Everything the area's public results page shows."""
    communities = communities_of(area)
    contracts = db.session.execute(_projects(communities)).all()
    contract_ids = [c.id for c in contracts]
    figures = table()
    rounds: dict[int, list[Round]] = {}
    satisfaction: dict[int, tuple[int, int]] = {}
    if contract_ids:
        # The finalized rounds' kinds, totals and grades (not their stored computations and results).
        R = EvaluationRound
        for contract_id, kind, total, grade in db.session.execute(
                sa.select(R.contract_id, R.kind, R.total, R.grade)
                .where(R.contract_id.in_(contract_ids), R.status == RoundStatus.FINALIZED)
                .order_by(R.finalized_at, R.id)):
            rounds.setdefault(contract_id, []).append(Round(kind, total, grade))
        for contract_id, surveyed, satisfied in db.session.execute(
                sa.select(EvaluationRound.contract_id, sa.func.sum(SatisfactionSurvey.surveyed),
                          sa.func.sum(SatisfactionSurvey.satisfied))
                .join(EvaluationRound, EvaluationRound.id == SatisfactionSurvey.round_id)
                .where(EvaluationRound.contract_id.in_(contract_ids), EvaluationRound.status == RoundStatus.FINALIZED)
                .group_by(EvaluationRound.contract_id)).all():
            satisfaction[contract_id] = (int(surveyed or 0), int(satisfied or 0))
    projects = []
    for c in contracts:
        surveyed, satisfied = satisfaction.get(c.id, (0, 0))
        surveyed_cell = cell(surveyed) if surveyed else None
        rate = (Decimal(satisfied * 100) / surveyed).quantize(Decimal("0.1")) \
            if surveyed and not surveyed_cell.suppressed else None
        projects.append(Project(contract=c, services=figures.services("project", area.id, c.id),
                                rounds=rounds.get(c.id, []), satisfaction=rate, surveyed=surveyed_cell))
    need_counts = dict(db.session.execute(
        sa.select(CommunityNeed.status, sa.func.count(CommunityNeed.id))
        .where(CommunityNeed.community_id.in_(communities)).group_by(CommunityNeed.status)).all())
    return {"projects": projects, "total": figures.services("total", area.id),
            "by_type": figures.by_type(area.id),
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
    figures = table() if contracts else None
    services = {c.id: figures.services("project", need.community_id, c.id) for c in contracts}
    return {"tenders": tenders, "contracts": contracts, "services": services}
