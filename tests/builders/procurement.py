"""Needs, plans and tenders, built through the real service and workflow functions with the test's
clock moved the way the dates require, so a tender "in publicity" has really been published, bid on,
opened, scored and proposed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app

from svcproc.accounts.models import User
from svcproc.core import clock
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement import rules, workflow
from svcproc.procurement.models import (Bid, CommunityNeed, ProjectPlan, ServiceCategory, Tender, TenderExpert,
                                        TenderMethod, TenderStatus)
from svcproc.registry.models import Area, Organization, OrgRating
from tests.builders.accounts import UserFactory
from tests.builders.files import pdf_upload
from tests.builders.registry import CommunityFactory, OrganizationFactory

DAY = timedelta(days=1)


def submit_need(community: Area | None = None, *, category=ServiceCategory.ELDERLY,
                description: str = "社区内独居老人较多，希望有人定期上门探访。", contact_name: str = "王阿姨",
                contact_phone: str = "13900001111") -> CommunityNeed:
    return need_services.submit_need(community=community or CommunityFactory(), category=category,
                                     description=description, contact_name=contact_name,
                                     contact_phone=contact_phone)


PLAN_TARGETS = dict(target_cases=30, target_groups=10, target_group_sessions=60, target_events=12,
                    target_person_times=2000, target_people=600, target_service_hours=1500, target_satisfaction=90)


def make_plan(actor=None, *, budget_fen: int = 50_000_000, communities: list[Area] | None = None,
              needs: list[CommunityNeed] = (), fiscal_year: int = 2025, title: str = "玉林街道独居老人关爱服务项目",
              category=ServiceCategory.ELDERLY, **targets) -> ProjectPlan:
    return need_services.create_plan(
        actor, fiscal_year=fiscal_year, title=title, category=category, budget_fen=budget_fen,
        description="回应社区居民需求，由专业社会工作机构提供服务。",
        communities=communities if communities is not None else [CommunityFactory()], needs=list(needs),
        targets={**PLAN_TARGETS, **targets})


CRITERIA = (("服务方案的针对性与可行性", Decimal(50)), ("项目团队与专业资质", Decimal(30)))
PRICE_WEIGHT = Decimal(20)
CEILING_FEN = 50_000_000                              # ¥500,000.00
PRICES_FEN = (45_000_000, 42_000_000, 40_000_000)     # ¥450,000 / ¥420,000 / ¥400,000
# Points each bidder gets on each criterion, from every expert: non-price totals 72, 65 and 55.
POINTS = ((Decimal(45), Decimal(27)), (Decimal(40), Decimal(25)), (Decimal(35), Decimal(20)))
DECLARATION = "我单位承诺所提交投标文件真实、完整。"


def default_points(expert_index: int, bid_index: int, criterion_index: int) -> Decimal:
    return POINTS[bid_index % len(POINTS)][criterion_index]


@dataclass
class TenderSetup:
    """A tender and everyone around it. Lists are in bidder order (orgs[i] bid prices[i])."""

    tender: Tender
    plan: ProjectPlan
    staff: User
    experts: list[User]
    orgs: list[Organization]
    managers: list[User]
    prices: list[int]
    start: datetime
    bids: list[Bid] = field(default_factory=list)

    @property
    def members(self) -> list[TenderExpert]:
        by_user = {m.user_id: m for m in self.tender.experts}
        return [by_user[e.id] for e in self.experts if e.id in by_user]

    def member_of(self, expert: User) -> TenderExpert:
        return next(m for m in self.tender.experts if m.user_id == expert.id)

    @property
    def criteria(self):
        return list(self.tender.criteria)

    def saved(self, clock) -> dict:
        """What `restored` needs to load this setup again in another session (see `build_once`)."""
        return {"tender": self.tender.id, "plan": self.plan.id, "staff": self.staff.id,
                "experts": [e.id for e in self.experts], "orgs": [o.id for o in self.orgs],
                "managers": [m.id for m in self.managers], "prices": list(self.prices), "start": self.start,
                "bids": [b.id for b in self.bids], "now": clock.now}

    @classmethod
    def restored(cls, saved: dict, clock) -> TenderSetup:
        """The setup loaded into the test's session, with the clock back where the build left it."""
        clock.set(saved["now"])
        get = db.session.get
        return cls(tender=get(Tender, saved["tender"]), plan=get(ProjectPlan, saved["plan"]),
                   staff=get(User, saved["staff"]), experts=[get(User, i) for i in saved["experts"]],
                   orgs=[get(Organization, i) for i in saved["orgs"]],
                   managers=[get(User, i) for i in saved["managers"]], prices=list(saved["prices"]),
                   start=saved["start"], bids=[get(Bid, i) for i in saved["bids"]])


# Documents issued at `start` -> bid deadline: 21 days, a day more than the longest minimum period
# (a public tender's 20 days), so a tender published on the day it is drafted, or the next, is valid.
BIDDING_DAYS = 21


def panel_with(*experts: User, method=TenderMethod.PUBLIC_TENDER, ceiling_fen: int = CEILING_FEN) -> list[User]:
    """These experts and as many new ones as make the smallest panel the rules allow."""
    extra = panel_size(method, ceiling_fen) - len(experts)
    return [*experts, *(UserFactory(role=Role.EXPERT) for _ in range(max(0, extra)))]


def tender_dates(start: datetime) -> dict:
    return dict(clarification_deadline=start + 10 * DAY, bid_deadline=start + BIDDING_DAYS * DAY,
                opening_at=start + BIDDING_DAYS * DAY + timedelta(hours=2))


def panel_size(method, ceiling_fen: int = CEILING_FEN) -> int:
    """The smallest panel the rules allow for the method and budget."""
    return rules.panel_minimum(TenderMethod(method), ceiling_fen)


def new_tender(staff, plan, *, method=TenderMethod.PUBLIC_TENDER, ceiling_fen: int = CEILING_FEN,
               price_weight=PRICE_WEIGHT, min_rating=OrgRating.NONE, start: datetime | None = None,
               criteria=CRITERIA, publicity_days: int = 7, title: str | None = None,
               ready: bool = True, **guarantees) -> Tender:
    """A draft tender. `ready`: with its documents and a panel of the smallest size the rules allow,
    so it can be published as it is. `guarantees`: deposit_fen, sme_deduction_percent."""
    start = start or clock.now()
    tender = workflow.create_tender(
        staff, plan, title=title or plan.title, method=method, ceiling_fen=ceiling_fen, min_rating=min_rating,
        price_weight=Decimal(price_weight), description="服务内容：独居老人探访、个案、小组和社区活动。",
        publicity_days=publicity_days, **tender_dates(start), **guarantees)
    if criteria:
        workflow.set_criteria(staff, tender, [{"name": n, "weight": str(w), "description": ""} for n, w in criteria])
    if ready:
        make_ready(staff, tender)
    return tender


def make_ready(staff, tender: Tender, experts: list[User] | None = None) -> None:
    """Give a draft its documents and seat a panel (`experts`, else new ones of the smallest size)."""
    workflow.add_tender_document(staff, tender, pdf_upload("招标文件.pdf", "tender-document"), "招标文件")
    if experts is None:
        experts = [UserFactory(role=Role.EXPERT) for _ in range(panel_size(tender.method, tender.ceiling_fen))]
    for expert in experts:
        workflow.assign_expert(staff, tender, expert)


def submit_bid(manager: User, tender: Tender, price_fen: int, *, name: str = "投标文件.pdf",
               marker: str = "") -> Bid:
    return workflow.submit_bid(manager, tender, price_fen=price_fen, declaration=DECLARATION,
                               declaration_accepted=True, uploads=[pdf_upload(name, marker)])


def score_all(setup: TenderSetup, points=default_points, *, submit: bool = True) -> None:
    """Every panel member declares no conflict, scores every valid bid and submits."""
    tender = setup.tender
    for e_index, expert in enumerate(setup.experts):
        member = setup.member_of(expert)
        if member.declared_at is None:
            workflow.declare_conflicts(expert, member, [], "")
        if member.conflicted:
            continue
        for bid in workflow.scorable_bids(tender):
            b_index = setup.orgs.index(bid.organization)
            for c_index, criterion in enumerate(tender.criteria):
                workflow.save_score(expert, member, bid, criterion, points(e_index, b_index, c_index))
        if submit:
            workflow.submit_scores(expert, member)


def tender_in(status, clock, *, method=TenderMethod.PUBLIC_TENDER, prices=None, orgs=None, managers=None,
              experts=None, staff=None, plan=None, points=default_points, price_weight=PRICE_WEIGHT,
              criteria=CRITERIA, ceiling_fen: int = CEILING_FEN, min_rating=OrgRating.NONE,
              markers: tuple[str, ...] = (), questions: tuple[str, ...] = (), plan_targets=None,
              quick: bool = False, **guarantees) -> TenderSetup:
    """A tender driven through the workflow into `status`, with the clock moved as needed.

    Defaults: a public tender on a fresh plan, three bidding organizations (prices PRICES_FEN, each
    with its own org manager), three experts, two non-price criteria (50 + 30) and price weight 20.
    "cancelled" is a published tender with bids, cancelled; "failed" a tender opened with one bid
    fewer than the method needs. `markers` go into the bids' document bytes; `questions` are asked
    by the first bidder and answered by the staff while bidding is open. The clock is left where
    the last step happened (for "published": a day after publication, before the clarification
    deadline). `plan_targets` override the plan's targets; `guarantees` go to `new_tender` (a
    deposit asked is recorded for every bid at the opening, so the tender goes on as without one).

    `quick` (the contracts' way to an award, with a single-source tender): one criterion, opened
    straight from "published" and a ceiling no bid exceeds — all optional steps of the workflow.
    The panel is seated (the named experts, not drawn: the draw has tests of its own) before the
    tender is published, as the rules require.
    """
    status, method = TenderStatus(status), TenderMethod(method)
    start = clock.now
    staff = staff or UserFactory(role=Role.PROCUREMENT)
    if prices is None:
        count = len(orgs) if orgs else 3
        if status == TenderStatus.FAILED:
            count = int(current_app.config["MIN_VALID_BIDS"][method.value]) - 1
        prices = [PRICES_FEN[i % 3] - i // 3 for i in range(count)]
    prices = list(prices)
    orgs = list(orgs) if orgs else [OrganizationFactory(rating=OrgRating.A4) for _ in prices]
    managers = list(managers) if managers else [UserFactory(role=Role.ORG_MANAGER, organization=o) for o in orgs]
    if experts is None:
        experts = [UserFactory(role=Role.EXPERT) for _ in range(panel_size(method, ceiling_fen))]
    if quick:
        ceiling_fen = max(ceiling_fen, *prices)
        criteria = ((criteria[0][0], 100 - Decimal(price_weight)),)
    plan = plan or make_plan(staff, budget_fen=max(ceiling_fen, CEILING_FEN), **(plan_targets or {}))
    tender = new_tender(staff, plan, method=method, ceiling_fen=ceiling_fen, price_weight=price_weight,
                        min_rating=min_rating, start=start, criteria=criteria, ready=False, **guarantees)
    setup = TenderSetup(tender=tender, plan=plan, staff=staff, experts=list(experts), orgs=orgs, managers=managers,
                        prices=prices, start=start)
    make_ready(staff, tender, experts)
    if status == TenderStatus.DRAFT:
        return setup
    workflow.publish_tender(staff, tender)
    for i, (manager, price) in enumerate(zip(managers, prices)):
        clock.set(start + DAY + i * timedelta(hours=1))
        marker = markers[i] if i < len(markers) else ""
        setup.bids.append(submit_bid(manager, tender, price, name=f"投标文件{i + 1}.pdf", marker=marker))
        db.session.expire(tender, ["bids"])
    for text in questions:
        clock.advance(hours=1)
        asked = workflow.ask_question(managers[0], tender, text)
        workflow.answer_question(staff, asked, "项目团队中持证社工比例不低于60%。")
    if status == TenderStatus.PUBLISHED:
        return setup
    if status == TenderStatus.CANCELLED:
        workflow.cancel_tender(staff, tender, "预算调整，项目暂停。")
        return setup
    if not quick or status == TenderStatus.BIDDING_CLOSED:
        clock.set(tender.bid_deadline + timedelta(minutes=1))
        workflow.close_bidding(staff, tender)
    if status == TenderStatus.BIDDING_CLOSED:
        return setup
    clock.set(tender.opening_at + timedelta(minutes=5))
    workflow.open_bids(staff, tender)
    if status in (TenderStatus.OPENED, TenderStatus.FAILED):
        return setup
    if tender.deposit_fen is not None:
        from svcproc.core.workdays import local_date
        from svcproc.procurement import guarantees as money_guarantees

        for bid in workflow.scorable_bids(tender):
            money_guarantees.record_deposit(staff, bid, amount_fen=tender.deposit_fen, form="transfer",
                                            received_on=local_date(tender.bid_deadline))
    clock.set(tender.opening_at + DAY)
    score_all(setup, points)
    workflow.finish_scoring(staff, tender)
    if status == TenderStatus.SCORED:
        return setup
    clock.advance(hours=2)
    workflow.propose_award(staff, tender)
    if status == TenderStatus.AWARD_PROPOSED:
        return setup
    clock.advance(hours=1)
    workflow.start_publicity(staff, tender)
    if status == TenderStatus.IN_PUBLICITY:
        return setup
    clock.set(tender.publicity_ends_at + timedelta(hours=1))
    workflow.confirm_award(staff, tender)
    return setup
