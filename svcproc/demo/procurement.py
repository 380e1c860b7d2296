"""Demo procurement and contracts: needs, plans, tenders in every stage, contracts with their
milestones, deliverables, amendments and payments, all run through the workflow.

Each tender's life is a generator that yields the moment its next step happens; the runner plays
all of them forward in time order with the clock moved to each moment, so dates, deadlines and
the audit trail read as they would had the bureau worked this way over the past months.
"""
from __future__ import annotations

import heapq
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..contracts import workflow as contract_workflow
from ..contracts.models import DeliverableKind
from ..core import clock
from ..extensions import db
from ..procurement import experts as expert_pool
from ..procurement import needs as need_services
from ..procurement import workflow
from ..procurement.models import ServiceCategory, Tender, TenderMethod
from ..registry.models import Area, Organization, OrgRating

DAY = timedelta(days=1)

# (community code, category, description, contact name, phone)
NEEDS = (
    ("510107001001", ServiceCategory.ELDERLY, "社区内独居老人较多，子女不在身边，希望有人定期上门探访、陪同就医。", "王阿姨", "13900001111"),
    ("510107001002", ServiceCategory.ELDERLY, "高龄老人用智能手机困难，希望社区开设手机使用课程。", "", ""),
    ("510107001003", ServiceCategory.ELDERLY, "独居老人夜间突发疾病无人知晓，希望建立紧急联络和探访机制。", "李大爷", "13900002222"),
    ("510107001004", ServiceCategory.ELDERLY, "希望为独居老人提供定期探访和心理慰藉服务。", "", ""),
    ("510107002001", ServiceCategory.CHILDREN, "双职工家庭孩子放学后无人照看，希望有四点半课堂。", "张女士", "13900003333"),
    ("510107002002", ServiceCategory.CHILDREN, "留守儿童学习和情绪问题突出，需要专业社工陪伴。", "", ""),
    ("510107002003", ServiceCategory.CHILDREN, "困境儿童家庭需要个案跟进和资源链接。", "社区工作者刘", "13900004444"),
    ("510107003001", ServiceCategory.COMMUNITY_BUILDING, "老旧院落停车和垃圾分类矛盾多，希望开展院落议事。", "", ""),
    ("510107003002", ServiceCategory.COMMUNITY_BUILDING, "居民参与社区事务少，希望培育志愿者队伍。", "", ""),
    ("510107003003", ServiceCategory.DISABILITY, "残疾人缺少社区康复场所和康复指导。", "赵先生", "13900005555"),
    ("510107002004", ServiceCategory.FAMILY, "家庭矛盾调解需求多，希望有家庭服务。", "", ""),
    ("510107003004", ServiceCategory.OTHER, "希望小区门口增加路灯。", "", ""),
    ("510107003003", ServiceCategory.DISABILITY, "社区残疾人康复服务不足，希望有康复师定期指导。", "", ""),
)

# Needs that came in lately and wait for the bureau's answer: (days before now, community code,
# category, description, contact name, phone).
RECENT_NEEDS = (
    (9, "510107001002", ServiceCategory.ELDERLY, "老旧院落加装电梯后，行动不便的老人仍需要有人协助上下楼和外出就医。",
     "周阿姨", "13900006666"),
    (2, "510107002003", ServiceCategory.FAMILY, "社区里有几户家庭长期照顾失能老人，照顾者身心疲惫，希望有喘息服务。", "", ""),
)

TARGETS_ELDERLY = dict(target_cases=30, target_groups=8, target_group_sessions=48, target_events=12,
                       target_person_times=2400, target_people=600, target_service_hours=1800, target_satisfaction=90)
TARGETS_CHILDREN = dict(target_cases=25, target_groups=10, target_group_sessions=60, target_events=10,
                        target_person_times=2000, target_people=450, target_service_hours=1500, target_satisfaction=90)
TARGETS_COMMUNITY = dict(target_cases=5, target_groups=6, target_group_sessions=30, target_events=16,
                         target_person_times=3000, target_people=900, target_service_hours=1200, target_satisfaction=85)
TARGETS_DISABILITY = dict(target_cases=40, target_groups=6, target_group_sessions=36, target_events=8,
                          target_person_times=1600, target_people=300, target_service_hours=1600, target_satisfaction=90)
TARGETS_FAMILY = dict(target_cases=20, target_groups=4, target_group_sessions=24, target_events=8,
                      target_person_times=1200, target_people=350, target_service_hours=900, target_satisfaction=90)
TARGETS_LOW_INCOME = dict(target_cases=30, target_groups=4, target_group_sessions=24, target_events=6,
                          target_person_times=1500, target_people=400, target_service_hours=1200,
                          target_satisfaction=90)
TARGETS_VOLUNTEER = dict(target_cases=0, target_groups=4, target_group_sessions=24, target_events=12,
                         target_person_times=2500, target_people=600, target_service_hours=800, target_satisfaction=85)
TARGETS_MENTAL = dict(target_cases=40, target_groups=6, target_group_sessions=36, target_events=8,
                      target_person_times=1600, target_people=400, target_service_hours=1400, target_satisfaction=90)
TARGETS_YOUTH = dict(target_cases=15, target_groups=6, target_group_sessions=36, target_events=10,
                     target_person_times=1800, target_people=500, target_service_hours=1000, target_satisfaction=90)

# (key, fiscal year offset from the start year, title, category, budget yuan, communities, need indexes, targets)
PLANS = (
    ("elderly", 0, "玉林街道独居老人关爱服务项目", ServiceCategory.ELDERLY, 480000,
     ("510107001001", "510107001002", "510107001003", "510107001004"), (0, 2, 3), TARGETS_ELDERLY),
    ("children", 0, "浆洗街道困境儿童成长守护项目", ServiceCategory.CHILDREN, 360000,
     ("510107002001", "510107002002", "510107002003"), (4, 5, 6), TARGETS_CHILDREN),
    ("community", 0, "红牌楼街道社区营造与院落微治理项目", ServiceCategory.COMMUNITY_BUILDING, 300000,
     ("510107003001", "510107003002"), (7, 8), TARGETS_COMMUNITY),
    ("disability", 0, "武侯区残疾人社区康复服务项目", ServiceCategory.DISABILITY, 420000,
     ("510107003003", "510107003004"), (9,), TARGETS_DISABILITY),
    ("youth", 1, "武侯区青少年社区成长支持项目", ServiceCategory.YOUTH, 320000,
     ("510107001001", "510107002001", "510107003001"), (), TARGETS_YOUTH),
    ("family", 1, "浆洗街道家庭综合服务项目", ServiceCategory.FAMILY, 260000,
     ("510107002004",), (10,), TARGETS_FAMILY),
    ("afterschool", 0, "浆洗街道四点半课堂托管试点项目", ServiceCategory.CHILDREN, 120000,
     ("510107002001", "510107002002"), (), dict(target_cases=5, target_groups=4, target_group_sessions=16,
                                                target_events=4, target_person_times=600, target_people=80,
                                                target_service_hours=160, target_satisfaction=90)),
    ("lowincome", 1, "红牌楼街道困难群众帮扶服务项目", ServiceCategory.LOW_INCOME, 280000,
     ("510107003001", "510107003003", "510107003004"), (), TARGETS_LOW_INCOME),
    ("volunteer", 1, "玉林街道社区志愿服务体系建设项目", ServiceCategory.COMMUNITY_BUILDING, 200000,
     ("510107001002", "510107001003"), (), TARGETS_VOLUNTEER),
    ("mental", 1, "武侯区社区心理健康服务项目", ServiceCategory.OTHER, 240000,
     ("510107001001", "510107002001", "510107003001"), (), TARGETS_MENTAL),
)

CRITERIA = (("服务方案的针对性与可行性", 30, "需求分析准确，目标清晰，活动设计可行"),
            ("项目团队与专业资质", 25, "持证社工比例、督导配置、人员稳定性"),
            ("同类项目经验与成效", 15, "近三年同类项目数量与评估结果"),
            ("项目管理与质量保障", 10, "制度、台账、风险预案"))

# How strong each organization's bids are (fraction of full marks) and how it prices (of the ceiling).
STRENGTH = {0: Decimal("0.90"), 1: Decimal("0.84"), 2: Decimal("0.80"), 4: Decimal("0.76")}
PRICING = {0: Decimal("0.97"), 1: Decimal("0.93"), 2: Decimal("0.95"), 4: Decimal("0.92")}
EXPERT_LEAN = {"expert": Decimal("0.00"), "expert2": Decimal("-0.03"), "expert3": Decimal("0.02"),
               "expert4": Decimal("-0.01"), "expert5": Decimal("0.01")}
EXPERTS = ("expert", "expert2", "expert3", "expert4", "expert5")
# Documents issued -> bid deadline: 21 days, a day over a public tender's minimum of 20.
BIDDING_DAYS = 21

# (plan key, method, bidders (org indexes), stage, days before "now" the tender was published).
# The running projects started about half a year ago, so today is their mid-term. Of the tenders
# under way, one waits for the panel's scores, one for its bids to be opened (bidding has closed),
# two are open for bids: the youth project's, with three bids, and one published three days ago
# that nobody has bid on yet.
TENDERS = (
    ("elderly", TenderMethod.PUBLIC_TENDER, (0, 1, 2), "awarded", 226),
    ("children", TenderMethod.COMPETITIVE_CONSULTATION, (1, 2, 4), "awarded", 227),
    ("community", TenderMethod.PUBLIC_TENDER, (2, 0, 4), "awarded_after_objection", 130),
    ("disability", TenderMethod.PUBLIC_TENDER, (0, 1, 2), "in_publicity", 36),
    ("youth", TenderMethod.PUBLIC_TENDER, (0, 1, 2), "open", 5),
    ("family", TenderMethod.COMPETITIVE_NEGOTIATION, (), "draft", 2),
    ("afterschool", TenderMethod.COMPETITIVE_CONSULTATION, (1, 2, 4), "awarded", 100),
    ("lowincome", TenderMethod.PUBLIC_TENDER, (0, 2, 4), "scoring", 23),
    ("volunteer", TenderMethod.PUBLIC_TENDER, (1, 2, 4), "closed", 22),
    ("mental", TenderMethod.PUBLIC_TENDER, (), "open", 3),
)

# Contracts of awarded tenders: days after the award it is drawn up, signed, and the service starts
# (negative: before now), term in days, and milestones (title, due days after start or "end",
# tranche %, required deliverables, how far it has got).
CONTRACTS = {
    "elderly": dict(drawn=2, signed=4, start=6, term=364, amend=(60, 24000_00, {"target_people": 660},
                    "新增玉林东路社区两个老旧院落的独居老人，服务人数增加60人。"),
                    milestones=(("项目启动：服务方案与需求评估报告", 20, 20, "服务方案、需求评估报告", "paid"),
                                ("第一季度服务台账与季度报告", 90, 15, "季度报告、签到表、活动照片", "paid"),
                                ("第二季度服务台账与季度报告", 180, 15, "季度报告、签到表、活动照片", "submitted"),
                                ("中期评估报告", 190, 20, "中期报告、台账", "pending"),
                                ("末期评估与项目总结", "end", 30, "总结报告、审计报告", "pending"))),
    "children": dict(drawn=1, signed=2, start=3, term=364, amend=None,
                     milestones=(("项目启动：服务方案", 20, 20, "服务方案", "paid"),
                                 ("第一季度服务台账与季度报告", 90, 15, "季度报告、签到表", "paid"),
                                 ("第二季度服务台账与季度报告", 180, 15, "季度报告、签到表、活动照片", "returned"),
                                 ("末期评估与项目总结", "end", 50, "总结报告", "pending"))),
    "community": dict(drawn=92, signed=95, start=115, term=364, amend=None,
                      milestones=(("项目启动：院落议事方案", 30, 30, "服务方案", "pending"),
                                  ("末期评估与项目总结", "end", 70, "总结报告", "pending"))),
    # The pilot ended nine days ago (`ended`, whatever holidays lengthened the publicity before the
    # award): its final report is accepted and the last tranche is due.
    "afterschool": dict(drawn=2, signed=5, start=8, ended=9, term=40, amend=None,
                   milestones=(("试点前半程台账", 20, 50, "签到表、活动照片", "paid"),
                               ("试点总结报告", "end", 50, "总结报告、签到表", "accepted"))),
}



def _pdf(title: str) -> FileStorage:
    body = f"%PDF-1.4\n% svcproc demo: {title}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".encode("utf-8")
    return FileStorage(stream=BytesIO(body), filename=f"{title}.pdf", content_type="application/pdf")


def _points(weight: int, strength: Decimal, lean: Decimal) -> Decimal:
    value = Decimal(weight) * min(Decimal(1), strength + lean)
    return (value * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2  # half points


def _user(username: str) -> User:
    return db.session.execute(sa.select(User).where(User.username == username)).unique().scalar_one()


def _manager_of(org: Organization) -> User:
    return db.session.execute(sa.select(User).where(User.organization_id == org.id, User.role == "org_manager")
                              .order_by(User.id)).unique().scalars().first()


def _at(moment: datetime) -> None:
    clock.freeze(moment)


START_DAYS_AGO = 235


def load_procurement_demo(orgs: list[Organization], now: datetime, extra_flows=()) -> None:
    """Create needs, plans, tenders and contracts; `now` is the real present the demo leads up to.

    `extra_flows` (service delivery, evaluations) are played forward together with the tenders, so
    every step of the demo happens in time order. The caller has the clock frozen at the demo's
    start and restores it afterwards.
    """
    staff = _user("procurement")
    experts = [_user(name) for name in EXPERTS]
    areas = {a.code: a for a in db.session.execute(sa.select(Area)).unique().scalars()}
    start = now - START_DAYS_AGO * DAY
    year = clock.to_local(start).year

    _at(start)
    need_rows = []
    for i, (community, category, text, contact, phone) in enumerate(NEEDS):
        _at(start + i * timedelta(hours=7))
        need_rows.append(need_services.submit_need(community=areas[community], category=category, description=text,
                                                   contact_name=contact, contact_phone=phone))
    _at(start + 2 * DAY)
    # The expert pool: every demo expert evaluates every kind of service.
    for expert in experts:
        expert_pool.set_categories(staff, expert, list(ServiceCategory))
    _at(start + 4 * DAY)
    need_services.merge_need(staff, need_rows[12], need_rows[9])
    need_services.decline_need(staff, need_rows[11], "路灯建设不属于社会工作服务范围，已转交街道城管科处理。")
    need_services.address_need(staff, need_rows[1], "社区已联合志愿者开设老年人智能手机课堂，每周三下午开课。")

    plans = {}
    _at(start + 6 * DAY)
    for key, year_offset, title, category, budget, communities, need_indexes, targets in PLANS:
        plans[key] = need_services.create_plan(
            staff, fiscal_year=year + year_offset, title=title, category=category, budget_fen=budget * 100,
            description=f"{title}：回应社区居民需求，由专业社会工作机构提供服务。",
            communities=[areas[c] for c in communities], needs=[need_rows[i] for i in need_indexes], targets=targets)

    flows = []
    for seed, (key, method, bidders, stage, published_days_ago) in enumerate(TENDERS):
        flows.append(_tender_flow(plans[key], method, [orgs[i] for i in bidders], list(bidders), stage,
                                  now - published_days_ago * DAY, now, staff, seed, CONTRACTS.get(key)))
    flows.append(_recent_needs_flow(areas, now))
    _run(flows + list(extra_flows), now)


def _recent_needs_flow(areas: dict[str, Area], now: datetime):
    """Residents' needs submitted lately, still waiting for the bureau's answer."""
    for days_ago, community, category, text, contact, phone in RECENT_NEEDS:
        yield now - days_ago * DAY - timedelta(hours=5)
        need_services.submit_need(community=areas[community], category=category, description=text,
                                  contact_name=contact, contact_phone=phone)


def _run(flows, now: datetime) -> None:
    """Play the flows forward in time order; a step due after `now` has not happened yet."""
    queue = []
    for index, flow in enumerate(flows):
        moment = next(flow, None)
        if moment is not None:
            heapq.heappush(queue, (moment, index, flow))
    while queue:
        moment, index, flow = heapq.heappop(queue)
        if moment > now:
            continue
        _at(moment)
        following = next(flow, None)
        if following is not None:
            heapq.heappush(queue, (max(following, moment), index, flow))


def _tender_flow(plan, method, bidder_orgs, bidder_indexes, stage, published, now, staff, seed, contract_spec):
    yield published - DAY
    ceiling = plan.budget_fen
    tender = workflow.create_tender(
        staff, plan, title=plan.title, method=method, ceiling_fen=ceiling,
        min_rating=OrgRating.A3, price_weight=Decimal(20),
        description="服务内容：" + plan.description + "\n服务期限：合同签订之日起12个月。",
        clarification_deadline=published + 8 * DAY, bid_deadline=published + BIDDING_DAYS * DAY,
        opening_at=published + BIDDING_DAYS * DAY + timedelta(hours=1), publicity_days=7)
    workflow.set_criteria(staff, tender, [{"name": n, "weight": w, "description": d} for n, w, d in CRITERIA])
    if stage == "draft":
        return
    workflow.add_tender_document(staff, tender, _pdf(f"{tender.number}招标文件"), "招标文件")
    yield published
    # The panel is drawn from the pool (a seed per tender, so the demo is the same every time).
    expert_pool.draw_experts(staff, tender, workflow.min_experts(tender), seed=seed)
    workflow.publish_tender(staff, tender)
    experts = [m.user for m in tender.experts]
    if bidder_orgs:
        yield published + DAY
        question = workflow.ask_question(_manager_of(bidder_orgs[0]), tender, "服务人员是否要求全部持有社会工作者职业资格证书？")
        yield published + 2 * DAY
        workflow.answer_question(staff, question, "项目团队中持证社工比例不低于60%，项目负责人须持有中级及以上证书。")
    for n, (org, index) in enumerate(zip(bidder_orgs, bidder_indexes)):
        yield published + 3 * DAY + n * timedelta(hours=8)
        price = int((Decimal(ceiling) * PRICING[index]).quantize(Decimal(100)))
        workflow.submit_bid(_manager_of(org), tender, price_fen=price, declaration="我单位承诺所提交投标文件真实、完整。",
                            declaration_accepted=True, uploads=[_pdf(f"{org.name}投标文件")])
    if stage == "open":
        return
    yield tender.bid_deadline + timedelta(minutes=1)
    workflow.close_bidding(staff, tender)
    if stage == "closed":
        return
    yield tender.opening_at + timedelta(minutes=5)
    workflow.open_bids(staff, tender)
    index_by_org = {org.id: i for org, i in zip(bidder_orgs, bidder_indexes)}
    if stage == "scoring":
        yield from _scoring_under_way(tender, [_user(name) for name in EXPERTS], index_by_org, now)
        return
    yield tender.opening_at + DAY
    _score(tender, experts, index_by_org)
    workflow.finish_scoring(staff, tender)
    yield tender.opening_at + DAY + timedelta(hours=2)
    workflow.propose_award(staff, tender)
    if stage == "in_publicity":
        yield now - 2 * DAY
        workflow.start_publicity(staff, tender)
        return
    workflow.start_publicity(staff, tender)
    if stage == "awarded_after_objection":
        loser = next(b for b in tender.bids if b.rank == 2)
        yield tender.publicity_starts_at + 2 * DAY
        objection = workflow.file_objection(_manager_of(loser.organization), tender,
                                            "我单位认为中标候选人的项目团队持证比例不满足招标文件要求，请予复核。", [])
        yield tender.publicity_starts_at + 4 * DAY
        workflow.answer_objection(staff, objection, upheld=False,
                                  answer="经复核，中标候选人项目团队持证社工比例为67%，满足招标文件要求，质疑不成立。")
    yield tender.publicity_ends_at + timedelta(hours=1)
    workflow.confirm_award(staff, tender)
    if contract_spec:
        yield from _contract_flow(tender, contract_spec, staff, now)


def _local_day(moment: datetime) -> date:
    return clock.to_local(moment).date()


def _contract_flow(tender: Tender, spec: dict, staff: User, now: datetime):
    awarded = tender.awarded_at
    manager = _manager_of(tender.awarded_bid.organization)
    start_day = _local_day(awarded + spec["start"] * DAY)
    if "ended" in spec:
        start_day = max(start_day, _local_day(now) - timedelta(days=spec["ended"] + spec["term"]))
    end_day = start_day + timedelta(days=spec["term"])
    yield awarded + spec["drawn"] * DAY
    contract = contract_workflow.create_contract(
        staff, tender, start_date=start_day, end_date=end_day,
        service_content=tender.description,
        quantity="按合同约定的绩效目标提供个案、小组、社区活动等服务，详见绩效目标表。",
        quality="服务符合《社会工作服务指南》及招标文件要求；服务对象满意度不低于约定目标。",
        settlement="按付款计划分期支付；每期在成果验收合格后15个工作日内支付。",
        rights_obligations="采购人负责监督、验收与付款；服务机构按合同提供服务、如实记录服务台账、保护服务对象个人信息。",
        breach_liability="服务机构未达到约定绩效目标的，按比例扣减服务费；严重违约的，采购人有权解除合同。")
    milestones = []
    for title, due, percent, required, _outcome in spec["milestones"]:
        due_day = end_day if due == "end" else start_day + timedelta(days=due)
        milestones.append({"title": title, "due_date": due_day, "required_deliverables": required,
                           "tranche_percent": percent})
    contract_workflow.set_milestones(staff, contract, milestones)
    yield awarded + spec["signed"] * DAY
    contract_workflow.sign_contract(staff, contract, _local_day(clock.now()))
    yield datetime.combine(start_day, datetime.min.time(), tzinfo=clock.LOCAL_TZ) + timedelta(hours=9)
    contract_workflow.start_contract(staff, contract)
    steps = []
    for milestone, (_title, _due, _pct, _req, outcome) in zip(contract.milestones, spec["milestones"]):
        due_at = datetime.combine(milestone.due_date, datetime.min.time(), tzinfo=clock.LOCAL_TZ) + timedelta(hours=10)
        steps.append((due_at, milestone, outcome))
    amend = spec.get("amend")
    voucher = 0
    for due_at, milestone, outcome in steps:
        if amend and due_at > datetime.combine(start_day, datetime.min.time(), tzinfo=clock.LOCAL_TZ) + amend[0] * DAY:
            yield datetime.combine(start_day, datetime.min.time(), tzinfo=clock.LOCAL_TZ) + amend[0] * DAY + timedelta(hours=15)
            days_after, added, targets, reason = amend
            contract_workflow.amend_contract(staff, contract, reason=reason, amended_on=_local_day(clock.now()),
                                             amount_fen=contract.amount_fen + added, **targets)
            amend = None
        if outcome == "pending":
            continue
        yield due_at - 3 * DAY
        contract_workflow.add_deliverable(manager, milestone, _pdf(f"{milestone.title}"), DeliverableKind.REPORT)
        contract_workflow.add_deliverable(manager, milestone, _pdf(f"{milestone.title}签到表"),
                                          DeliverableKind.SIGN_IN_SHEET)
        yield due_at - DAY
        contract_workflow.submit_milestone(manager, milestone)
        if outcome == "submitted":
            continue
        yield due_at + 2 * DAY
        if outcome == "returned":
            contract_workflow.return_milestone(staff, milestone, "签到表缺少服务对象签名，季度报告未附活动照片，请补充后重新提交。")
            continue
        contract_workflow.accept_milestone(staff, milestone, "成果齐全，验收合格。")
        if outcome == "accepted":
            continue
        yield due_at + 5 * DAY
        voucher += 1
        contract_workflow.record_payment(staff, milestone, amount_fen=contract_workflow.tranche_amounts(contract)[milestone.id],
                                         voucher_number=f"PZ{contract.number[-3:]}-{voucher:02d}",
                                         paid_on=_local_day(clock.now()))
    if all(outcome == "paid" for *_rest, outcome in spec["milestones"]):
        yield clock.now() + DAY
        contract_workflow.complete_contract(staff, contract)
        yield clock.now() + DAY
        contract_workflow.close_contract(staff, contract)


def _score(tender: Tender, experts: list[User], index_by_org: dict[int, int]) -> None:
    for expert in experts:
        member = next(m for m in tender.experts if m.user_id == expert.id)
        workflow.declare_conflicts(expert, member, [], "")
        _score_bids(tender, expert, member, workflow.scorable_bids(tender), index_by_org)
        workflow.submit_scores(expert, member)


def _score_bids(tender: Tender, expert: User, member, bids, index_by_org: dict[int, int]) -> None:
    for bid in bids:
        strength = STRENGTH[index_by_org[bid.organization_id]]
        for criterion in tender.criteria:
            points = _points(int(criterion.weight), strength, EXPERT_LEAN[expert.username])
            workflow.save_score(expert, member, bid, criterion, points, "")


def _scoring_under_way(tender: Tender, experts: list[User], index_by_org: dict[int, int], now: datetime):
    """The panel meets after the opening: one expert has scored the first bid, one has only made the
    declaration, and the demo's `expert` has not started; nobody has submitted."""
    members = {m.user_id: m for m in tender.experts}
    first, second = experts[1], experts[2]
    yield max(tender.opening_at + timedelta(hours=3), now - DAY)
    workflow.declare_conflicts(first, members[first.id], [], "")
    _score_bids(tender, first, members[first.id], workflow.scorable_bids(tender)[:1], index_by_org)
    yield clock.now() + timedelta(minutes=40)
    workflow.declare_conflicts(second, members[second.id], [], "")
