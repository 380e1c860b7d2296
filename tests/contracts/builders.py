"""Builders for the contract tests: an awarded tender and contracts in every status, all driven
through the real procurement and contract workflows with the test's clock moved as the dates need.

`tender_in` mirrors the builder of the same name in the main line's tests/factories.py (not yet in
this working copy); when both lines meet, this one can give way to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO

from flask import current_app
from werkzeug.datastructures import FileStorage

from svcproc.accounts.models import User
from svcproc.contracts import workflow as contracts
from svcproc.contracts.models import Contract, ContractStatus, DeliverableKind, Milestone
from svcproc.core import clock as app_clock
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement import workflow
from svcproc.procurement.models import Bid, ProjectPlan, ServiceCategory, Tender, TenderMethod, TenderStatus
from svcproc.registry.models import AreaLevel, Organization, OrgRating
from tests.factories import AreaFactory, OrganizationFactory, UserFactory

DAY = timedelta(days=1)
C = ContractStatus

# --- procurement ---------------------------------------------------------------------------------

PLAN_TARGETS = dict(target_cases=30, target_groups=10, target_group_sessions=60, target_events=12,
                    target_person_times=2000, target_people=600, target_service_hours=1500, target_satisfaction=90)
CRITERIA = (("服务方案的针对性与可行性", Decimal(50)), ("项目团队与专业资质", Decimal(30)))
PRICE_WEIGHT = Decimal(20)
CEILING_FEN = 50_000_000                              # ¥500,000.00
PRICES_FEN = (45_000_000, 42_000_000, 40_000_000)     # the first bidder wins on its non-price points
POINTS = ((Decimal(45), Decimal(27)), (Decimal(40), Decimal(25)), (Decimal(35), Decimal(20)))


def pdf_bytes(marker: str = "") -> bytes:
    return b"%PDF-1.4\n% " + marker.encode("utf-8") + b"\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


def pdf_upload(name: str = "成果.pdf", marker: str = "") -> FileStorage:
    return FileStorage(stream=BytesIO(pdf_bytes(marker)), filename=name, content_type="application/pdf")


def community():
    street = AreaFactory(level=AreaLevel.STREET, parent=AreaFactory())
    return AreaFactory(level=AreaLevel.COMMUNITY, parent=street)


def make_plan(staff, *, budget_fen: int = CEILING_FEN, **targets) -> ProjectPlan:
    return need_services.create_plan(
        staff, fiscal_year=2025, title="玉林街道独居老人关爱服务项目", category=ServiceCategory.ELDERLY,
        budget_fen=budget_fen, description="回应社区居民需求，由专业社会工作机构提供服务。",
        communities=[community()], needs=[], targets={**PLAN_TARGETS, **targets})


@dataclass
class TenderSetup:
    """A tender and everyone around it; orgs[i] bid prices[i] through managers[i]."""

    tender: Tender
    plan: ProjectPlan
    staff: User
    experts: list[User]
    orgs: list[Organization]
    managers: list[User]
    prices: list[int]
    bids: list[Bid] = field(default_factory=list)


def tender_in(status, clock, *, method=TenderMethod.PUBLIC_TENDER, prices=None, staff=None,
              plan_targets=None) -> TenderSetup:
    """A tender driven through the workflow into `status`, by default a public tender with three
    bidders and three experts (single source: one bidder, one expert).

    "cancelled" is a published tender with bids, cancelled; "failed" one opened with a bid fewer
    than the method needs. The clock is left where the last step happened.
    """
    status = TenderStatus(status)
    method = TenderMethod(method)
    start = clock.now
    staff = staff or UserFactory(role=Role.PROCUREMENT)
    needed = int(current_app.config["MIN_VALID_BIDS"][method.value])
    if prices is None:
        prices = PRICES_FEN[:max(needed, 1)] if status != TenderStatus.FAILED else PRICES_FEN[:needed - 1]
    prices = list(prices)
    orgs = [OrganizationFactory(rating=OrgRating.A4) for _ in prices]
    managers = [UserFactory(role=Role.ORG_MANAGER, organization=o) for o in orgs]
    experts = [UserFactory(role=Role.EXPERT)
               for _ in range(int(current_app.config["MIN_EXPERTS"][method.value]))]
    plan = make_plan(staff, budget_fen=max(CEILING_FEN, max(prices)), **(plan_targets or {}))
    tender = workflow.create_tender(
        staff, plan, title=plan.title, method=method, ceiling_fen=max(CEILING_FEN, max(prices)),
        min_rating=OrgRating.NONE, price_weight=PRICE_WEIGHT, description="服务内容：独居老人探访、个案、小组和社区活动。",
        publicity_days=7, clarification_deadline=start + 5 * DAY, bid_deadline=start + 10 * DAY,
        opening_at=start + 10 * DAY + timedelta(hours=2))
    # A single-source tender (the contracts' quick way to an award) is scored on one criterion, has no
    # tender documents and is opened straight from "published": all optional steps of the workflow.
    quick = method == TenderMethod.SINGLE_SOURCE
    criteria = ((CRITERIA[0][0], 100 - PRICE_WEIGHT),) if quick else CRITERIA
    workflow.set_criteria(staff, tender, [{"name": n, "weight": str(w), "description": ""} for n, w in criteria])
    setup = TenderSetup(tender=tender, plan=plan, staff=staff, experts=experts, orgs=orgs, managers=managers,
                        prices=prices)
    if status == TenderStatus.DRAFT:
        return setup
    if not quick:
        workflow.add_tender_document(staff, tender, pdf_upload("招标文件.pdf", "tender"), "招标文件")
    workflow.publish_tender(staff, tender)
    for expert in experts:
        workflow.assign_expert(staff, tender, expert)
    for i, (manager, price) in enumerate(zip(managers, prices)):
        clock.set(start + DAY + i * timedelta(hours=1))
        setup.bids.append(workflow.submit_bid(manager, tender, price_fen=price, declaration="我单位承诺所提交投标文件真实、完整。",
                                              declaration_accepted=True, uploads=[pdf_upload(f"投标文件{i + 1}.pdf")]))
        db.session.expire(tender, ["bids"])
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
    clock.set(tender.opening_at + DAY)
    for expert in experts:
        member = next(m for m in tender.experts if m.user_id == expert.id)
        workflow.declare_conflicts(expert, member, [], "")
        for bid in workflow.scorable_bids(tender):
            points = POINTS[min(orgs.index(bid.organization), len(POINTS) - 1)]
            for criterion, value in zip(tender.criteria, points):
                workflow.save_score(expert, member, bid, criterion, value)
        workflow.submit_scores(expert, member)
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


# --- contracts -----------------------------------------------------------------------------------

CONTENTS = dict(
    service_content="为玉林街道独居老人提供探访、个案、小组和社区活动服务。",
    quantity="个案30个、小组10个共60节、社区活动12场、服务2000人次。",
    quality="服务符合《社会工作服务指南》及招标文件要求；服务对象满意度不低于90%。",
    settlement="按付款计划分期支付；每期在成果验收合格后15个工作日内支付。",
    rights_obligations="采购人负责监督、验收与付款；服务机构按合同提供服务并如实记录服务台账。",
    breach_liability="服务机构未达到约定绩效目标的，按比例扣减服务费；严重违约的，采购人有权解除合同。",
)
# (days after the start or "end", tranche %)
SCHEDULE = ((90, "30"), (180, "30"), ("end", "40"))
TERM_DAYS = 364  # ends before the first anniversary: no reason for a long term needed


def at_local(day: date, hour: int = 9) -> datetime:
    """A moment on a local (Asia/Shanghai) calendar day."""
    return datetime.combine(day, time(hour), tzinfo=app_clock.LOCAL_TZ)


def local_today() -> date:
    return contracts.today()


def schedule_rows(start: date, end: date, schedule=SCHEDULE) -> list[dict]:
    return [{"title": f"第{i + 1}期成果", "due_date": end if due == "end" else start + timedelta(days=due),
             "required_deliverables": "阶段报告、签到表", "tranche_percent": str(percent)}
            for i, (due, percent) in enumerate(schedule)]


@dataclass
class ContractSetup:
    contract: Contract
    awarded: TenderSetup

    @property
    def staff(self) -> User:
        return self.awarded.staff

    @property
    def org(self) -> Organization:
        return self.awarded.orgs[0]

    @property
    def manager(self) -> User:
        """The manager of the organization that won (and holds the contract)."""
        return self.awarded.managers[0]

    @property
    def milestones(self) -> list[Milestone]:
        return list(self.contract.milestones)


def draft_contract(clock, *, prices=None, start_in_days: int = 7, term_days: int = TERM_DAYS,
                   long_term_reason: str = "", schedule=SCHEDULE, plan_targets=None, **content) -> ContractSetup:
    """An awarded tender and its draft contract with the art. 23 contents and a payment schedule."""
    # Single source (one bid, one expert) is the quickest real way to an award; the contract rules
    # do not depend on the method.
    awarded = tender_in(TenderStatus.AWARDED, clock, method=TenderMethod.SINGLE_SOURCE,
                        prices=prices or PRICES_FEN[:1], plan_targets=plan_targets)
    clock.advance(days=1)
    start = local_today() + timedelta(days=start_in_days)
    end = start + timedelta(days=term_days)
    contract = contracts.create_contract(awarded.staff, awarded.tender, start_date=start, end_date=end,
                                         long_term_reason=long_term_reason, **{**CONTENTS, **content})
    if schedule:
        contracts.set_milestones(awarded.staff, contract, schedule_rows(start, end, schedule))
    return ContractSetup(contract=contract, awarded=awarded)


def deliver(setup: ContractSetup, milestone: Milestone) -> None:
    """The organization's manager uploads a report and submits the milestone."""
    contracts.add_deliverable(setup.manager, milestone, pdf_upload(f"{milestone.title}.pdf", milestone.title),
                              DeliverableKind.REPORT)
    contracts.submit_milestone(setup.manager, milestone)


_voucher = iter(range(1, 10**9))


def pay_in_full(setup: ContractSetup, milestone: Milestone) -> None:
    amount = contracts.tranche_amounts(setup.contract)[milestone.id] - sum(p.amount_fen for p in milestone.payments)
    contracts.record_payment(setup.staff, milestone, amount_fen=amount, voucher_number=f"PZ-{next(_voucher):06d}",
                             paid_on=local_today())


def contract_in(status, clock, **options) -> ContractSetup:
    """A contract driven into `status`. Signed two days after drafting; started on its start day
    (the clock is then at 09:00 local that day); "completed" has every milestone accepted and
    none paid; "closed" every milestone paid; "terminated" was terminated while in progress.
    """
    status = ContractStatus(status)
    setup = draft_contract(clock, **options)
    contract, staff = setup.contract, setup.staff
    if status == C.DRAFT:
        return setup
    clock.advance(days=2)
    contracts.sign_contract(staff, contract, local_today())
    if status == C.SIGNED:
        return setup
    clock.set(at_local(contract.start_date))
    contracts.start_contract(staff, contract)
    if status == C.IN_PROGRESS:
        return setup
    if status == C.TERMINATED:
        contracts.terminate_contract(staff, contract, "服务机构主要人员离职，无法继续履约，双方协商解除合同。")
        return setup
    for milestone in contract.milestones:
        deliver(setup, milestone)
        contracts.accept_milestone(staff, milestone, "成果齐全，验收合格。")
        if status == C.CLOSED:
            pay_in_full(setup, milestone)
    contracts.complete_contract(staff, contract)
    if status == C.CLOSED:
        contracts.close_contract(staff, contract)
    return setup


def in_progress_with_milestone(clock, milestone_status: str, **options) -> tuple[ContractSetup, Milestone]:
    """An in-progress contract whose first milestone is in `milestone_status` (the others pending)."""
    setup = contract_in(C.IN_PROGRESS, clock, **options)
    milestone = setup.milestones[0]
    if milestone_status == "pending":
        return setup, milestone
    deliver(setup, milestone)
    if milestone_status == "submitted":
        return setup, milestone
    if milestone_status == "returned":
        contracts.return_milestone(setup.staff, milestone, "签到表缺少服务对象签名，请补充。")
        return setup, milestone
    contracts.accept_milestone(setup.staff, milestone, "验收合格。")
    if milestone_status == "accepted":
        return setup, milestone
    pay_in_full(setup, milestone)
    assert milestone_status == "paid"
    return setup, milestone

