"""A planted world: records inserted as they would stand after the workflows, each tender or contract
breaking one procurement rule when `planted`, and keeping it by the smallest margin otherwise."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from svcproc.contracts.models import Amendment, Contract, ContractStatus, Milestone, MilestoneStatus
from svcproc.core.permissions import Role
from svcproc.delivery.models import ActivityType, ServiceActivity
from svcproc.extensions import db
from svcproc.procurement.models import (Bid, BidStatus, ProjectPlan, ServiceCategory, Tender, TenderMethod,
                                        TenderStatus)
from tests.builders.accounts import UserFactory
from tests.builders.registry import CommunityFactory, OrganizationFactory

NOW = datetime(2025, 6, 16, 2, 0, tzinfo=timezone.utc)          # 10:00 in Shanghai
PUBLISHED = datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc)
DEADLINE = datetime(2025, 3, 25, 1, 0, tzinfo=timezone.utc)      # 24 days later
# A tender with a contract: award decided on Tuesday 1 April, its notice published on Thursday 3 April
# (the second working day after), confirmed after publicity on 10 April.
DECIDED = datetime(2025, 4, 1, 2, 0, tzinfo=timezone.utc)
NOTICED = datetime(2025, 4, 3, 2, 0, tzinfo=timezone.utc)
AWARDED = datetime(2025, 4, 10, 2, 0, tzinfo=timezone.utc)
SIGNED = date(2025, 4, 21)
# A tender whose contract is still to be signed: the award notice of 27 May 2025 leaves until 26 June.
RECENT = (datetime(2025, 5, 26, 2, 0, tzinfo=timezone.utc), datetime(2025, 5, 27, 2, 0, tzinfo=timezone.utc),
          datetime(2025, 6, 3, 2, 0, tzinfo=timezone.utc))
CEILING = 100_000_000
PRICES = (90_000_000, 93_700_000, 95_300_000)   # no two an exact whole percentage apart
_serial = itertools.count(1)


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc)


@dataclass
class Planted:
    tenders: dict[str, Tender] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    orgs: dict[str, object] = field(default_factory=dict)


def _org(**contact):
    n = next(_serial)
    values = dict(address=f"武侯区测试路{n}号", contact_phone=f"028-8{n:07d}", contact_email=f"org{n}@example.cn",
                  contact_name=f"联系人{n}")
    values.update(contact)
    return OrganizationFactory(**values)


def _tender(world: Planted, name: str, bids, *, year: int = 2025, method=TenderMethod.PUBLIC_TENDER,
            category=ServiceCategory.ELDERLY, published=PUBLISHED, deadline=DEADLINE, award: int | None = 0,
            moments=RECENT, submitter=None) -> Tender:
    """bids: (organization or None for a new one, price, valid, reason); `award` indexes the winner;
    `moments`: the award decision, its notice (the publicity's start) and the confirmed award."""
    decided, noticed, awarded_at = moments
    n = next(_serial)
    plan = ProjectPlan(fiscal_year=year, title=f"{name}项目", category=category, budget_fen=CEILING,
                       created_at=PUBLISHED)
    tender = Tender(plan=plan, number=f"RF-{year}-{n:03d}", title=f"{name}", method=method, ceiling_fen=CEILING,
                    price_weight=Decimal("20"), publish_at=published, clarification_deadline=published,
                    bid_deadline=deadline, opening_at=deadline, opened_at=deadline, status=TenderStatus.AWARDED,
                    status_changed_at=awarded_at, award_decided_at=decided, publicity_round=1,
                    publicity_starts_at=noticed, publicity_ends_at=noticed + timedelta(days=5), created_at=PUBLISHED)
    db.session.add_all([plan, tender])
    made = []
    for i, (org, price, valid, reason) in enumerate(bids):
        org = org or _org()
        bid = Bid(tender=tender, organization_id=org.id, status=BidStatus.SUBMITTED, status_changed_at=deadline,
                  submitted_at=published, submitted_by_id=submitter.id, sealed=b"-", digest="0" * 64,
                  receipt_code=f"RF-R{n}-{i}", price_fen=price, valid=valid, invalid_reason=reason)
        db.session.add(bid)
        made.append((org, bid))
    db.session.flush()
    if award is not None:
        tender.awarded_bid_id, tender.awarded_at = made[award][1].id, awarded_at
    db.session.flush()
    world.tenders[name] = tender
    return tender


def _valid(prices=PRICES, orgs=(None, None, None)):
    return [(org, price, True, "") for org, price in zip(orgs, prices)]


def _contract(world: Planted, name: str, submitter, *, signed_on=SIGNED, published=None,
              original=PRICES[0]) -> Contract:
    """A contract in service, its signature recorded (its notice published) the day it was signed
    unless `published` says when."""
    tender = _tender(world, f"{name}招标", _valid(), moments=(DECIDED, NOTICED, AWARDED), submitter=submitter)
    bid = db.session.get(Bid, tender.awarded_bid_id)
    contract = Contract(number=f"RF-C{next(_serial):03d}", tender_id=tender.id, bid_id=bid.id,
                        organization_id=bid.organization_id, title=name, original_amount_fen=original,
                        amount_fen=original, start_date=date(2025, 5, 1), end_date=date(2026, 4, 30),
                        status=ContractStatus.IN_PROGRESS, status_changed_at=at(signed_on), signed_on=signed_on,
                        notice_published_at=published or at(signed_on), created_at=AWARDED)
    db.session.add(contract)
    db.session.flush()
    world.contracts[name] = contract
    return contract


def plant(planted: bool) -> Planted:
    """Every rule broken once when `planted`; its clean twin keeps each rule by the smallest margin."""
    world = Planted()
    staff = UserFactory(role=Role.PROCUREMENT)
    community = CommunityFactory()

    # Bidding period: 20 calendar days is the minimum for a public tender.
    _tender(world, "招标期", _valid(), deadline=PUBLISHED + timedelta(days=15 if planted else 20), submitter=staff)
    # Award at or above 98 % of the ceiling.
    _tender(world, "限价", _valid((98_000_000 if planted else 97_900_000, 99_100_000, 99_700_000)), submitter=staff)
    # Identical prices.
    _tender(world, "同价", _valid((90_000_000, 93_700_000, 93_700_000 if planted else 95_300_000)), submitter=staff)
    # Two bids exactly 5 % apart.
    _tender(world, "等差", _valid((90_000_000, 94_500_000 if planted else 94_600_000, 95_300_000)), submitter=staff)
    # Every bid but the winner's ruled invalid (which leaves a single valid bid).
    _tender(world, "废标", [(None, PRICES[0], True, ""), (None, PRICES[1], not planted, "资格不符" if planted else ""),
                           (None, PRICES[2], not planted, "资格不符" if planted else "")], submitter=staff)
    # The lowest bid ruled invalid; the second lowest wins.
    _tender(world, "最低价", [(None, PRICES[0], not planted, "报价异常" if planted else ""),
                             (None, PRICES[1], True, ""), (None, PRICES[2], True, "")],
            award=1 if planted else 0, submitter=staff)
    # Two bidders with one phone number.
    first = _org()
    second = _org(contact_phone=first.contact_phone) if planted else _org()
    _tender(world, "同联系人", _valid(orgs=(None, first, second)), submitter=staff)
    world.orgs["shared"] = first

    # Single-source awards to one organization in fiscal year 2022.
    repeated = _org()
    world.orgs["single_source"] = repeated
    for i in range(2):
        winner = repeated if planted or i == 0 else _org()
        _tender(world, f"单一来源{i}", [(winner, 90_000_000, True, "")], year=2022, method=TenderMethod.SINGLE_SOURCE,
                submitter=staff)
    # A large share of fiscal year 2024's awards: 2 of 3 large awards (or 1 of 3 equal ones).
    big = _org()
    world.orgs["share"] = big
    _tender(world, "份额0", _valid(orgs=(big, None, None)), year=2024, submitter=staff)
    _tender(world, "份额1", _valid(orgs=(big if planted else None, None, None)), year=2024, submitter=staff)
    _tender(world, "份额2", _valid(orgs=(None, None, None)), year=2024, submitter=staff)
    # Many service categories in fiscal year 2023 (three, or two), a third of that year's amount.
    broad = _org()
    world.orgs["categories"] = broad
    categories = [ServiceCategory.ELDERLY, ServiceCategory.CHILDREN,
                  ServiceCategory.DISABILITY if planted else ServiceCategory.ELDERLY]
    for i, category in enumerate(categories):
        _tender(world, f"领域{i}", _valid((30_000_000, 31_000_000, 32_500_000), orgs=(broad, None, None)),
                year=2023, category=category, submitter=staff)
    for i in range(3):
        _tender(world, f"领域他{i}", _valid((60_000_000, 62_100_000, 63_700_000)), year=2023, submitter=staff)

    # The award notice published on the third working day after the decision (the second in the twin):
    # decided on Thursday 29 May 2025, the Dragon Boat Festival (31 May-2 June) between, Wednesday
    # 4 June is the third.
    noticed = at(date(2025, 6, 4 if planted else 3))
    _tender(world, "迟公告", _valid(), submitter=staff,
            moments=(at(date(2025, 5, 29)), noticed, noticed + timedelta(days=7)))
    # Signed 31 days after the award notice (30 is the limit).
    _contract(world, "迟签", staff, signed_on=NOTICED.date() + timedelta(days=31 if planted else 30))
    # Signed on Wednesday 30 April 2025; its signature recorded (the contract notice published) on the
    # third working day after (the second in the twin): the May Day holiday runs 1-5 May.
    _contract(world, "迟合同公告", staff, signed_on=date(2025, 4, 30),
              published=at(date(2025, 5, 8 if planted else 7)))
    # Service logged the day before signing.
    early = _contract(world, "先服务", staff)
    db.session.add(ServiceActivity(
        contract_id=early.id, type=ActivityType.COMMUNITY_EVENT,
        activity_date=SIGNED - timedelta(days=1) if planted else SIGNED, start_time=time(9), end_time=time(10),
        community_id=community.id, hours=Decimal("1"), fingerprint=f"rf-{next(_serial)}", created_at=NOW,
        updated_at=NOW))
    # A milestone accepted 31 days ago and not paid (29 days in the twin).
    unpaid = _contract(world, "欠款", staff)
    db.session.add(Milestone(contract_id=unpaid.id, title="中期", due_date=date(2025, 5, 1),
                             tranche_percent=Decimal("50"), status=MilestoneStatus.ACCEPTED,
                             status_changed_at=NOW - timedelta(days=31 if planted else 29),
                             reviewed_at=NOW - timedelta(days=31 if planted else 29)))
    # An amendment 30 days after signing (31 in the twin), adding nothing.
    amended = _contract(world, "早变更", staff)
    db.session.add(Amendment(contract_id=amended.id, number=1, reason="调整服务社区",
                             amended_on=SIGNED + timedelta(days=30 if planted else 31), changes={},
                             amount_added_fen=0, created_at=NOW))
    # Amendments adding 9 % of the original amount (8.99 % in the twin), long after signing.
    capped = _contract(world, "近上限", staff, original=PRICES[0])
    for i, added in enumerate((5_000_000, 3_100_000 if planted else 3_091_000)):
        db.session.add(Amendment(contract_id=capped.id, number=i + 1, reason="增加服务量",
                                 amended_on=SIGNED + timedelta(days=60 + i), changes={}, amount_added_fen=added,
                                 created_at=NOW))
    db.session.flush()
    return world
