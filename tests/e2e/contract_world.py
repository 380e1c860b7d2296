"""What the contract and service-log browser tests find on the live server besides the demo: an
award still waiting for its contract and a draft contract (the demo's awards all have signed
contracts), and the ids of the demo's contract in progress and of its service logs.

Built with the workflow functions, as the demo is, with the clock moved through the dates; called
from conftest's `_load_schema_and_demo` inside its app context.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

# The award waiting for its contract (the contract flow draws it up): orgmanager's organization.
AWAITING = dict(title="玉林街道长者助餐配送服务项目", community="510107001002", bidder="orgmanager",
                price_fen=286_500_00, budget_fen=300_000_00, days_ago=40)
# The draft contract (edit form, accessibility): orgmanager3's organization.
DRAFT = dict(title="红牌楼街道残疾人家庭支持服务项目", community="510107003002", bidder="orgmanager3",
             price_fen=158_000_00, budget_fen=160_000_00, days_ago=50)


def contract_ids() -> dict:
    """Ids of the demo's own contract pages: orgmanager's (and socialworker's) contract in
    progress, a beneficiary with an identity number, a corrected entry and an imported ledger."""
    from svcproc.accounts.models import User
    from svcproc.contracts.models import Contract, ContractStatus
    from svcproc.delivery.models import Beneficiary, ImportBatch, ServiceActivity
    from svcproc.extensions import db

    def first(stmt):
        return db.session.execute(stmt.limit(1)).scalar_one()

    org_id = first(sa.select(User.organization_id).where(User.username == "orgmanager"))
    contract = first(sa.select(Contract.id).where(Contract.organization_id == org_id,
                                                  Contract.status == ContractStatus.IN_PROGRESS).order_by(Contract.id))
    return {
        "contract_running": contract,
        "beneficiary": first(sa.select(Beneficiary.id).where(Beneficiary.organization_id == org_id,
                                                             Beneficiary.id_number_masked != "").order_by(Beneficiary.id)),
        "activity_corrected": first(sa.select(ServiceActivity.id).where(ServiceActivity.contract_id == contract,
                                                                        ServiceActivity.revision > 1)
                                    .order_by(ServiceActivity.id)),
        "import_batch": first(sa.select(ImportBatch.id).where(ImportBatch.contract_id == contract)
                              .order_by(ImportBatch.id)),
    }


def _user(username: str):
    from svcproc.accounts.models import User
    from svcproc.extensions import db

    return db.session.execute(sa.select(User).where(User.username == username)).unique().scalar_one()


def _award(spec: dict):
    """A single-source tender (one bid, one expert) taken to a confirmed award, its publication
    `days_ago` days before now (the plan's targets: spec["targets"] or the disability project's);
    the caller restores the clock."""
    from svcproc.core import clock
    from svcproc.demo.procurement import TARGETS_DISABILITY, _pdf
    from svcproc.extensions import db
    from svcproc.procurement import needs as need_services
    from svcproc.procurement import workflow
    from svcproc.procurement.models import ServiceCategory, TenderMethod
    from svcproc.registry.models import Area, OrgRating

    day = timedelta(days=1)
    published = clock.now() - spec["days_ago"] * day
    clock.freeze(published - day)
    staff = _user("procurement")
    community = db.session.execute(sa.select(Area).where(Area.code == spec["community"])).unique().scalar_one()
    plan = need_services.create_plan(
        staff, fiscal_year=clock.to_local(published).year, title=spec["title"], category=ServiceCategory.OTHER,
        budget_fen=spec["budget_fen"], description="单一来源采购：延续上一周期服务。", communities=[community],
        needs=[], targets=spec.get("targets", TARGETS_DISABILITY))
    tender = workflow.create_tender(
        staff, plan, title=plan.title, method=TenderMethod.SINGLE_SOURCE, ceiling_fen=plan.budget_fen,
        min_rating=OrgRating.A3, price_weight=Decimal(20), description=f"服务内容：{plan.title}。服务期限：12个月。",
        clarification_deadline=published + 2 * day, bid_deadline=published + 5 * day,
        opening_at=published + 5 * day + timedelta(hours=1), publicity_days=5)
    workflow.set_criteria(staff, tender, [{"name": "服务方案的针对性与可行性", "weight": "80", "description": ""}])
    workflow.add_tender_document(staff, tender, _pdf(f"{tender.number}单一来源采购文件"), "单一来源采购文件")
    expert = _user("expert3")
    member = workflow.assign_expert(staff, tender, expert)
    clock.freeze(published)
    workflow.publish_tender(staff, tender)
    clock.freeze(published + day)
    workflow.submit_bid(_user(spec["bidder"]), tender, price_fen=spec["price_fen"], declaration="我单位承诺投标文件真实、完整。",
                        declaration_accepted=True, uploads=[_pdf(f"{spec['bidder']}单一来源响应文件")])
    clock.freeze(tender.opening_at + timedelta(minutes=5))
    workflow.open_bids(staff, tender)
    clock.freeze(tender.opening_at + timedelta(hours=2))
    workflow.declare_conflicts(expert, member, [], "")
    for bid in workflow.scorable_bids(tender):
        workflow.save_score(expert, member, bid, tender.criteria[0], Decimal(70), "")
    workflow.submit_scores(expert, member)
    workflow.finish_scoring(staff, tender)
    clock.freeze(clock.now() + timedelta(hours=1))
    workflow.propose_award(staff, tender)
    workflow.start_publicity(staff, tender)
    clock.freeze(tender.publicity_ends_at + timedelta(hours=1))
    workflow.confirm_award(staff, tender)
    return tender


def add_contract_world() -> dict:
    """The award waiting for a contract and the draft contract; returns their ids."""
    from svcproc.contracts import workflow as contracts
    from svcproc.core import clock

    previous = clock.frozen()
    now = clock.now()
    try:
        waiting = _award(AWAITING)
        clock.freeze(now)
        tender = _award(DRAFT)
        clock.freeze(now - 3 * timedelta(days=1))
        start = contracts.today() + timedelta(days=14)
        end = start + timedelta(days=364)
        draft = contracts.create_contract(
            _user("procurement"), tender, start_date=start, end_date=end,
            service_content=tender.description, quantity="个案20个、小组4个共24节、社区活动8场。",
            quality="服务符合《社会工作服务指南》。", settlement="按付款计划分期支付。", rights_obligations="",
            breach_liability="")
        contracts.set_milestones(_user("procurement"), draft, [
            {"title": "项目启动：服务方案", "due_date": start + timedelta(days=30), "required_deliverables": "服务方案",
             "tranche_percent": "30"},
            {"title": "末期评估与项目总结", "due_date": end, "required_deliverables": "总结报告", "tranche_percent": "70"}])
        return {"tender_awaiting": waiting.id, "contract_draft": draft.id}
    finally:
        clock.freeze(previous)
