"""Contracts in every status, from an awarded tender (procurement.py's `tender_in`), all driven
through the real contract workflow with the test's clock moved as the dates need."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from svcproc.accounts.models import User
from svcproc.contracts import workflow as contracts
from svcproc.contracts.models import Contract, ContractStatus, DeliverableKind, Milestone
from svcproc.core import clock as app_clock
from svcproc.procurement.models import TenderMethod, TenderStatus
from svcproc.registry.models import Organization
from tests.builders.files import pdf_upload
from tests.builders.procurement import PRICES_FEN, TenderSetup, tender_in

C = ContractStatus

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
                        prices=prices or PRICES_FEN[:1], plan_targets=plan_targets, quick=True)
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

