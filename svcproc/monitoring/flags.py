"""Procurement red flags read from the record: each rule is one grouped query (a fixed number of
statements however many tenders there are), and `refresh` replaces the stored findings with what
the rules find now.

Why a job and not the writes: half the rules span many records (an organization's share of a
year's awards, repeated single-source awards, bidders sharing a contact across organizations) and
several turn true with no write at all (an award notice still unpublished two working days after
the award decision, a contract still unsigned 30 days after the award notice, an accepted
milestone still unpaid past the contract's payment term). A job that reads the whole record catches both, so
it runs daily (`svcproc flags refresh` from cron) and whenever an auditor asks for it from the desk;
no workflow pays for the rules on its way.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from ..contracts import deadlines
from ..contracts.models import Amendment, Contract, ContractStatus, Milestone, MilestoneStatus, Payment
from ..core import clock, versions, workdays
from ..delivery.models import ServiceActivity
from ..extensions import db
from ..procurement import rules
from ..procurement.models import Bid, BidStatus, ProjectPlan, Tender, TenderMethod, TenderStatus
from ..registry.models import Organization
from .models import FlagKind, ProcurementFlag

# The deadlines after the award (a late award notice, signature, contract notice or payment) are
# PROCUREMENT_DEADLINES, read through contracts/deadlines.py: the reminders and the flags hold one figure.
DEFAULTS = {
    "ceiling_ratio_percent": 98, "amendment_days": 30,
    "amendment_cap_percent": 10, "amendment_near_cap_percent": 9, "single_source_repeats": 2,
    "award_share_percent": 50, "award_share_min_awards": 3, "category_count": 3, "percent_apart_max": 10,
}

# The rule each kind applies and where it comes from, for the desk (labels.py words them).
CONTACT_FIELDS = ("address", "contact_phone", "contact_email", "contact_name")


def settings() -> dict:
    return {**DEFAULTS, **(current_app.config.get("PROCUREMENT_FLAGS") or {})}


@dataclass
class Finding:
    kind: FlagKind
    key: str
    tender_id: int | None = None
    contract_id: int | None = None
    organization_id: int | None = None
    fiscal_year: int | None = None
    figures: dict = field(default_factory=dict)


def _local_day(moment: datetime) -> date:
    return clock.to_local(moment).date()


def _today() -> date:
    return _local_day(clock.now())


def _percent(part: int, whole: int) -> str:
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)) if whole else "0"


# --- the tender's bids -------------------------------------------------------------------------

_SUBMITTED = Bid.status == BidStatus.SUBMITTED


def _single_valid_bid() -> list[Finding]:
    valid = sa.func.sum(sa.case((Bid.valid.is_(True), 1), else_=0))
    rows = db.session.execute(
        sa.select(Bid.tender_id, sa.func.count(Bid.id).label("bids"), valid.label("valid"))
        .join(Tender, Tender.id == Bid.tender_id)
        # A tender that failed for want of bids did what the law asks; one that went on did not.
        .where(_SUBMITTED, Tender.method != TenderMethod.SINGLE_SOURCE, Tender.opened_at.is_not(None),
               Tender.status.not_in((TenderStatus.FAILED, TenderStatus.CANCELLED)))
        .group_by(Bid.tender_id).having(valid == 1))
    return [Finding(FlagKind.SINGLE_VALID_BID, f"single_valid_bid:{r.tender_id}", tender_id=r.tender_id,
                    figures={"bids": r.bids, "valid": int(r.valid)}) for r in rows]


def _short_bidding_period() -> list[Finding]:
    """Tenders published with less time to bid than the method's minimum: the same rule
    (procurement/rules.py) publication refuses, read back from the record."""
    found = []
    rows = db.session.execute(
        sa.select(Tender.id, Tender.method, Tender.publish_at, Tender.bid_deadline)
        .where(Tender.publish_at.is_not(None), Tender.bid_deadline.is_not(None)))
    for r in rows:
        period = rules.min_bidding_period(r.method)
        if period is None:
            continue
        need, working = period
        start, end = _local_day(r.publish_at), _local_day(r.bid_deadline)
        if rules.bidding_period_problem(r.method, r.publish_at, r.bid_deadline) is None:
            continue
        had = workdays.working_days_between(start, end) if working else (end - start).days
        found.append(Finding(FlagKind.SHORT_BIDDING_PERIOD, f"short_bidding_period:{r.id}", tender_id=r.id,
                             figures={"method": r.method.value, "published": start.isoformat(),
                                      "deadline": end.isoformat(), "days": had, "minimum": need,
                                      "working_days": working}))
    return found


def _award_near_ceiling(s: dict) -> list[Finding]:
    rows = db.session.execute(
        sa.select(Tender.id, Tender.ceiling_fen, Bid.price_fen, Bid.organization_id)
        .join(Bid, Bid.id == Tender.awarded_bid_id)
        .where(Tender.ceiling_fen > 0, Bid.price_fen * 100 >= Tender.ceiling_fen * int(s["ceiling_ratio_percent"])))
    return [Finding(FlagKind.AWARD_NEAR_CEILING, f"award_near_ceiling:{r.id}", tender_id=r.id,
                    organization_id=r.organization_id,
                    figures={"price_fen": r.price_fen, "ceiling_fen": r.ceiling_fen,
                             "percent": _percent(r.price_fen, r.ceiling_fen),
                             "threshold": int(s["ceiling_ratio_percent"])}) for r in rows]


def _identical_prices() -> list[Finding]:
    rows = db.session.execute(
        sa.select(Bid.tender_id, Bid.price_fen, sa.func.count(Bid.id).label("bids"))
        .where(_SUBMITTED, Bid.price_fen.is_not(None))
        .group_by(Bid.tender_id, Bid.price_fen).having(sa.func.count(Bid.id) > 1)
        .order_by(Bid.tender_id, Bid.price_fen))
    by_tender: dict[int, list] = defaultdict(list)
    for r in rows:
        by_tender[r.tender_id].append({"price_fen": r.price_fen, "bids": r.bids})
    return [Finding(FlagKind.IDENTICAL_PRICES, f"identical_prices:{t}", tender_id=t, figures={"prices": prices})
            for t, prices in by_tender.items()]


def _prices_percent_apart(s: dict) -> list[Finding]:
    high, low = aliased(Bid), aliased(Bid)
    gap = high.price_fen - low.price_fen
    rows = db.session.execute(
        sa.select(high.tender_id, high.price_fen.label("high"), low.price_fen.label("low"))
        .join(low, sa.and_(low.tender_id == high.tender_id, low.id != high.id))
        .where(high.status == BidStatus.SUBMITTED, low.status == BidStatus.SUBMITTED,
               low.price_fen > 0, high.price_fen > low.price_fen,
               (gap * 100) % low.price_fen == 0, gap * 100 <= low.price_fen * int(s["percent_apart_max"]))
        .order_by(high.tender_id, low.price_fen, high.price_fen))
    by_tender: dict[int, list] = defaultdict(list)
    for r in rows:
        by_tender[r.tender_id].append({"low_fen": r.low, "high_fen": r.high,
                                       "percent": (r.high - r.low) * 100 // r.low})
    return [Finding(FlagKind.PRICES_PERCENT_APART, f"prices_percent_apart:{t}", tender_id=t, figures={"pairs": pairs})
            for t, pairs in by_tender.items()]


def _others_all_invalid() -> list[Finding]:
    others = sa.func.sum(sa.case((Bid.id != Tender.awarded_bid_id, 1), else_=0))
    invalid = sa.func.sum(sa.case((sa.and_(Bid.id != Tender.awarded_bid_id, Bid.valid.is_(False)), 1), else_=0))
    rows = db.session.execute(
        sa.select(Tender.id, others.label("others"), invalid.label("invalid"))
        .join(Bid, Bid.tender_id == Tender.id)
        .where(Tender.awarded_bid_id.is_not(None), _SUBMITTED)
        .group_by(Tender.id).having(sa.and_(others > 0, others == invalid)))
    return [Finding(FlagKind.OTHERS_ALL_INVALID, f"others_all_invalid:{r.id}", tender_id=r.id,
                    figures={"others": int(r.others), "invalid": int(r.invalid)}) for r in rows]


def _lowest_invalid() -> list[Finding]:
    lowest = (sa.select(Bid.tender_id, sa.func.min(Bid.price_fen).label("low"))
              .where(_SUBMITTED, Bid.price_fen.is_not(None)).group_by(Bid.tender_id).subquery())
    rows = db.session.execute(
        sa.select(Bid.tender_id, Bid.id, Bid.price_fen, Bid.invalid_reason, Organization.name)
        .join(lowest, sa.and_(lowest.c.tender_id == Bid.tender_id, lowest.c.low == Bid.price_fen))
        .join(Organization, Organization.id == Bid.organization_id)
        .where(_SUBMITTED, Bid.valid.is_(False)).order_by(Bid.tender_id, Bid.id))
    by_tender: dict[int, list] = defaultdict(list)
    for r in rows:
        by_tender[r.tender_id].append({"organization": r.name, "price_fen": r.price_fen, "reason": r.invalid_reason})
    return [Finding(FlagKind.LOWEST_INVALID, f"lowest_invalid:{t}", tender_id=t, figures={"bids": bids})
            for t, bids in by_tender.items()]


def _shared_contacts() -> list[Finding]:
    a, b = aliased(Bid), aliased(Bid)
    oa, ob = aliased(Organization), aliased(Organization)

    def same(column: str):
        left, right = sa.func.lower(sa.func.trim(getattr(oa, column))), sa.func.lower(sa.func.trim(getattr(ob, column)))
        return sa.and_(left != "", left == right)

    rows = db.session.execute(
        sa.select(a.tender_id, oa.name.label("first"), ob.name.label("second"),
                  *[sa.case((same(c), getattr(oa, c)), else_="").label(c) for c in CONTACT_FIELDS])
        .join(b, sa.and_(b.tender_id == a.tender_id, b.organization_id > a.organization_id))
        .join(oa, oa.id == a.organization_id).join(ob, ob.id == b.organization_id)
        .where(a.status == BidStatus.SUBMITTED, b.status == BidStatus.SUBMITTED,
               sa.or_(*[same(c) for c in CONTACT_FIELDS]))
        .order_by(a.tender_id, oa.name, ob.name))
    by_tender: dict[int, list] = defaultdict(list)
    for r in rows:
        shared = {c: getattr(r, c) for c in CONTACT_FIELDS if getattr(r, c)}
        by_tender[r.tender_id].append({"organizations": [r.first, r.second], "shared": shared})
    return [Finding(FlagKind.SHARED_CONTACT, f"shared_contact:{t}", tender_id=t, figures={"pairs": pairs})
            for t, pairs in by_tender.items()]


# --- awards across tenders ---------------------------------------------------------------------


def _awards_by_organization(s: dict) -> list[Finding]:
    """Repeated single-source awards, a large share of a year's awards, many service categories: one
    grouped query over the awarded tenders by fiscal year and winner."""
    single = sa.func.sum(sa.case((Tender.method == TenderMethod.SINGLE_SOURCE, 1), else_=0))
    rows = db.session.execute(
        sa.select(ProjectPlan.fiscal_year, Bid.organization_id, Organization.name,
                  sa.func.count(Tender.id).label("awards"), sa.func.sum(Bid.price_fen).label("amount"),
                  single.label("single_source"), sa.func.count(sa.distinct(ProjectPlan.category)).label("categories"),
                  sa.func.max(Tender.id).label("latest"),
                  sa.func.max(sa.case((Tender.method == TenderMethod.SINGLE_SOURCE, Tender.id))).label("latest_single"))
        .join(Bid, Bid.id == Tender.awarded_bid_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .join(Organization, Organization.id == Bid.organization_id)
        .group_by(ProjectPlan.fiscal_year, Bid.organization_id, Organization.name)).all()
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        totals[r.fiscal_year][0] += int(r.amount or 0)
        totals[r.fiscal_year][1] += r.awards
    found = []
    for r in rows:
        year_amount, year_awards = totals[r.fiscal_year]
        base = dict(organization_id=r.organization_id, fiscal_year=r.fiscal_year)
        if int(r.single_source) >= int(s["single_source_repeats"]):
            found.append(Finding(FlagKind.REPEATED_SINGLE_SOURCE,
                                 f"repeated_single_source:{r.fiscal_year}:{r.organization_id}",
                                 tender_id=r.latest_single, **base,
                                 figures={"organization": r.name, "single_source": int(r.single_source),
                                          "threshold": int(s["single_source_repeats"])}))
        amount = int(r.amount or 0)
        if (year_awards >= int(s["award_share_min_awards"]) and year_amount
                and amount * 100 >= year_amount * int(s["award_share_percent"])):
            found.append(Finding(FlagKind.LARGE_AWARD_SHARE, f"large_award_share:{r.fiscal_year}:{r.organization_id}",
                                 tender_id=r.latest, **base,
                                 figures={"organization": r.name, "amount_fen": amount, "year_amount_fen": year_amount,
                                          "percent": _percent(amount, year_amount), "awards": r.awards,
                                          "year_awards": year_awards, "threshold": int(s["award_share_percent"])}))
        if r.categories >= int(s["category_count"]):
            found.append(Finding(FlagKind.MANY_CATEGORIES, f"many_categories:{r.fiscal_year}:{r.organization_id}",
                                 tender_id=r.latest, **base,
                                 figures={"organization": r.name, "categories": r.categories,
                                          "threshold": int(s["category_count"])}))
    return found


# --- contracts ---------------------------------------------------------------------------------


def _late_award_notice() -> list[Finding]:
    """The award notice published more than the allowed working days after the award decision, or
    not yet published that long after it."""
    n, today, found = int(deadlines.settings()["award_notice_working_days"]), _today(), []
    rows = db.session.execute(
        sa.select(Tender.id, Tender.award_decided_at, Tender.publicity_starts_at, Tender.status)
        .where(Tender.award_decided_at.is_not(None),
               sa.or_(Tender.status == TenderStatus.AWARD_PROPOSED,
                      sa.and_(Tender.status.in_((TenderStatus.IN_PUBLICITY, TenderStatus.AWARDED)),
                              Tender.publicity_starts_at.is_not(None))))).all()
    ends = [_local_day(r.publicity_starts_at) for r in rows if r.status != TenderStatus.AWARD_PROPOSED]
    calendar = deadlines.calendar_for([_local_day(r.award_decided_at) for r in rows], "award_notice",
                                      until=max([today, *ends]))
    for r in rows:
        decided = _local_day(r.award_decided_at)
        published = _local_day(r.publicity_starts_at) if r.status != TenderStatus.AWARD_PROPOSED else None
        due = deadlines.award_notice_due(r.award_decided_at, calendar)
        if (published or today) <= due:
            continue
        found.append(Finding(FlagKind.LATE_AWARD_NOTICE, f"late_award_notice:{r.id}", tender_id=r.id,
                             figures={"decided": decided.isoformat(), "due": due.isoformat(),
                                      "published": published.isoformat() if published else None,
                                      "working_days": workdays.working_days_between(decided, published or today,
                                                                                    calendar),
                                      "limit": n}))
    return found


def _late_signature() -> list[Finding]:
    """Signed more than the allowed days after the award notice, or still unsigned that long after
    it (an awarded tender without a contract, or with a draft)."""
    limit, today, found = int(deadlines.settings()["signature_days"]), _today(), []
    rows = db.session.execute(
        sa.select(Tender.id, Tender.publicity_starts_at, Contract.id.label("contract_id"), Contract.signed_on)
        .outerjoin(Contract, Contract.tender_id == Tender.id)
        .where(Tender.publicity_starts_at.is_not(None),
               Tender.status.in_((TenderStatus.IN_PUBLICITY, TenderStatus.AWARDED)),
               # a draft terminated unsigned will not be signed: nothing is late any more
               sa.or_(Contract.id.is_(None), Contract.signed_on.is_not(None),
                      Contract.status != ContractStatus.TERMINATED)))
    for r in rows:
        noticed = _local_day(r.publicity_starts_at)
        days = ((r.signed_on or today) - noticed).days
        if days > limit:
            key = f"late_signature:{r.contract_id}" if r.contract_id else f"late_signature:tender:{r.id}"
            found.append(Finding(FlagKind.LATE_SIGNATURE, key, tender_id=r.id, contract_id=r.contract_id,
                                 figures={"noticed": noticed.isoformat(),
                                          "due": deadlines.signature_due(r.publicity_starts_at).isoformat(),
                                          "signed": r.signed_on.isoformat() if r.signed_on else None,
                                          "days": days, "limit": limit}))
    return found


def _late_contract_notice() -> list[Finding]:
    """The contract notice published (the signature recorded) more than the allowed working days
    after the signing date."""
    n, found = int(deadlines.settings()["contract_notice_working_days"]), []
    rows = db.session.execute(
        sa.select(Contract.id, Contract.tender_id, Contract.signed_on, Contract.notice_published_at)
        .where(Contract.signed_on.is_not(None), Contract.notice_published_at.is_not(None))).all()
    calendar = deadlines.calendar_for([r.signed_on for r in rows], "contract_notice",
                                      until=max((_local_day(r.notice_published_at) for r in rows), default=None))
    for r in rows:
        published = _local_day(r.notice_published_at)
        due = deadlines.contract_notice_due(r.signed_on, calendar)
        if published <= due:
            continue
        found.append(Finding(FlagKind.LATE_CONTRACT_NOTICE, f"late_contract_notice:{r.id}", tender_id=r.tender_id,
                             contract_id=r.id,
                             figures={"signed": r.signed_on.isoformat(), "due": due.isoformat(),
                                      "published": published.isoformat(),
                                      "working_days": workdays.working_days_between(r.signed_on, published,
                                                                                    calendar),
                                      "limit": n}))
    return found


def _service_before_signature() -> list[Finding]:
    rows = db.session.execute(
        sa.select(Contract.id, Contract.tender_id, Contract.signed_on,
                  sa.func.min(ServiceActivity.activity_date).label("first"),
                  sa.func.count(ServiceActivity.id).label("entries"))
        .join(ServiceActivity, ServiceActivity.contract_id == Contract.id)
        .where(sa.or_(Contract.signed_on.is_(None), ServiceActivity.activity_date < Contract.signed_on))
        .group_by(Contract.id, Contract.tender_id, Contract.signed_on))
    return [Finding(FlagKind.SERVICE_BEFORE_SIGNATURE, f"service_before_signature:{r.id}", tender_id=r.tender_id,
                    contract_id=r.id, figures={"first": r.first.isoformat(), "entries": r.entries,
                                               "signed": r.signed_on.isoformat() if r.signed_on else None})
            for r in rows]


def _unpaid_milestones() -> list[Finding]:
    """Accepted milestones paid (in full) later than the contract's payment term allows, or still
    unpaid past it: the term is the contract's own number of days (30 unless agreed, 60 at most)."""
    today = _today()
    paid_on = (sa.select(sa.func.max(Payment.paid_on)).where(Payment.milestone_id == Milestone.id)
               .scalar_subquery())
    due = deadlines.payment_due_day(Milestone.reviewed_at, Contract.payment_days)
    rows = db.session.execute(
        sa.select(Milestone.id, Milestone.title, Milestone.reviewed_at, Milestone.tranche_percent, Milestone.status,
                  paid_on.label("paid_on"), Contract.id.label("contract_id"), Contract.tender_id, Contract.amount_fen,
                  Contract.payment_days)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(Milestone.reviewed_at.is_not(None),
               sa.or_(sa.and_(Milestone.status == MilestoneStatus.ACCEPTED, due < today),
                      sa.and_(Milestone.status == MilestoneStatus.PAID, paid_on > due)))
        .order_by(Contract.id, Milestone.position))
    by_contract: dict[int, Finding] = {}
    for r in rows:
        accepted = _local_day(r.reviewed_at)
        paid = r.paid_on if r.status == MilestoneStatus.PAID else None
        finding = by_contract.setdefault(r.contract_id, Finding(
            FlagKind.UNPAID_MILESTONE, f"unpaid_milestone:{r.contract_id}", tender_id=r.tender_id,
            contract_id=r.contract_id, figures={"milestones": [], "limit": r.payment_days}))
        finding.figures["milestones"].append({
            "title": r.title, "accepted": accepted.isoformat(),
            "due": deadlines.payment_due(r.reviewed_at, r.payment_days).isoformat(),
            "paid": paid.isoformat() if paid else None, "days": ((paid or today) - accepted).days,
            "tranche_fen": int((Decimal(r.amount_fen) * r.tranche_percent / 100).quantize(Decimal(1), ROUND_HALF_UP))})
    return list(by_contract.values())


def _amendments(s: dict) -> list[Finding]:
    """Amendments soon after signing, and added amounts near the cap: one grouped query per contract."""
    days_limit, found = int(s["amendment_days"]), []
    near, cap = int(s["amendment_near_cap_percent"]), int(s["amendment_cap_percent"])
    rows = db.session.execute(
        sa.select(Contract.id, Contract.tender_id, Contract.signed_on, Contract.original_amount_fen,
                  sa.func.min(Amendment.amended_on).label("first"), sa.func.count(Amendment.id).label("amendments"),
                  sa.func.coalesce(sa.func.sum(Amendment.amount_added_fen), 0).label("added"))
        .join(Amendment, Amendment.contract_id == Contract.id)
        .group_by(Contract.id, Contract.tender_id, Contract.signed_on, Contract.original_amount_fen))
    for r in rows:
        if r.signed_on is not None and (r.first - r.signed_on).days <= days_limit:
            found.append(Finding(FlagKind.EARLY_AMENDMENT, f"early_amendment:{r.id}", tender_id=r.tender_id,
                                 contract_id=r.id,
                                 figures={"signed": r.signed_on.isoformat(), "amended": r.first.isoformat(),
                                          "days": (r.first - r.signed_on).days, "limit": days_limit}))
        added = int(r.added)
        if r.original_amount_fen and added * 100 >= r.original_amount_fen * near:
            found.append(Finding(FlagKind.AMENDMENT_NEAR_CAP, f"amendment_near_cap:{r.id}", tender_id=r.tender_id,
                                 contract_id=r.id,
                                 figures={"added_fen": added, "original_fen": r.original_amount_fen,
                                          "percent": _percent(added, r.original_amount_fen), "near": near, "cap": cap}))
    return found


def compute() -> list[Finding]:
    """Every rule, in a fixed number of statements (one per rule, one for the three award rules, and
    one read of the bureau's local days for each rule counting working days after the award)."""
    s = settings()
    return [*_single_valid_bid(), *_short_bidding_period(), *_award_near_ceiling(s), *_identical_prices(),
            *_prices_percent_apart(s), *_others_all_invalid(), *_lowest_invalid(), *_shared_contacts(),
            *_awards_by_organization(s), *_late_award_notice(), *_late_signature(), *_late_contract_notice(),
            *_service_before_signature(), *_unpaid_milestones(), *_amendments(s)]


def refresh() -> dict:
    """Replace the stored findings with the rules' answer now: a finding that still holds keeps its
    row and the day it was first found (its figures brought up to date); one that no longer holds is
    removed; new ones are added. The caller commits."""
    now = clock.now()
    findings = {f.key: f for f in compute()}
    stored = {row.key: row for row in db.session.execute(sa.select(ProcurementFlag)).scalars()}
    gone = [row.id for key, row in stored.items() if key not in findings]
    if gone:
        db.session.execute(sa.delete(ProcurementFlag).where(ProcurementFlag.id.in_(gone)))
        versions.rows_changed(db.session, ProcurementFlag)
    added = 0
    for key, f in findings.items():
        row = stored.get(key)
        if row is None:
            row = ProcurementFlag(key=key, kind=f.kind, found_at=now)
            db.session.add(row)
            added += 1
        row.tender_id, row.contract_id, row.organization_id = f.tender_id, f.contract_id, f.organization_id
        row.fiscal_year, row.figures, row.checked_at = f.fiscal_year, f.figures, now
    db.session.flush()
    return {"flags": len(findings), "added": added, "removed": len(gone)}
