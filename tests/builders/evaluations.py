"""Builders for the evaluation tests: the service-delivery world (an organization with a running
contract, its people and everyone around it) plus an evaluation organization, evaluators for three
scoring parties, ten community events in the logs and a small published template whose numbers are
easy to follow by hand. Rounds are driven through the real workflow into any status.

Modules build the world once (`built`, on the module's shared connection) and load it per test
with `world`; each test then runs in a savepoint rolled back afterwards."""
from __future__ import annotations


from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.accounts.models import User
from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationRound, RoundEvaluator, RoundKind, RoundStatus, TemplateVersion
from svcproc.extensions import db
from svcproc.procurement.models import TenderMethod, TenderStatus
from svcproc.registry.models import Organization, OrgKind
from tests.builders.delivery import CONTENT, World, build_world
from tests.builders.accounts import UserFactory
from tests.builders.procurement import make_plan, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import events_after, fields_of, last_seq


D = Decimal


TODAY = date(2025, 6, 16)        # the delivery world's today


EVENT_DAYS = [date(2025, 5, 1) + timedelta(days=3 * i) for i in range(10)]   # ten community events


# A small template: evaluator leaves a.x and a.y (20 each), an output leaf on the contract's
# community events (30; target 12) and a satisfaction leaf (30; target rate 90 %).
SMALL_ROWS = [
    {"key": "a", "name": "项目管理", "weight": "40", "kind": ""},
    {"key": "a.x", "name": "项目方案", "weight": "20", "kind": "evaluator", "guide": "目标与活动对应"},
    {"key": "a.y", "name": "团队督导", "weight": "20", "kind": "evaluator", "guide": "督导频次与记录"},
    {"key": "b", "name": "产出与满意度", "weight": "60", "kind": ""},
    {"key": "b.events", "name": "社区活动场次", "weight": "30", "kind": "output", "target": "target_events"},
    {"key": "b.sat", "name": "服务对象满意度", "weight": "30", "kind": "satisfaction"},
]


SMALL_NAME = "测试评估指标（简）"


PARTIES = (("第三方", "70"), ("区民政局", "20"), ("社区", "10"))


TEAM = {"第三方": ("tp1", "tp2", "tp3"), "区民政局": ("bureau",), "社区": ("cm1", "cm2")}


SURVEY = (50, 46)    # 92 % satisfied: above the 90 % target, full marks


EVAL_TABLES = ("indicator_template", "template_version", "evaluation_round", "evaluation_party", "round_evaluator",
               "evaluation_score", "satisfaction_survey", "evaluation_evidence", "evaluation_finding",
               "rectification_item", "rectification_response", "rectification_response_file", "stored_file",
               "service_activity", "bid", "audit_event")


# Who acts for each role in the parametrised permission tests (the organization's manager is the
# manager of the evaluated organization).
ROLE_USER = {Role.ADMIN: "admin", Role.PROCUREMENT: "procurement", Role.EXPERT: "expert",
             Role.ORG_MANAGER: "manager", Role.SOCIAL_WORKER: "worker", Role.EVALUATOR: "evaluator",
             Role.AUDITOR: "auditor"}


ALL_ROLES = [*Role, None]


def build_eval_world(clock) -> dict:
    ids = build_world(clock)
    world = World(ids)
    eval_org = OrganizationFactory(name="丙评估中心", kind=OrgKind.EVALUATION)
    other_eval_org = OrganizationFactory(name="丁评估中心", kind=OrgKind.EVALUATION)
    people = {
        "tp1": UserFactory(role=Role.EVALUATOR, organization=eval_org, username="tp1", full_name="评估员甲"),
        "tp2": UserFactory(role=Role.EVALUATOR, organization=eval_org, username="tp2", full_name="评估员乙"),
        "tp3": UserFactory(role=Role.EVALUATOR, organization=eval_org, username="tp3", full_name="评估员丙"),
        "bureau": UserFactory(role=Role.EVALUATOR, organization=None, username="bureau-eval", full_name="民政评估员"),
        "cm1": UserFactory(role=Role.EVALUATOR, organization=other_eval_org, username="cm1", full_name="社区代表甲"),
        "cm2": UserFactory(role=Role.EVALUATOR, organization=other_eval_org, username="cm2", full_name="社区代表乙"),
        # An evaluator account held by staff of the evaluated organization.
        "insider": UserFactory(role=Role.EVALUATOR, organization=world.org, username="insider", full_name="内部人"),
        "inactive": UserFactory(role=Role.EVALUATOR, organization=eval_org, username="gone", active=False),
    }
    # Ten community events on the organization's contract: 12 person-times each, two distinct people.
    for day in EVENT_DAYS:
        world.record(activity_date=day)
    admin = world.users["admin"]
    template = indicators.create_template(admin, name=SMALL_NAME, rows=indicators.clean_rows(SMALL_ROWS),
                                          bands=indicators.default_bands_rows())
    indicators.publish_version(admin, template.latest)
    ids["users"].update({k: u.id for k, u in people.items()})
    ids.update(eval_org=eval_org.id, other_eval_org=other_eval_org.id, small=template.latest.id,
               default=indicators.default_version().id, now=clock.now)
    return ids


class EvalWorld(World):
    def __init__(self, ids: dict):
        super().__init__(ids)
        get = db.session.get
        self.eval_org = get(Organization, ids["eval_org"])
        self.other_eval_org = get(Organization, ids["other_eval_org"])
        self.small = get(TemplateVersion, ids["small"])
        self.default = get(TemplateVersion, ids["default"])

    @property
    def staff(self) -> User:
        return self.users["procurement"]

    @property
    def admin(self) -> User:
        return self.users["admin"]

    def user(self, role_or_name) -> User | None:
        if role_or_name is None:
            return None
        key = ROLE_USER.get(role_or_name, role_or_name)
        return self.users[key]

    # --- rounds ---------------------------------------------------------------------------------

    def new_round(self, *, contract=None, kind=RoundKind.FINAL, version=None, evaluation_org="eval_org",
                  start=TODAY, end=TODAY + timedelta(days=14), target_percent=None, title="末期评估") -> EvaluationRound:
        org = self.eval_org if evaluation_org == "eval_org" else evaluation_org
        return ev.create_round(self.staff, contract or self.contract, kind=kind, title=title,
                               template_version=version or self.small, evaluation_org=org, scheduled_start=start,
                               scheduled_end=end, target_percent=target_percent)

    def prepared(self, *, parties=PARTIES, team=None, survey=SURVEY, **options) -> EvaluationRound:
        """A planned round with its parties, evaluators and (for the small template) a survey."""
        round_ = self.new_round(**options)
        ev.set_parties(self.staff, round_, list(parties))
        team = team if team is not None else {name: TEAM.get(name, ()) for name, _w in parties}
        by_name = {p.name: p for p in round_.parties}
        for party, names in team.items():
            for name in names:
                ev.assign_evaluator(self.staff, round_, self.users[name], by_name[party])
        if survey:
            for leaf in ev.satisfaction_leaves(round_):
                ev.add_survey(self.staff, round_, leaf_key=leaf.key, group_name="服务对象", surveyed=survey[0],
                              satisfied=survey[1])
        return round_

    def scoring(self, **options) -> EvaluationRound:
        round_ = self.prepared(**options)
        ev.open_scoring(self.staff, round_)
        return round_

    def member(self, round_: EvaluationRound, name: str) -> RoundEvaluator:
        user = self.users[name]
        return next(m for m in round_.evaluators if m.user_id == user.id)

    def score(self, round_, name: str, points=None, *, declare=True, submit=True, comment="符合要求") -> RoundEvaluator:
        """`name` declares no relation, gives every evaluator leaf `points[key]` (default: full
        marks times 0.8) with a comment and submits."""
        member = self.member(round_, name)
        user = self.users[name]
        if declare and member.declared_at is None:
            ev.declare(user, member, related=False)
        for leaf in ev.scored_leaves(round_):
            value = (points or {}).get(leaf.key, (leaf.weight * D("0.8")).quantize(D("0.01")))
            ev.save_score(user, member, leaf.key, str(value), comment)
        if submit:
            ev.submit_scores(user, member)
        return member

    def finalized(self, points=None, **options) -> EvaluationRound:
        round_ = self.scoring(**options)
        for member in list(round_.evaluators):
            if not member.conflicted:
                self.score(round_, self._name_of(member), points)
        ev.finalize(self.staff, round_)
        return round_

    def _name_of(self, member: RoundEvaluator) -> str:
        return next(k for k, u in self.users.items() if u.id == member.user_id)

    def round_in(self, status, **options) -> EvaluationRound:
        """A round with one third-party evaluator (tp1), driven into `status`."""
        status = RoundStatus(status)
        options = {"parties": (("第三方", "100"),), "team": {"第三方": ("tp1",)}, **options}
        if status == RoundStatus.PLANNED:
            return self.prepared(**options)
        if status == RoundStatus.SCORING:
            return self.scoring(**options)
        if status == RoundStatus.FINALIZED:
            return self.finalized(**options)
        round_ = self.prepared(**options)
        ev.cancel(self.staff, round_, "项目调整，取消本次评估。")
        return round_

    def another_contract(self, clock, *, fiscal_year: int, title: str = "玉林街道困境儿童服务项目") -> Contract:
        """A signed contract of the organization's on a plan of `fiscal_year` (the clock moves on)."""
        staff = self.staff
        plan = make_plan(staff, fiscal_year=fiscal_year, communities=[self.communities[0]], title=title)
        tender = tender_in(TenderStatus.AWARDED, clock, method=TenderMethod.SINGLE_SOURCE, orgs=[self.org],
                           managers=[self.manager], staff=staff, plan=plan).tender
        start = contract_workflow.today() + timedelta(days=7)
        contract = contract_workflow.create_contract(staff, tender, start_date=start,
                                                     end_date=start + timedelta(days=300), **CONTENT)
        contract_workflow.set_milestones(staff, contract, [
            {"title": "终期", "due_date": start + timedelta(days=300), "tranche_percent": "100"}])
        contract_workflow.sign_contract(staff, contract, contract_workflow.today())
        return contract


def eval_row_counts() -> tuple:
    """Row counts of EVAL_TABLES in one statement (a refusal test reads them twice)."""
    counts = ", ".join(f"(SELECT count(*) FROM {name})" for name in EVAL_TABLES)
    return tuple(db.session.execute(sa.text(f"SELECT {counts}")).one())


@contextmanager
def unchanged(*objects):
    """What runs inside wrote nothing: the objects' fields (as the session holds them, which is
    what a view would commit), the evaluation tables' row counts and the audit trail."""
    db.session.flush()
    before = [fields_of(obj) for obj in objects]
    seq, counts = last_seq(), eval_row_counts()  # events recorded so far placed first
    yield
    assert not db.session.new, f"objects added: {db.session.new}"
    assert not db.session.deleted, f"objects deleted: {db.session.deleted}"
    for obj, was in zip(objects, before):
        assert fields_of(obj) == was, f"{obj!r} changed"
    db.session.flush()
    assert eval_row_counts() == counts
    assert last_seq() == seq, [e.action for e in events_after(seq)]


def actions_after(seq: int) -> list[str]:
    return [e.action for e in events_after(seq)]


def stored(obj):
    """The object as the database holds it (the session's copy refreshed)."""
    db.session.flush()
    db.session.refresh(obj)
    return obj


def count_of(model, *where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model)
    if where:
        stmt = stmt.where(*where)
    return db.session.execute(stmt).scalar_one()

