"""What the evaluation browser tests find on the live server besides the demo.

- A contract in progress of orgmanager2's organization whose service log is known exactly, so a
  final evaluation of it has output scores one can work out by hand (EVALUATED, EVENTS): the flow
  test runs that evaluation in the browser.
- Two evaluator accounts of our own (tests/builders): 郑晓岚 of the demo's third-party evaluation
  organization (no organization is added: the registry's lists keep their counts) and 冯国强, the
  bureau's evaluator, with the demo password.
- On the same contract a mid-term evaluation still being prepared, with 冯国强 assigned and not yet
  declared (the round page in its first state and the declaration form, for the accessibility test).
- A second indicator template with its version 1 still a draft (the template editor).
- The ids of the demo's own evaluations: a finalized one (a final evaluation if there is one) and
  one being scored, with an evaluator who has not submitted yet. If the demo has none in a state,
  one is built here on the contract above (a special evaluation), so the pages can still be checked.

Built with the workflow functions, as contract_world is, with the clock moved through the dates;
called from conftest's `_load_schema_and_demo` inside its app context.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from svcproc.demo import EVALUATION_ORG as DEMO_EVALUATION_ORG

from .contract_world import _award, _user
from .helpers import DEMO_PASSWORD

DAY = timedelta(days=1)
# Targets of zero ask for nothing (full marks); 4 events and 100 person-times are measured.
EVALUATED = dict(title="浆洗街道社区心理健康支持服务项目", community="510107002002", bidder="orgmanager2",
                 price_fen=196_000_00, budget_fen=200_000_00, days_ago=200,
                 targets=dict(target_cases=0, target_groups=0, target_group_sessions=0, target_events=4,
                              target_person_times=100, target_people=0, target_service_hours=0,
                              target_satisfaction=90))
EVENTS = 4          # community events in the log, each with this head-count:
EVENT_HEAD_COUNT = 20
EVALUATION_ORG = DEMO_EVALUATION_ORG[1]  # the demo's evaluation centre, by name
# username -> full name; the first works for EVALUATION_ORG, the second for nobody (the bureau's).
EVALUATORS = {"evalflow1": "郑晓岚", "evalflow2": "冯国强"}


def _local(day, hour: int):
    from svcproc.core import clock

    return datetime.combine(day, time(hour), tzinfo=clock.LOCAL_TZ)


def _evaluators():
    from svcproc.core.permissions import Role
    from svcproc.extensions import db
    from svcproc.registry.models import Organization, OrgKind
    from tests.builders.accounts import UserFactory, user_for_role

    org = db.session.execute(sa.select(Organization).where(Organization.kind == OrgKind.EVALUATION,
                                                           Organization.name == EVALUATION_ORG)).unique().scalar_one()
    (first, second) = EVALUATORS
    return org, {
        first: user_for_role(Role.EVALUATOR, org, username=first, full_name=EVALUATORS[first], password=DEMO_PASSWORD),
        second: UserFactory(role=Role.EVALUATOR, organization=None, username=second, full_name=EVALUATORS[second],
                            password=DEMO_PASSWORD),
    }


def _contract_with_a_log():
    """The award, the contract signed and started about half a year ago, EVENTS events logged."""
    from svcproc.contracts import workflow as contracts
    from svcproc.core import clock
    from svcproc.delivery import services as delivery
    from svcproc.delivery.models import ActivityType
    from svcproc.extensions import db
    from svcproc.registry.models import Area, SocialWorker

    tender = _award(EVALUATED)
    clock.freeze(clock.now() + DAY)
    staff = _user("procurement")
    start = contracts.today() + 3 * DAY
    contract = contracts.create_contract(
        staff, tender, start_date=start, end_date=start + 364 * DAY, service_content=tender.description,
        quantity="社区心理健康讲座与互助活动4场，服务100人次。", quality="服务符合《社会工作服务指南》。",
        settlement="按付款计划分期支付。", rights_obligations="采购人监督验收，服务机构如实记录服务台账。",
        breach_liability="未达到约定绩效目标的，按比例扣减服务费。")
    contracts.set_milestones(staff, contract, [
        {"title": "项目启动：服务方案", "due_date": start + 30 * DAY, "required_deliverables": "服务方案",
         "tranche_percent": "30"},
        {"title": "末期评估与项目总结", "due_date": contract.end_date, "required_deliverables": "总结报告",
         "tranche_percent": "70"}])
    contracts.sign_contract(staff, contract, contracts.today())
    clock.freeze(_local(start, 9))
    contracts.start_contract(staff, contract)

    clock.freeze(_local(start + 120 * DAY, 18))
    manager = _user(EVALUATED["bidder"])
    worker = db.session.execute(sa.select(SocialWorker).where(SocialWorker.organization_id == contract.organization_id)
                                .order_by(SocialWorker.id).limit(1)).unique().scalar_one()
    delivery.set_contract_workers(manager, contract, [worker])
    community = db.session.execute(sa.select(Area).where(Area.code == EVALUATED["community"])).unique().scalar_one()
    for n in range(EVENTS):
        delivery.record_activity(manager, contract, dict(
            type=ActivityType.COMMUNITY_EVENT, activity_date=start + (10 + 30 * n) * DAY, start_time=time(9, 30),
            end_time=time(11, 30), community=community, place="社区活动室", head_count=EVENT_HEAD_COUNT,
            topic=f"社区心理健康讲座第{n + 1}场", workers=[worker], participants=[]))
    return contract


def _built_round(staff, contract, org, evaluator, title: str, finalized: bool) -> int:
    """A special evaluation of `contract` with one party and one evaluator, taken to scoring (three
    indicators scored) or finalized. Only when the demo has no evaluation in that state."""
    from svcproc.contracts.workflow import today
    from svcproc.evaluations import workflow
    from svcproc.evaluations.indicators import default_version
    from svcproc.evaluations.models import RoundKind

    round_ = workflow.create_round(staff, contract, kind=RoundKind.SPECIAL, title=title,
                                   template_version=default_version(), evaluation_org=org,
                                   scheduled_start=today(), scheduled_end=today() + DAY)
    workflow.set_parties(staff, round_, [("第三方评估机构", "100")])
    member = workflow.assign_evaluator(staff, round_, evaluator, round_.parties[0])
    workflow.declare(evaluator, member, related=False)
    for leaf in workflow.satisfaction_leaves(round_):
        workflow.add_survey(staff, round_, leaf_key=leaf.key, group_name="服务对象", surveyed=30, satisfied=27)
    workflow.open_scoring(staff, round_)
    leaves = workflow.scored_leaves(round_)
    for leaf in leaves if finalized else leaves[:3]:
        workflow.save_score(evaluator, member, leaf.key, leaf.weight - 1, "基本达到要求，资料较完整。")
    if finalized:
        workflow.submit_scores(evaluator, member)
        workflow.finalize(staff, round_)
    return round_.id


def _demo_rounds(staff, contract, org, users) -> dict:
    """A finalized evaluation and one being scored (with an evaluator still at it): the demo's if it
    has them, else built on `contract`."""
    from svcproc.evaluations.models import EvaluationRound, RoundEvaluator, RoundKind, RoundStatus
    from svcproc.extensions import db

    finalized = db.session.execute(
        sa.select(EvaluationRound.id).where(EvaluationRound.status == RoundStatus.FINALIZED)
        .order_by((EvaluationRound.kind == RoundKind.FINAL).desc(), EvaluationRound.id).limit(1)).scalar()
    if finalized is None:
        finalized = _built_round(staff, contract, org, users["evalflow1"], "社区心理健康服务专项评估", finalized=True)
    scoring = db.session.execute(
        sa.select(EvaluationRound.id, RoundEvaluator.user_id)
        .join(RoundEvaluator, RoundEvaluator.round_id == EvaluationRound.id)
        .where(EvaluationRound.status == RoundStatus.SCORING, RoundEvaluator.declared_at.is_not(None),
               RoundEvaluator.conflicted.is_(False), RoundEvaluator.submitted_at.is_(None))
        .order_by(EvaluationRound.id, RoundEvaluator.id).limit(1)).first()
    if scoring is None:
        scoring_id = _built_round(staff, contract, org, users["evalflow1"], "社区心理健康服务过程评估", finalized=False)
        scorer = "evalflow1"
    else:
        from svcproc.accounts.models import User

        scoring_id, scorer = scoring[0], db.session.get(User, scoring[1]).username
    return {"round_finalized": finalized, "round_scoring": scoring_id, "scorer": scorer}


def add_evaluation_world() -> dict:
    from svcproc.contracts.workflow import today
    from svcproc.core import clock
    from svcproc.evaluations import indicators, workflow
    from svcproc.evaluations.models import RoundKind

    previous = clock.frozen()
    now = clock.now()
    try:
        contract = _contract_with_a_log()
        clock.freeze(now - timedelta(hours=3))
        staff = _user("procurement")
        org, users = _evaluators()
        planned = workflow.create_round(staff, contract, kind=RoundKind.MIDTERM, title=f"{contract.title}中期评估",
                                        template_version=indicators.default_version(), evaluation_org=org,
                                        scheduled_start=today() + 7 * DAY, scheduled_end=today() + 9 * DAY)
        workflow.set_parties(staff, planned, [("第三方评估机构", "80"), ("区民政局", "20")])
        workflow.assign_evaluator(staff, planned, users["evalflow2"], planned.parties[1])
        draft = indicators.create_template(_user("admin"), name="社区营造项目评估指标（试行）",
                                           description="在默认指标基础上增加居民议事的权重。")
        default = indicators.default_version()
        ids = {"contract_evaluated": contract.id, "round_planned": planned.id,
               "template_default": default.template_id, "version_default": default.id,
               "template_draft": draft.id, "version_draft": draft.versions[0].id}
        ids.update(_demo_rounds(staff, contract, org, users))
        return ids
    finally:
        clock.freeze(previous)
