"""Demo evaluations: a finished mid-term and final evaluation of the after-school pilot that ended
lately, with surveys, three scoring parties, findings and rectification in every state; the
elderly-care project's mid-term, whose on-site scoring is under way today; the children's project's
mid-term, being prepared for next week; and an indicator template an administrator is drafting.

Each evaluation is a flow for the demo runner (see demo/procurement.py): it yields the moment of its
next step and calls the evaluation workflow then, after the ledgers it measures were imported.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from ..contracts.models import Contract
from ..core import clock
from ..delivery.progress import compute as progress_of
from ..evaluations import indicators, workflow
from ..evaluations.indicators import default_version
from ..evaluations.models import EvaluationRound, RoundKind
from ..extensions import db
from ..procurement.models import ProjectPlan, Tender
from ..registry.models import Organization, OrgKind
from .procurement import PLANS, _manager_of, _pdf, _user

DAY = timedelta(days=1)
PLAN_TITLE = {key: title for key, _offset, title, *_rest in PLANS}

# Days before today the organizations hand in their ledgers at half past eight, about once a month
# (besides the last one, three hours ago): the pilot's mid-term (around its 18th day) and its final
# evaluation (three days after it ends) measure the logs imported by then.
LEDGER_IMPORT_DAYS_AGO = (150, 120, 91, 62, 33, 6)


def ledger_imports(now: datetime) -> tuple[datetime, ...]:
    today = clock.to_local(now).date()
    return tuple(_local(today - days * DAY, 8, 30) for days in LEDGER_IMPORT_DAYS_AGO)

PARTIES = (("第三方评估机构", "70"), ("区民政局", "20"), ("社区代表", "10"))
SATISFACTION_LEAF = "satisfaction.beneficiaries"

# Comments per evaluator-scored leaf: (strong, adequate, weak).
COMMENTS = {
    "management.plan": ("服务方案基于前期需求调研，目标与活动一一对应，执行进度与计划一致。",
                        "方案目标清晰，但部分活动与需求评估结论衔接不够紧密，进度略有滞后。",
                        "需求评估流于形式，活动安排随意，未按计划推进。"),
    "management.team": ("持证社工占比高，督导每月一次且记录完整，团队稳定。",
                        "团队配置基本满足要求，督导记录不够规范，期间更换过一名社工。",
                        "持证比例不足，督导缺失，人员流动频繁。"),
    "management.records": ("台账完整及时，签到表与服务记录相互印证，档案分类清楚。",
                           "台账基本完整，个别活动签到表缺少服务对象签名，照片与记录对应不清。",
                           "台账缺漏较多，部分记录有明显补录痕迹。"),
    "management.risk": ("有安全预案和个人信息保护制度，投诉渠道公开并有处理记录。",
                        "有安全预案，但个人信息保护措施未落实到纸质档案的保管。",
                        "缺少风险预案，服务对象信息随意存放。"),
    "outcome.needs": ("个案目标达成率高，前后测显示服务对象的情绪和社会支持明显改善。",
                      "部分个案有前后测，成效描述以活动过程为主，缺少量化证据。",
                      "未开展前后测，服务成效无从体现。"),
    "outcome.community": ("培育的志愿者队伍已能独立开展活动，居民参与积极。",
                          "志愿者有所发动，但活动仍以社工组织为主，居民自组织尚在起步。",
                          "社区参与度低，活动依赖社工。"),
    "outcome.resources": ("链接学校、社区卫生服务中心等资源，项目获区级媒体报道。",
                          "链接了少量社区资源，宣传以微信公众号为主。",
                          "资源链接不足，缺少对外宣传。"),
    "satisfaction.community": ("社区居委会和街道对项目评价较高，双方配合顺畅。",
                               "社区对服务总体认可，希望加强与居委会的日常沟通。",
                               "社区反映项目与社区工作衔接不足。"),
    "finance.budget": ("资金使用进度与预算一致，支出结构合理。",
                       "执行进度略慢于预算，活动物资支出偏高。",
                       "预算执行偏差较大，且无调整说明。"),
    "finance.compliance": ("专款专用，票据规范，财务凭证完整。",
                           "票据基本合规，个别餐费票据缺少明细。",
                           "存在与项目无关的支出，票据不全。"),
}

# How well a project does on each leaf, relative to its overall quality.
LEAF_LEAN = {"management.plan": .04, "management.team": .02, "management.records": -.10, "management.risk": -.06,
             "outcome.needs": -.02, "outcome.community": .03, "outcome.resources": -.04,
             "satisfaction.community": .05, "finance.budget": .0, "finance.compliance": .06}
# How strictly each evaluator marks.
EVALUATOR_LEAN = {"evaluator": -.02, "evaluator2": .01, "evaluator3": -.04, "bureaueval": .02,
                  "communityeval": .05, "communityeval2": .04}


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_TZ)


def _contract(plan_key: str) -> Contract | None:
    return db.session.execute(
        sa.select(Contract).join(Tender, Tender.id == Contract.tender_id)
        .join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(ProjectPlan.title == PLAN_TITLE[plan_key])).unique().scalar_one_or_none()


def _evaluation_org() -> Organization:
    return db.session.execute(sa.select(Organization).where(Organization.kind == OrgKind.EVALUATION)
                              .order_by(Organization.id)).unique().scalars().first()


def _points(rng: random.Random, weight: Decimal, quality: float, leaf: str, username: str) -> Decimal:
    share = quality + LEAF_LEAN.get(leaf, 0) + EVALUATOR_LEAN.get(username, 0) + rng.uniform(-.04, .04)
    share = min(1.0, max(.3, share))
    value = Decimal(str(float(weight) * share))
    return min(weight, (value * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2)  # half points


def _comment(leaf: str, points: Decimal, weight: Decimal) -> str:
    strong, adequate, weak = COMMENTS[leaf]
    share = points / weight
    return strong if share >= Decimal("0.88") else adequate if share >= Decimal("0.68") else weak


def _score(rng, member, quality: float, leaves=None) -> None:
    user = member.user
    for leaf in leaves if leaves is not None else workflow.scored_leaves(member.round):
        points = _points(rng, leaf.weight, quality, leaf.key, user.username)
        workflow.save_score(user, member, leaf.key, points, _comment(leaf.key, points, leaf.weight))


def _open(staff, round_: EvaluationRound) -> None:
    if progress_of(round_.contract_id).activities == 0:
        raise RuntimeError(f"demo evaluation {round_.title} would open before any service log was imported")
    workflow.open_scoring(staff, round_)


def _prepare(staff, contract, kind, title, start: date, end: date, evaluators: list[tuple[str, int]]):
    """Create the round with the three parties and assign (username, party index) evaluators."""
    round_ = workflow.create_round(staff, contract, kind=kind, title=title, template_version=default_version(),
                                   evaluation_org=_evaluation_org(), scheduled_start=start, scheduled_end=end)
    workflow.set_parties(staff, round_, list(PARTIES))
    members = []
    for username, party in evaluators:
        members.append(workflow.assign_evaluator(staff, round_, _user(username), round_.parties[party]))
    return round_, members


def _closed_project_flow(now: datetime):
    """The after-school pilot: a mid-term and a final evaluation, both finalized, and the
    rectification that followed them."""
    yield now - 50 * DAY
    contract = _contract("afterschool")
    if contract is None:
        return
    staff = _user("procurement")
    manager = _manager_of(contract.organization)
    owner = f"{manager.full_name}（机构负责人）"
    rng = random.Random(20261018)
    start, end = contract.start_date, contract.end_date
    middle = start + (end - start) // 2

    # --- mid-term ---
    yield _local(middle - 12 * DAY, 10)
    mid, members = _prepare(staff, contract, RoundKind.MIDTERM, f"{contract.tender.plan.title}中期评估",
                            middle - 2 * DAY, middle + 2 * DAY,
                            [("evaluator", 0), ("evaluator2", 0), ("bureaueval", 1), ("communityeval", 2)])
    yield _local(middle - 11 * DAY, 9)
    for member in members:
        workflow.declare(member.user, member, related=False)
    yield _local(middle - 4 * DAY, 16)
    workflow.add_evidence(manager, mid, _pdf("中期自评报告"), "中期自评报告")
    workflow.add_evidence(manager, mid, _pdf("前半程服务台账及签到表"), "前半程服务台账及签到表")
    yield _local(middle - 3 * DAY, 17)
    workflow.add_survey(staff, mid, leaf_key=SATISFACTION_LEAF, group_name="参与儿童", surveyed=40, satisfied=35,
                        surveyed_on=middle - 3 * DAY, note="托管点现场问卷，社工协助低年级儿童读题。")
    workflow.add_survey(staff, mid, leaf_key=SATISFACTION_LEAF, group_name="儿童家长", surveyed=30, satisfied=25,
                        surveyed_on=middle - 3 * DAY, note="接送时段现场问卷。")
    yield _local(middle - 2 * DAY, 9)
    _open(staff, mid)
    for hour, member in zip((11, 14, 15, 16), members):
        yield _local(middle - 2 * DAY, hour, 30)
        _score(rng, member, .76)
        workflow.submit_scores(member.user, member)
    yield _local(middle - DAY, 10)
    workflow.finalize(staff, mid)
    records = workflow.add_finding(staff, mid, "部分小组活动签到表缺少服务对象或监护人签名，活动照片与服务记录对应不清。")
    records_item = workflow.add_item(staff, records, action="补齐前半程小组活动签到表的服务对象及监护人签名，照片按活动日期和编号归档。",
                                     owner=owner, deadline=middle + 10 * DAY)
    privacy = workflow.add_finding(staff, mid, "纸质档案在活动室开放存放，儿童及家长的联系方式张贴在公告栏，个人信息保护措施未落实。")
    # Never answered: open, and overdue by now.
    workflow.add_item(staff, privacy, action="纸质档案上锁保管并建立借阅登记制度；撤下公告栏中的个人联系方式，制定个人信息保护制度。",
                      owner=owner, deadline=middle + 12 * DAY)
    yield _local(middle + 7 * DAY, 15)
    workflow.respond(manager, records_item, "已补齐签名并按活动编号重新整理照片，附整改后的签到表扫描件。",
                     [_pdf("整改后签到表扫描件")])
    yield _local(middle + 9 * DAY, 10)
    workflow.close_item(staff, records_item, "抽查6场活动，签名和照片齐全，整改到位。")

    # --- final ---
    yield _local(end - 6 * DAY, 10)
    final, members = _prepare(staff, contract, RoundKind.FINAL, f"{contract.tender.plan.title}末期评估",
                              end + 3 * DAY, end + 4 * DAY,
                              [("evaluator", 0), ("evaluator2", 0), ("evaluator3", 0), ("bureaueval", 1),
                               ("communityeval", 2)])
    yield _local(end - 5 * DAY, 9)
    for member in members:
        workflow.declare(member.user, member, related=False)
    yield _local(end + DAY, 16)
    workflow.add_evidence(manager, final, _pdf("项目总结报告"), "项目总结报告")
    workflow.add_evidence(manager, final, _pdf("项目财务决算表"), "项目财务决算表")
    workflow.add_evidence(manager, final, _pdf("个案服务档案（抽样5份）"), "个案服务档案（抽样5份）")
    workflow.add_survey(staff, final, leaf_key=SATISFACTION_LEAF, group_name="参与儿童", surveyed=45, satisfied=43,
                        surveyed_on=end, note="结项活动现场问卷。")
    workflow.add_survey(staff, final, leaf_key=SATISFACTION_LEAF, group_name="儿童家长", surveyed=38, satisfied=35,
                        surveyed_on=end, note="电话回访38户。")
    yield _local(end + 3 * DAY, 9)
    _open(staff, final)
    for minutes, member in zip((90, 150, 300, 360, 420), members):
        yield _local(end + 3 * DAY, 9) + timedelta(minutes=minutes)
        _score(rng, member, .84)
        workflow.submit_scores(member.user, member)
    yield _local(end + 4 * DAY, 10)
    workflow.finalize(staff, final)
    cases = workflow.add_finding(staff, final, "部分个案缺少结案评估，服务成效证据以过程记录为主，缺少前后测对比。")
    cases_item = workflow.add_item(staff, cases, action="补充5个个案的结案评估报告及前后测对比分析。",
                                   owner=owner, deadline=end + 25 * DAY)
    yield now - DAY - timedelta(hours=4)
    workflow.respond(manager, cases_item, "已补充5个个案的结案评估和前后测量表对比，详见附件。",
                     [_pdf("个案结案评估报告"), _pdf("前后测对比分析")])


def _running_project_flow(now: datetime):
    """The elderly-care project's mid-term: on-site scoring today; one evaluator is still at it."""
    today = clock.to_local(now).date()
    yield _local(today - 12 * DAY, 10, 15)
    contract = _contract("elderly")
    if contract is None:
        return
    staff = _user("procurement")
    manager = _manager_of(contract.organization)
    rng = random.Random(20261121)
    round_, members = _prepare(staff, contract, RoundKind.MIDTERM, f"{contract.tender.plan.title}中期评估",
                               today, today + 3 * DAY,
                               [("evaluator2", 0), ("evaluator", 0), ("bureaueval", 1), ("communityeval2", 2)])
    yield _local(today - 11 * DAY, 9, 40)
    for member in members:
        workflow.declare(member.user, member, related=False)
    yield _local(today - 5 * DAY, 16, 10)
    workflow.add_evidence(manager, round_, _pdf("中期自评报告"), "中期自评报告")
    workflow.add_evidence(manager, round_, _pdf("独居老人探访记录（抽样）"), "独居老人探访记录（抽样）")
    yield _local(today - 2 * DAY, 11, 20)
    workflow.add_evidence(manager, round_, _pdf("中期财务报表"), "中期财务报表")
    workflow.add_survey(staff, round_, leaf_key=SATISFACTION_LEAF, group_name="独居老人", surveyed=50, satisfied=46,
                        surveyed_on=clock.to_local(clock.now()).date(), note="入户问卷，社工代为读题记录。")
    workflow.add_survey(staff, round_, leaf_key=SATISFACTION_LEAF, group_name="老人家属及照顾者", surveyed=20,
                        satisfied=18, surveyed_on=clock.to_local(clock.now()).date(), note="电话回访。")
    # After this morning's ledger import, so the outputs count every entry up to yesterday.
    yield now - timedelta(hours=2, minutes=30)
    _open(staff, round_)
    # The community representative scores after the afternoon's residents' meeting.
    third_party, partial, bureau, _community = members
    for minutes, member in ((120, third_party), (100, bureau)):
        yield now - timedelta(minutes=minutes)
        _score(rng, member, .82)
        workflow.submit_scores(member.user, member)
    yield now - timedelta(minutes=20)
    _score(rng, partial, .80, workflow.scored_leaves(round_)[:5])


def _upcoming_project_flow(now: datetime):
    """The children's project's mid-term, next week: the panel is named, one evaluator has made the
    declaration, the organization has handed in its self-evaluation."""
    today = clock.to_local(now).date()
    yield _local(today - 3 * DAY, 15, 30)
    contract = _contract("children")
    if contract is None:
        return
    staff = _user("procurement")
    manager = _manager_of(contract.organization)
    round_, members = _prepare(staff, contract, RoundKind.MIDTERM, f"{contract.tender.plan.title}中期评估",
                               today + 4 * DAY, today + 6 * DAY,
                               [("evaluator3", 0), ("evaluator2", 0), ("bureaueval", 1), ("communityeval", 2)])
    yield _local(today - 2 * DAY, 9, 10)
    workflow.declare(members[0].user, members[0], related=False)
    yield _local(today - DAY, 17, 40)
    workflow.add_evidence(manager, round_, _pdf("中期自评报告"), "中期自评报告")


def _template_draft_flow(now: datetime):
    """An administrator drafts indicators for children's projects, not yet published."""
    yield now - 4 * DAY
    indicators.create_template(_user("admin"), name="困境儿童服务项目评估指标（试行）",
                               description="在默认指标基础上增加儿童保护与监护人参与的评价内容，征求意见中。")


def evaluation_flows(now: datetime) -> list:
    return [_closed_project_flow(now), _running_project_flow(now), _upcoming_project_flow(now),
            _template_draft_flow(now)]


__all__ = ["evaluation_flows", "ledger_imports"]
