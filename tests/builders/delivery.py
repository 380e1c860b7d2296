"""Builders for the service-delivery tests: two organizations with running contracts awarded through
the real procurement and contract workflows, their social workers (assigned or not), people on their
registers, the people around them in every role, and helpers for activities and ledger files.

Most modules build this world once (`built` through `build_once`, on the module's shared
connection) and load it per test with `world`. Background jobs and the at-rest checks need data
another connection (a job thread, an RQ worker, a file read of the SQLite database) can see: the
`committed_*` fixtures build the same world with real commits and delete every row they added
afterwards (see `RowMarks`)."""
from __future__ import annotations


import csv
import io
from contextlib import contextmanager
from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from svcproc.accounts.models import User
from svcproc.audit.models import AuditChainHead
from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract
from svcproc.core import clock as app_clock
from svcproc.core.permissions import Role
from svcproc.delivery import identity, ledger, services
from svcproc.delivery.models import ActivityType, Beneficiary, ConsentBy, ConsentMethod, Gender
from svcproc.extensions import db
from svcproc.procurement.models import TenderMethod, TenderStatus
from svcproc.registry.models import Area, AreaLevel, Organization, SocialWorker
from tests.conftest import DEFAULT_NOW, AppClient, Clock
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.procurement import make_plan, tender_in
from tests.builders.registry import AreaFactory, OrganizationFactory, SocialWorkerFactory
from tests.helpers import events_after, fields_of, last_seq, login, row_counts


# The world's "today": Monday 16 June 2025, 10:00 in Shanghai.
WORLD_NOW = datetime(2025, 6, 16, 2, 0, tzinfo=timezone.utc)


TODAY = date(2025, 6, 16)


START, END = date(2025, 4, 1), date(2025, 12, 31)              # the organization's contract


OTHER_START, OTHER_END = date(2025, 5, 1), date(2026, 3, 31)   # the other organization's, overlapping


COMMUNITIES = ("玉林北路社区", "黉门街社区")


CONTENT = dict(service_content="独居老人探访、个案、小组和社区活动。", quantity="按绩效目标。", quality="符合服务指南。",
               settlement="分两期支付。", rights_obligations="如实记录服务台账，保护个人信息。", breach_liability="按合同法。")


def id_number(birth: date, seq: int) -> str:
    """A valid identity number (GB 11643) born on `birth`, unique per seq."""
    return identity.make(f"510107{birth:%Y%m%d}{seq % 1000:03d}")


# key: (name, gender, birth date, community index, categories, phone or "", guardian or "")
PEOPLE = {
    "elder": ("王秀英", Gender.FEMALE, date(1948, 3, 9), 0, ["elderly_alone"], "13981234567", ""),
    "second": ("李建国", Gender.MALE, date(1952, 11, 2), 0, ["low_income"], "13987654321", ""),
    "third": ("张桂兰", Gender.FEMALE, date(1950, 7, 21), 1, ["elderly_alone", "disability"], "", ""),
    "child": ("刘子涵", Gender.MALE, date(2016, 5, 1), 1, ["left_behind_child"], "", "刘强"),
    "shared": ("陈玉珍", Gender.FEMALE, date(1945, 1, 30), 0, ["elderly_alone"], "13700001111", ""),
}


# The other organization's register: the same "shared" person (same number), and someone of its own.
OTHER_PEOPLE = {
    "other_shared": ("陈玉珍", Gender.FEMALE, date(1945, 1, 30), 0, ["elderly_alone"], "", ""),
    "other_only": ("孙凤英", Gender.FEMALE, date(1949, 9, 9), 1, [], "13600002222", ""),
}


SEQ = {"elder": 11, "second": 12, "third": 13, "child": 14, "shared": 15, "other_shared": 15, "other_only": 16}


def add_person(actor, organization_id: int, name: str, *, number: str = "", birth_year: int | None = None,
               community: Area, gender=Gender.FEMALE, categories=(), phone: str = "", guardian: str = "",
               consent_by=None, consent_on: date | None = None, sensitive_consent: bool | None = None) -> Beneficiary:
    """A person on a register, through the service (the way the form adds one). The separate consent
    to sensitive data is given when the person has some (unless `sensitive_consent` says otherwise)."""
    consent_on = consent_on or services.today()
    if sensitive_consent is None:
        sensitive_consent = bool(number or phone or set(categories) & {"disability", "low_income"})
    return services.create_beneficiary(
        actor, organization_id, name=name, gender=gender, id_number=number, birth_year=birth_year,
        community=community, categories=list(categories), phone=phone,
        consent_by=consent_by or (ConsentBy.GUARDIAN if guardian else ConsentBy.SELF), guardian_name=guardian,
        consent_method=ConsentMethod.WRITTEN, consent_on=consent_on, **(SENSITIVE_CONSENT(consent_on)
                                                                           if sensitive_consent else {}))


def SENSITIVE_CONSENT(on: date) -> dict:  # noqa: N802  (reads as the values it is)
    """The values of a separate consent to sensitive data given on `on`."""
    return dict(sensitive_consent=True, sensitive_consent_purpose="核实服务对象身份并联系回访", sensitive_consent_on=on)


def running_contract(clock, staff, tender, start: date, end: date) -> Contract:
    """The contract of an awarded tender: drawn up, scheduled, signed and started on its first day."""
    contract = contract_workflow.create_contract(staff, tender, start_date=start, end_date=end, **CONTENT)
    contract_workflow.set_milestones(staff, contract, [
        {"title": "中期评估", "due_date": date(start.year, start.month + 3, 1), "tranche_percent": "50"},
        {"title": "终期评估", "due_date": end, "tranche_percent": "50"}])
    contract_workflow.sign_contract(staff, contract, contract_workflow.today())
    clock.set(datetime(start.year, start.month, start.day, 1, 0, tzinfo=timezone.utc))
    contract_workflow.start_contract(staff, contract)
    return contract


SECOND_START = date(2025, 5, 20)   # the organization's second contract (with second_contract=True)


def build_world(clock, second_contract: bool = False) -> dict:
    """Everything the delivery tests stand on; returns ids (each test loads its own objects)."""
    district = AreaFactory(name="测试武侯区")
    street = AreaFactory(level=AreaLevel.STREET, name="测试玉林街道", parent=district)
    communities = [AreaFactory(level=AreaLevel.COMMUNITY, name=n, parent=street) for n in COMMUNITIES]
    org, other_org = OrganizationFactory(name="甲社会工作服务中心"), OrganizationFactory(name="乙社会工作服务中心")
    users = {
        "manager": UserFactory(role=Role.ORG_MANAGER, organization=org, username="jia-manager"),
        "worker": UserFactory(role=Role.SOCIAL_WORKER, organization=org, username="jia-worker"),
        "idle_worker": UserFactory(role=Role.SOCIAL_WORKER, organization=org, username="jia-idle"),
        "other_manager": UserFactory(role=Role.ORG_MANAGER, organization=other_org, username="yi-manager"),
        "other_worker": UserFactory(role=Role.SOCIAL_WORKER, organization=other_org, username="yi-worker"),
        "procurement": UserFactory(role=Role.PROCUREMENT, username="bureau-staff"),
        "admin": UserFactory(role=Role.ADMIN, username="bureau-admin"),
        "auditor": UserFactory(role=Role.AUDITOR, username="auditor"),
        "expert": UserFactory(role=Role.EXPERT, username="expert"),
        "evaluator": user_for_role(Role.EVALUATOR, username="evaluator"),
    }
    workers = {
        "worker": SocialWorkerFactory(organization=org, name="周婷", user_id=users["worker"].id),
        "second_worker": SocialWorkerFactory(organization=org, name="吴昊"),
        "idle_worker": SocialWorkerFactory(organization=org, name="陈静", user_id=users["idle_worker"].id),
        "other_worker": SocialWorkerFactory(organization=other_org, name="郑洁", user_id=users["other_worker"].id),
    }
    staff = users["procurement"]
    clock.set(DEFAULT_NOW)
    tenders = []
    for winner, manager, title in ((org, users["manager"], "玉林街道独居老人关爱服务项目"),
                                   (other_org, users["other_manager"], "黉门街社区长者服务项目")):
        plan = make_plan(staff, communities=communities, title=title)
        tenders.append(tender_in(TenderStatus.AWARDED, clock, method=TenderMethod.SINGLE_SOURCE, orgs=[winner],
                                 managers=[manager], staff=staff, plan=plan).tender)
    contract = running_contract(clock, staff, tenders[0], START, END)
    other_contract = running_contract(clock, staff, tenders[1], OTHER_START, OTHER_END)
    extra = {}
    if second_contract:
        plan = make_plan(staff, communities=communities, title="玉林街道困境儿童服务项目")
        tender = tender_in(TenderStatus.AWARDED, clock, method=TenderMethod.SINGLE_SOURCE, orgs=[org],
                           managers=[users["manager"]], staff=staff, plan=plan).tender
        extra["second_contract"] = running_contract(clock, staff, tender, SECOND_START, END).id
    clock.set(WORLD_NOW)
    if second_contract:
        services.set_contract_workers(users["manager"], db.session.get(Contract, extra["second_contract"]),
                                      [workers["worker"]])
    services.set_contract_workers(users["manager"], contract, [workers["worker"], workers["second_worker"]])
    services.set_contract_workers(users["other_manager"], other_contract, [workers["other_worker"]])
    people = {}
    for register, owner, manager in ((PEOPLE, org, users["manager"]), (OTHER_PEOPLE, other_org, users["other_manager"])):
        for key, (name, gender, born, where, categories, phone, guardian) in register.items():
            people[key] = add_person(manager, owner.id, name, number=id_number(born, SEQ[key]), gender=gender,
                                     community=communities[where], categories=categories, phone=phone,
                                     guardian=guardian)
    people["no_number"] = add_person(users["manager"], org.id, "赵德明", birth_year=1960, community=communities[1],
                                     gender=Gender.MALE)
    return {
        "now": WORLD_NOW,
        "org": org.id, "other_org": other_org.id, "contract": contract.id, "other_contract": other_contract.id,
        "communities": [c.id for c in communities],
        "users": {k: u.id for k, u in users.items()},
        "workers": {k: w.id for k, w in workers.items()},
        "people": {k: p.id for k, p in people.items()},
        **extra,
    }


class World:
    """The built world loaded into the test's session."""

    def __init__(self, ids: dict):
        self.ids = ids

        def load(model, wanted: dict) -> dict:  # one query per model
            rows = {o.id: o for o in db.session.execute(sa.select(model).where(model.id.in_(set(wanted.values()))))
                    .unique().scalars()}
            return {k: rows[i] for k, i in wanted.items()}

        orgs = load(Organization, {"org": ids["org"], "other_org": ids["other_org"]})
        contracts = load(Contract, {k: ids[k] for k in ("contract", "other_contract", "second_contract") if k in ids})
        self.org, self.other_org = orgs["org"], orgs["other_org"]
        self.contract, self.other_contract = contracts["contract"], contracts["other_contract"]
        self.second_contract = contracts.get("second_contract")
        self.communities = list(load(Area, dict(enumerate(ids["communities"]))).values())
        self.users = load(User, ids["users"])
        self.workers = load(SocialWorker, ids["workers"])
        self.people = load(Beneficiary, ids["people"])

    @property
    def manager(self) -> User:
        return self.users["manager"]

    @property
    def worker(self) -> SocialWorker:
        return self.workers["worker"]

    @staticmethod
    def number(key: str) -> str:
        _name, _gender, born, *_rest = {**PEOPLE, **OTHER_PEOPLE}[key]
        return id_number(born, SEQ[key])

    @staticmethod
    def phone(key: str) -> str:
        return {**PEOPLE, **OTHER_PEOPLE}[key][5]

    def event(self, **values) -> dict:
        """Values of a valid community event on the organization's contract; override any."""
        base = dict(type=ActivityType.COMMUNITY_EVENT, activity_date=date(2025, 6, 10), start_time=time(9, 0),
                    end_time=time(10, 30), community=self.communities[0], place="社区活动室", hours=None,
                    workers=[self.worker], participants=[self.people["elder"], self.people["second"]],
                    head_count=10, topic="防诈骗知识讲座", outcome="", notes="", group=None, session_number=None)
        return {**base, **values}

    def record(self, actor=None, contract=None, **values):
        return services.record_activity(actor or self.manager, contract or self.contract, self.event(**values))


# The service-entry form's words, as the template heads its columns.
HEADER_ZH = ["日期", "开始时间", "结束时间", "服务类型", "社区", "地点", "社工", "参与人员", "其他参与人数", "服务时长（小时）",
             "小组", "节次", "主题", "成果", "备注"]


HEADER_EN = ["Date", "From", "To", "Kind of service", "Community", "Place", "Social workers", "Participants",
             "Others present (head-count)", "Service hours", "Group", "Session number", "Topic", "Outcome", "Notes"]


# The headings earlier templates had, still accepted.
HEADER_OLD_ZH = ["日期", "开始时间", "结束时间", "服务类型", "社区", "地点", "社工", "服务对象身份证号", "其他参与人数", "服务时长",
                 "小组名称", "节次", "主题", "成果", "备注"]


HEADER_OLD_EN = ["date", "start", "end", "type", "community", "place", "workers", "participant id numbers", "head count",
                 "hours", "group", "session", "topic", "outcome", "notes"]


def ledger_row(day="2025-06-02", start="09:00", end="10:30", kind="社区活动", community=COMMUNITIES[0],
               place="社区活动室", workers="周婷", people="", head_count="8", hours="", group="", session="",
               topic="重阳敬老茶话会", outcome="", notes="") -> list[str]:
    return [day, start, end, kind, community, place, workers, people, head_count, hours, group, session, topic,
            outcome, notes]


def csv_bytes(rows, header=None, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header or HEADER_ZH)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=None) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER_ZH)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(data: bytes, name: str = "台账.csv") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


class RowMarks:
    """What every table held at one moment, so the rows added since can be deleted again.

    Tables with an integer key: the highest key; others (association tables, jobs): their keys.
    The audit chain's head row is restored as it was, so the chain stays intact for later tests.
    """

    def __init__(self):
        self.marks = {}
        for table in db.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if len(keys) == 1 and isinstance(keys[0].type, sa.Integer):
                self.marks[table.name] = db.session.execute(sa.select(sa.func.max(keys[0]))).scalar() or 0
            else:
                self.marks[table.name] = set(db.session.execute(sa.select(*keys)))
        self.head = db.session.execute(sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash)
                                       .where(AuditChainHead.id == 1)).first()
        db.session.rollback()

    def remove_newer(self) -> None:
        db.session.rollback()
        # Cut the new rows' optional references first: that breaks the cycles (a tender names its
        # awarded bid, the bid its tender) that no table order can.
        for table in db.metadata.sorted_tables:
            mark = self.marks[table.name]
            optional = {fk.parent.name: None for fk in table.foreign_keys if fk.parent.nullable}
            if isinstance(mark, int) and optional:
                key = list(table.primary_key.columns)[0]
                db.session.execute(sa.update(table).where(key > mark).values(**optional))
        for table in reversed(db.metadata.sorted_tables):
            keys = list(table.primary_key.columns)
            mark = self.marks[table.name]
            if isinstance(mark, int):
                db.session.execute(sa.delete(table).where(keys[0] > mark))
                continue
            for row in set(db.session.execute(sa.select(*keys))) - mark:
                db.session.execute(sa.delete(table).where(*[k == v for k, v in zip(keys, row)]))
        if self.head is not None:
            db.session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1)
                               .values(last_seq=self.head.last_seq, last_hash=self.head.last_hash))
        db.session.commit()


DELIVERY_TABLES = ("beneficiary", "service_activity", "activity_worker", "activity_participant", "activity_revision",
                   "activity_evidence", "service_group", "group_member", "service_case", "import_batch", "red_flag", "red_flag_contract",
                   "job", "stored_file", "file_chunk", "contract_worker", "audit_event", "beneficiary_view")


@contextmanager
def unchanged(*objects):
    """Asserts that what runs inside wrote nothing: the objects' fields, the delivery tables' row
    counts and the audit trail (like tests.helpers.unchanged, for the service-delivery tables)."""
    db.session.flush()
    before = [fields_of(obj) for obj in objects]
    seq, counts = last_seq(), row_counts(DELIVERY_TABLES)  # events recorded so far placed first
    yield
    assert not db.session.new, f"objects added: {db.session.new}"
    for obj, was in zip(objects, before):
        assert fields_of(obj) == was, f"{obj!r} changed"
    assert row_counts(DELIVERY_TABLES) == counts
    assert last_seq() == seq, [e.action for e in events_after(seq)]


def settle_and_wait() -> None:
    """Let the background jobs started so far finish (the test's session holding no lock meanwhile)."""
    from svcproc.core import jobs

    db.session.commit()
    jobs.wait_for_local_jobs()
