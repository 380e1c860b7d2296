"""A contract worth reporting on, built once per module: the service-delivery world (people with
identity numbers on the register, a running contract) with service entries, a red flag, and a
finalized final evaluation with a finding and a rectification item. The contract's title and the
finding carry markup that tries to make the renderer read a local file.

Rendering a PDF takes about a second; modules render once (`rendered`) and read the bytes back.
"""
from __future__ import annotations

import io
import zipfile
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.contracts.models import Contract
from svcproc.core import files
from svcproc.core.permissions import Role
from svcproc.delivery.models import ActivityType
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import RoundKind
from svcproc.extensions import db
from svcproc.registry.models import OrgKind
from svcproc.reports import services
from svcproc.reports.models import GeneratedReport, ReportKind
from tests.builders.delivery import PEOPLE, World, build_world
from tests.builders.accounts import user_for_role
from tests.builders.registry import OrganizationFactory

HOSTILE = '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
TITLE_SUFFIX = "（评估）" + HOSTILE
FINDING = "签到表缺少服务对象签名。" + HOSTILE


def add_entries(world: World) -> None:
    people = world.people
    for i, day in enumerate((date(2025, 5, 6), date(2025, 5, 20), date(2025, 6, 3), date(2025, 6, 10))):
        world.record(activity_date=day, participants=[people["elder"], people["second"], people["child"]],
                     head_count=12 + i, topic=f"社区活动第{i + 1}场")
    # The same worker in an overlapping entry: a red flag, explained.
    world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 10), start_time=time(10, 0),
                 end_time=time(11, 0), participants=[people["third"]], head_count=0, topic="个案探访")


def finalize_evaluation(world: World, staff) -> None:
    eorg = OrganizationFactory(kind=OrgKind.EVALUATION, name="蓉城第三方评估中心")
    evaluators = [user_for_role(Role.EVALUATOR, eorg), user_for_role(Role.EVALUATOR)]
    today = ev.today()
    round_ = ev.create_round(staff, world.contract, kind=RoundKind.FINAL, title="末期评估",
                             template_version=indicators.default_version(), evaluation_org=eorg,
                             scheduled_start=today, scheduled_end=today + timedelta(days=5))
    ev.set_parties(staff, round_, [("第三方", "70"), ("区民政局", "30")])
    for user, party in zip(evaluators, round_.parties):
        ev.assign_evaluator(staff, round_, user, party)
    ev.add_survey(staff, round_, leaf_key="satisfaction.beneficiaries", group_name="服务对象", surveyed=40,
                  satisfied=37)
    ev.open_scoring(staff, round_)
    for user, share in zip(evaluators, (Decimal("0.9"), Decimal("0.8"))):
        member = next(m for m in round_.evaluators if m.user_id == user.id)
        ev.declare(user, member, related=False)
        for leaf in ev.scored_leaves(round_):
            ev.save_score(user, member, leaf.key, (leaf.weight * share).quantize(Decimal("0.01")), "较好")
        ev.submit_scores(user, member)
    ev.finalize(staff, round_)
    finding = ev.add_finding(staff, round_, FINDING)
    ev.add_item(staff, finding, action="补齐签到表签名。", owner="项目主管", deadline=today + timedelta(days=30))


def build_report_world(clock) -> dict:
    ids = build_world(clock)
    world = World(ids)
    add_entries(world)
    from svcproc.delivery.flags import explain_flag
    from svcproc.delivery.models import RedFlag

    flag = db.session.execute(sa.select(RedFlag).where(RedFlag.contract_id == world.contract.id)).scalars().first()
    if flag is not None:
        explain_flag(world.manager, flag, "个案探访与社区活动为同一地点，社工中途离开半小时。")
    world.contract.title = world.contract.title + TITLE_SUFFIX
    finalize_evaluation(world, world.users["procurement"])
    db.session.flush()
    return ids


def render_assessment(contract_id: int, locale: str = "zh_CN") -> int:
    report = services.generate(None, ReportKind.ASSESSMENT, contract_id, locale)
    return report.id


# Every kind of report a reader may hold: the audit package's is the assessment inside its ZIP.
KINDS = ("assessment", "portfolio", "organization", "audit_package")


def build_every_kind(clock) -> dict:
    """The report world with the contract's assessment (Chinese), the fiscal year's portfolio
    (Chinese), the organization's history (English) and the contract's audit package, each made once;
    `report_built` of a module that asks for every kind."""
    ids = build_report_world(clock)
    ids["report_id"] = render_assessment(ids["contract"])
    contract = db.session.get(Contract, ids["contract"])
    ids["kinds"] = {
        "assessment": ids["report_id"],
        "portfolio": services.generate(None, ReportKind.PORTFOLIO, contract.tender.plan.fiscal_year, "zh_CN").id,
        "organization": services.generate(None, ReportKind.ORGANIZATION, contract.organization_id, "en").id,
    }
    package = services.build_package(None, contract, db.session.get(GeneratedReport, ids["report_id"]))
    ids["package_file_id"] = package.file_id
    return ids


def report_of(built: dict, kind: str) -> GeneratedReport:
    """The kept report of a kind (of `build_every_kind`)."""
    return db.session.get(GeneratedReport, built["kinds"]["assessment" if kind == "audit_package" else kind])


def pdf_of(built: dict, kind: str) -> bytes:
    """The file a reader holds: the kept copy, or the report.pdf of the audit package."""
    if kind == "audit_package":
        package = db.session.get(files.StoredFile, built["package_file_id"])
        with zipfile.ZipFile(io.BytesIO(files.read(package))) as archive:
            return archive.read("report.pdf")
    return files.read(report_of(built, kind).file)


@pytest.fixture(scope="module")
def report_built(build_once):
    def build(clock):
        ids = build_report_world(clock)
        ids["report_id"] = render_assessment(ids["contract"])
        return ids

    return build_once(build)


@pytest.fixture
def report_world(report_built, clock) -> World:
    clock.set(report_built["now"])
    return World(report_built)


@pytest.fixture
def stored_report(report_built) -> GeneratedReport:
    return db.session.get(GeneratedReport, report_built["report_id"])


@pytest.fixture
def pdf_bytes(report_built) -> bytes:
    report = db.session.get(GeneratedReport, report_built["report_id"])
    return files.read(report.file)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def all_names_and_numbers() -> list[str]:
    from tests.builders.delivery import OTHER_PEOPLE, SEQ, id_number

    values = []
    for key, (name, _g, born, *_rest) in {**PEOPLE, **OTHER_PEOPLE}.items():
        values += [name, id_number(born, SEQ[key])]
    return values + ["赵德明"]


