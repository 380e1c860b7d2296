"""The public notice board: every notice the bureau publishes, read from the records themselves.

A notice is not stored: it is a moment in a record's life that the law makes public --

- tender notice (招标公告): a tender from its publication (never a draft, nor a draft cancelled
  before publication);
- result notice (中标（成交）结果公告): a tender whose proposed award is in publicity or awarded;
- termination notice (废标/终止公告): a published tender cancelled, or failed for too few bids;
- contract notice (合同公告): a signed contract;
- correction notice (更正公告): an amendment of a signed contract.

One UNION of small selects gives (kind, record id, local day, plan) rows, filtered and paged in
the database, each select reading from its kind's day index only as deep as the page reaches
(`_statement`); the records of one page are then loaded in one query per kind, so a page costs the
same number of statements, and about the same time, whatever the number of notices.
"""
from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.expression import FunctionElement

from ..contracts.models import PUBLIC_CONTRACT_STATUSES, Amendment, Contract
from ..core import versions
from ..core.clock import LOCAL_TZ
from ..core.web import COUNT_CAP, Page
from ..extensions import db
from ..procurement.models import Bid, ProjectPlan, ServiceCategory, Tender, TenderStatus, plan_community
from ..registry.models import Area


class NoticeKind(str, enum.Enum):
    TENDER = "tender"
    CORRECTION = "correction"
    RESULT = "result"
    TERMINATION = "termination"
    CONTRACT = "contract"


NOTICE_KIND_LABELS = {
    NoticeKind.TENDER: _l("Tender notice"),
    NoticeKind.CORRECTION: _l("Correction notice"),
    NoticeKind.RESULT: _l("Award (result) notice"),
    NoticeKind.TERMINATION: _l("Termination notice"),
    NoticeKind.CONTRACT: _l("Contract notice"),
}

# Within a day, the later step of a procurement first.
_KIND_ORDER = {NoticeKind.CORRECTION: 0, NoticeKind.CONTRACT: 1, NoticeKind.RESULT: 2, NoticeKind.TERMINATION: 3,
               NoticeKind.TENDER: 4}


class local_day(FunctionElement):  # noqa: N801  (reads as the SQL function it renders)
    """The Asia/Shanghai calendar day of a naive-UTC timestamp column (UTC+8 all year)."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_day)
def _local_day_sqlite(element, compiler, **kw):
    return "date(%s, '+8 hours')" % compiler.process(element.clauses, **kw)


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw):
    return "CAST((%s + INTERVAL '8 hours') AS DATE)" % compiler.process(element.clauses, **kw)


def _row(kind: NoticeKind, ref, day, plan_id, order: int):
    return (sa.literal(kind.value, sa.String(16)).label("kind"), ref.label("ref_id"), day.label("day"),
            plan_id.label("plan_id"), sa.literal(order, sa.Integer).label("kind_order"))


def _published_tender():
    return sa.and_(Tender.publish_at.is_not(None), Tender.status != TenderStatus.DRAFT)


# The filters' values, bound: each combination of filters is one statement, made once (`_shaped`).
_SINCE_AT = sa.bindparam("since_at", type_=Tender.__table__.c.publish_at.type)
_UNTIL_AT = sa.bindparam("until_at", type_=Tender.__table__.c.publish_at.type)
_SINCE_DAY = sa.bindparam("since_day", type_=sa.Date())
_UNTIL_DAY = sa.bindparam("until_day", type_=sa.Date())
_AREA = sa.bindparam("area", type_=sa.Integer())
_CATEGORY = sa.bindparam("category", type_=ProjectPlan.__table__.c.category.type)
_DEEPEST = sa.bindparam("deepest", type_=sa.Integer())  # the page's last row, counted from 0
_PER_PAGE = sa.bindparam("per_page", type_=sa.Integer())
_SKIP = sa.bindparam("skip", type_=sa.Integer())


def _within(column, since: bool, until: bool, moment: bool) -> sa.ColumnElement[bool]:
    """The notice's day within [since, until] (when the filters name them), said of the column
    itself so its index serves it: a timestamp (UTC) from the local midnight starting `since` to the
    one ending `until` (`_params` works the moments out), or a day."""
    clauses = []
    if since:
        clauses.append(column >= (_SINCE_AT if moment else _SINCE_DAY))
    if until:
        clauses.append(column < _UNTIL_AT if moment else column <= _UNTIL_DAY)
    return sa.and_(sa.true(), *clauses)


def _selects(kinds: frozenset[NoticeKind], since: bool = False, until: bool = False
             ) -> list[tuple[sa.Select, Any, bool]]:
    """Each kind's select, with the column its day is read from and whether that is a moment (a
    timestamp) rather than a day."""
    selects = []
    if NoticeKind.TENDER in kinds:
        selects.append((sa.select(*_row(NoticeKind.TENDER, Tender.id, local_day(Tender.publish_at), Tender.plan_id,
                                       _KIND_ORDER[NoticeKind.TENDER]))
                       .where(_published_tender(), _within(Tender.publish_at, since, until, True)),
                        Tender.publish_at, True))
    if NoticeKind.RESULT in kinds:
        selects.append((sa.select(*_row(NoticeKind.RESULT, Tender.id, local_day(Tender.publicity_starts_at),
                                       Tender.plan_id, _KIND_ORDER[NoticeKind.RESULT]))
                       .where(Tender.status.in_([TenderStatus.IN_PUBLICITY, TenderStatus.AWARDED]),
                              Tender.publicity_starts_at.is_not(None),
                              _within(Tender.publicity_starts_at, since, until, True)),
                        Tender.publicity_starts_at, True))
    if NoticeKind.TERMINATION in kinds:
        selects.append((sa.select(*_row(NoticeKind.TERMINATION, Tender.id, local_day(Tender.status_changed_at),
                                       Tender.plan_id, _KIND_ORDER[NoticeKind.TERMINATION]))
                       .where(Tender.status.in_([TenderStatus.CANCELLED, TenderStatus.FAILED]),
                              Tender.publish_at.is_not(None), _within(Tender.status_changed_at, since, until, True)),
                        Tender.status_changed_at, True))
    if NoticeKind.CONTRACT in kinds:
        selects.append((sa.select(*_row(NoticeKind.CONTRACT, Contract.id, Contract.signed_on, Tender.plan_id,
                                       _KIND_ORDER[NoticeKind.CONTRACT]))
                       .join(Tender, Tender.id == Contract.tender_id)
                       .where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES), Contract.signed_on.is_not(None),
                              _within(Contract.signed_on, since, until, False)),
                        Contract.signed_on, False))
    if NoticeKind.CORRECTION in kinds:
        selects.append((sa.select(*_row(NoticeKind.CORRECTION, Amendment.id, Amendment.amended_on, Tender.plan_id,
                                       _KIND_ORDER[NoticeKind.CORRECTION]))
                       .join(Contract, Contract.id == Amendment.contract_id)
                       .join(Tender, Tender.id == Contract.tender_id)
                       .where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
                              _within(Amendment.amended_on, since, until, False)),
                        Amendment.amended_on, False))
    return selects


# The board's filters and its order, each served by an index (migration 5b8e3d1f0a27): a notice's
# day (each kind's own column, with the id for the order within a day), the service category of
# its plan and the communities its plan serves; the kinds go by the status indexes the records
# already have. Declared here, beside the query they serve.
BOARD_INDEXES = (
    sa.Index("ix_tender_publish_at", Tender.__table__.c.publish_at, Tender.__table__.c.id),
    sa.Index("ix_tender_publicity_starts_at", Tender.__table__.c.publicity_starts_at, Tender.__table__.c.id),
    sa.Index("ix_tender_status_changed_at", Tender.__table__.c.status_changed_at, Tender.__table__.c.id),
    sa.Index("ix_contract_signed_on", Contract.__table__.c.signed_on, Contract.__table__.c.id),
    sa.Index("ix_contract_amendment_amended_on", Amendment.__table__.c.amended_on, Amendment.__table__.c.id),
    sa.Index("ix_project_plan_category", ProjectPlan.__table__.c.category),
    sa.Index("ix_plan_community_area", plan_community.c.area_id, plan_community.c.plan_id),
)


@dataclass
class Filters:
    kinds: set[NoticeKind]
    area: Area | None = None
    category: ServiceCategory | None = None
    since: date | None = None
    until: date | None = None
    open_only: bool = False      # tender notices of tenders still open for bids


@dataclass
class Notice:
    kind: NoticeKind
    day: date
    record: Any                  # Tender, Contract or Amendment

    @property
    def label(self):
        return NOTICE_KIND_LABELS[self.kind]

    @property
    def tender(self) -> Tender:
        if self.kind in (NoticeKind.TENDER, NoticeKind.RESULT, NoticeKind.TERMINATION):
            return self.record
        if self.kind == NoticeKind.CONTRACT:
            return self.record.tender
        return self.record.contract.tender

    @property
    def title(self) -> str:
        if self.kind == NoticeKind.CORRECTION:
            return self.record.contract.title
        return self.record.title

    @property
    def number(self) -> str:
        if self.kind == NoticeKind.CORRECTION:
            return f"{self.record.contract.number}-{self.record.number}"
        return self.record.number

    @property
    def key(self) -> str:
        return f"{self.kind.value}-{self.record.id}"


def _shape(filters: Filters, deep: bool) -> tuple:
    """Which filters are set (not their values): what the statement's text depends on."""
    return (frozenset(filters.kinds), filters.since is not None, filters.until is not None, filters.area is not None,
            filters.category is not None, filters.open_only, deep)


def _params(filters: Filters, depth: int | None = None) -> dict[str, Any]:
    """The values the statement of `_shape(filters, …)` binds."""
    def midnight(day):
        return datetime.combine(day, time(0), LOCAL_TZ).astimezone(timezone.utc)

    params: dict[str, Any] = {}
    if filters.since is not None:
        params.update(since_at=midnight(filters.since), since_day=filters.since)
    if filters.until is not None:
        params.update(until_at=midnight(filters.until + timedelta(days=1)), until_day=filters.until)
    if filters.area is not None:
        params["area"] = filters.area.id
    if filters.category is not None:
        params["category"] = filters.category
    if depth is not None:
        params["deepest"] = depth - 1
    return params


def _statement(filters: Filters, depth: int | None = None) -> sa.Select:
    """The notices the filters pick, newest day first (bound with `_params(filters, depth)`)."""
    return _shaped(_shape(filters, depth is not None))


@functools.lru_cache(maxsize=256)
def _shaped(shape: tuple) -> sa.Select:
    """The notices of one combination of filters, newest day first: made once, where building it
    took longer than the database took to run it. When deep, only as many rows of each kind as the
    first `deepest + 1` notices can hold: each kind's rows from the day of its own that-many-th
    newest on (a day is read from its kind's index, so a page reads a few rows of each kind, not
    every notice of every year). Every notice among the first ones is among them: a kind's rows
    before that day all come after its that-many-th newest."""
    kinds, since, until, area, category, open_only, deep = shape
    branches = _selects(kinds, since, until)
    if not branches:
        branches = [(sa.select(*_row(NoticeKind.TENDER, Tender.id, local_day(Tender.publish_at), Tender.plan_id, 0))
                     .where(sa.false()), Tender.publish_at, True)]
    plans = None
    if category:
        plans = sa.select(ProjectPlan.id).where(ProjectPlan.category == _CATEGORY)
    if area:
        served = (sa.select(plan_community.c.plan_id).join(Area, Area.id == plan_community.c.area_id)
                  .where(sa.or_(Area.id == _AREA, Area.parent_id == _AREA)))
        plans = served if plans is None else plans.where(ProjectPlan.id.in_(served))
    selects = []
    for select, column, moment in branches:
        if open_only:
            select = select.where(Tender.status == TenderStatus.PUBLISHED)
        if plans is not None:
            select = select.where(Tender.plan_id.in_(plans))  # every kind's select reads its tender
        if deep:
            deepest = (select.with_only_columns(column).order_by(column.desc()).offset(_DEEPEST).limit(1)
                       .correlate(None).scalar_subquery())
            # A moment a day before the deepest one still falls on that day or later: from there on.
            select = select.where(column >= (sa.func.coalesce(_day_before(deepest), _EARLIEST_MOMENT) if moment
                                             else sa.func.coalesce(deepest, _EARLIEST_DAY)))
        selects.append(select)
    rows = (sa.union_all(*selects) if len(selects) > 1 else selects[0]).subquery("notice")
    stmt = sa.select(rows.c.kind, rows.c.ref_id, rows.c.day)
    return stmt.order_by(rows.c.day.desc(), rows.c.kind_order, rows.c.ref_id.desc())


@functools.lru_cache(maxsize=256)
def _first(shape: tuple) -> sa.Select:
    """The first `per_page` notices after `skip`, of a deep shape."""
    return _shaped(shape).limit(_PER_PAGE).offset(_SKIP)


@functools.lru_cache(maxsize=256)
def _counted(shape: tuple, watched: tuple[str, ...] | None) -> sa.Select:
    """How many notices (capped), with the versions of `watched` when a request needs them read."""
    counted = _shaped(shape).order_by(None).limit(COUNT_CAP + 1).subquery()
    stmt = sa.select(sa.func.count()).select_from(counted)
    return stmt.add_columns(*versions.columns()) if watched is not None else stmt


_EARLIEST_MOMENT = sa.literal(datetime(1, 1, 1), sa.DateTime)
_EARLIEST_DAY = sa.literal(date(1, 1, 1), sa.Date)


class _day_before(FunctionElement):  # noqa: N801  (reads as the SQL it renders)
    """A naive timestamp one day earlier."""

    type = sa.DateTime()
    inherit_cache = True


@compiles(_day_before)
def _day_before_sqlite(element, compiler, **kw):
    return "datetime(%s, '-1 day')" % compiler.process(element.clauses, **kw)


@compiles(_day_before, "postgresql")
def _day_before_postgresql(element, compiler, **kw):
    return "(%s - INTERVAL '1 day')" % compiler.process(element.clauses, **kw)


_IDS = sa.bindparam("ids", expanding=True)


@functools.cache
def _records() -> dict[str, sa.Select]:
    """The records of a page's notices, one statement per kind (made once, when first needed: the
    loading options need every model mapped)."""
    return {
        "tenders": sa.select(Tender).where(Tender.id.in_(_IDS)).options(
            joinedload(Tender.plan), joinedload(Tender.awarded_bid).joinedload(Bid.organization),
            joinedload(Tender.proposed_bid).joinedload(Bid.organization)),
        "contracts": sa.select(Contract).where(Contract.id.in_(_IDS)).options(
            joinedload(Contract.organization), joinedload(Contract.tender)),
        "amendments": sa.select(Amendment).where(Amendment.id.in_(_IDS)).options(
            joinedload(Amendment.contract).joinedload(Contract.organization),
            joinedload(Amendment.contract).joinedload(Contract.tender)),
    }


def _load(rows) -> list[Notice]:
    """The records of the rows, one query per kind present, in the rows' order."""
    wanted: dict[NoticeKind, set[int]] = {}
    for kind, ref, _day in rows:
        wanted.setdefault(NoticeKind(kind), set()).add(ref)
    loaded: dict[tuple[NoticeKind, int], Any] = {}
    tender_ids = set().union(*(wanted.get(k, set()) for k in (NoticeKind.TENDER, NoticeKind.RESULT,
                                                               NoticeKind.TERMINATION)))
    if tender_ids:
        for t in db.session.execute(_records()["tenders"], {"ids": sorted(tender_ids)}).unique().scalars():
            for kind in (NoticeKind.TENDER, NoticeKind.RESULT, NoticeKind.TERMINATION):
                loaded[(kind, t.id)] = t
    if wanted.get(NoticeKind.CONTRACT):
        ids = sorted(wanted[NoticeKind.CONTRACT])
        for c in db.session.execute(_records()["contracts"], {"ids": ids}).unique().scalars():
            loaded[(NoticeKind.CONTRACT, c.id)] = c
    if wanted.get(NoticeKind.CORRECTION):
        ids = sorted(wanted[NoticeKind.CORRECTION])
        for a in db.session.execute(_records()["amendments"], {"ids": ids}).unique().scalars():
            loaded[(NoticeKind.CORRECTION, a.id)] = a
    return [Notice(NoticeKind(kind), day, loaded[(NoticeKind(kind), ref)]) for kind, ref, day in rows
            if (NoticeKind(kind), ref) in loaded]


def notices_page(filters: Filters, page_number: int, per_page: int | None = None) -> Page:
    """One page of notices: a capped count, one page of rows, the records of the page."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    # A visitor's request has read no versions (no account): they come with the count, so what the
    # page keeps per version (the filter's areas) is kept for visitors too.
    read_versions = not versions.read_in_request()
    watched = tuple(sorted(versions.WATCHED)) if read_versions else None
    found = db.session.execute(_counted(_shape(filters, False), watched), _params(filters)).one()
    if read_versions:
        versions.remember(found[1:])
    total = found[0]
    capped, total = total > COUNT_CAP, min(total, COUNT_CAP)
    pages = max(1, math.ceil(total / per_page))
    page_number = min(max(1, page_number), pages)
    rows = db.session.execute(_first(_shape(filters, True)), {
        **_params(filters, depth=page_number * per_page), "per_page": per_page,
        "skip": (page_number - 1) * per_page}).all()
    return Page(items=_load(rows), page=page_number, per_page=per_page, total=total, capped=capped)


def recent(limit: int = 10, filters: Filters | None = None) -> list[Notice]:
    filters = filters or Filters(kinds=set(NoticeKind))
    rows = db.session.execute(_first(_shape(filters, True)),
                              {**_params(filters, depth=limit), "per_page": limit, "skip": 0}).all()
    return _load(rows)


def open_calls(limit: int = 5) -> list[Tender]:
    """Tenders open for bids, the nearest deadline first."""
    return db.session.execute(
        sa.select(Tender).where(Tender.status == TenderStatus.PUBLISHED, Tender.publish_at.is_not(None))
        .options(joinedload(Tender.plan)).order_by(Tender.bid_deadline, Tender.id).limit(limit)).unique().scalars().all()
