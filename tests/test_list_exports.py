"""Every list a person takes to Excel, as CSV and XLSX (core/exports.py `export_response`): the
service ledger of a contract, contracts, payments, the beneficiary register, red flags (the
district's and a contract's), rectification items and community needs.

The world is the service-delivery one (two organizations, each with a running contract, people
with identity numbers and phones on both registers, every role around them), plus entries on both
logs with a red flag on each, a payment on each contract, a rectification item on each contract
and two residents' needs. Text a spreadsheet would run as a formula is planted in each list.

For each export: each person gets exactly the rows the list page scopes to them (the same
`visible_<things>` rule) or 403; the list's filters narrow the export as they narrow the page; no
cell starts a formula; no full identity number or phone is anywhere in any export; the number of
SQL statements does not grow with the rows; past the row cap the export says where it stopped.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, time, timedelta
from html import unescape

import openpyxl
import pytest
import sqlalchemy as sa

from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract, DeliverableKind
from svcproc.core import exports
from svcproc.delivery.flags import explain_flag
from svcproc.delivery.models import ActivityType, RedFlag
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import RoundKind, RoundStatus
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement.models import CommunityNeed, ServiceCategory
from tests.builders.delivery import OTHER_PEOPLE, PEOPLE, add_person
from tests.builders.evaluations import TODAY, EvalWorld, build_eval_world
from tests.builders.files import pdf_upload
from tests.helpers import login, readable_text

pytestmark = pytest.mark.usefixtures("shared_connection")

DANGEROUS = ("=", "+", "-", "@")
NEED_PHONES = ("13912345678", "13800138000")

# Text planted where people type, one piece per list, each a formula if a spreadsheet ran it.
PLANTED = {
    "person": '=HYPERLINK("http://example.invalid","点我")',
    "topic": "+1+cmd|' /C calc'!A0",
    "voucher": "@PZ-JIA-1",
    "explanation": "-2+3 社工中途离开，已核实",
    "action": "@SUM(A1) 补齐签到表",
    "need": "=1+1 社区希望开设老年食堂",
    "title": "-玉林街道独居老人关爱服务项目",
}


def _pay(world: EvalWorld, contract: Contract, voucher: str, paid_on: date) -> None:
    """The contract's first milestone delivered, accepted and paid in full."""
    manager = world.manager if contract.id == world.contract.id else world.users["other_manager"]
    milestone = contract.milestones[0]
    contract_workflow.add_deliverable(manager, milestone, pdf_upload("中期报告.pdf"), DeliverableKind.REPORT)
    contract_workflow.submit_milestone(manager, milestone)
    contract_workflow.accept_milestone(world.staff, milestone, "成果齐全。")
    amount = contract_workflow.tranche_amounts(contract)[milestone.id]
    contract_workflow.record_payment(world.staff, milestone, amount_fen=amount, voucher_number=voucher,
                                     paid_on=paid_on)


def _item(world: EvalWorld, contract: Contract, action: str, kind=RoundKind.FINAL):
    round_ = world.round_in(RoundStatus.SCORING, contract=contract, kind=kind, title="评估")
    finding = ev.add_finding(world.staff, round_, "服务台账不完整")
    return ev.add_item(world.staff, finding, action=action, owner="项目主管", deadline=TODAY + timedelta(days=10))


def build_export_world(clock) -> dict:
    ids = build_eval_world(clock)
    world = EvalWorld(ids)
    people = world.people
    # Entries on both logs, each log with a worker in two overlapping entries (a red flag each).
    world.record(activity_date=date(2025, 5, 6), topic="重阳敬老茶话会")
    world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 10), start_time=time(10, 0),
                 end_time=time(11, 0), participants=[people["third"]], head_count=0, topic=PLANTED["topic"])
    world.record(activity_date=date(2025, 6, 10), topic="防诈骗知识讲座")
    other = world.users["other_manager"]
    other_event = dict(workers=[world.workers["other_worker"]], participants=[people["other_only"]],
                       community=world.communities[1])
    world.record(other, world.other_contract, activity_date=date(2025, 6, 3), topic="乙机构长者生日会", **other_event)
    world.record(other, world.other_contract, activity_date=date(2025, 6, 3), start_time=time(10, 0),
                 end_time=time(11, 30), topic="乙机构健康讲座", **other_event)
    flag = db.session.execute(sa.select(RedFlag).where(RedFlag.contract_id == world.contract.id)).scalars().first()
    explain_flag(world.staff, flag, PLANTED["explanation"])
    # A person whose name is a formula, on the organization's register.
    add_person(world.manager, world.org.id, PLANTED["person"], birth_year=1958, community=world.communities[0])
    world.contract.title = PLANTED["title"]
    _pay(world, world.contract, PLANTED["voucher"], date(2025, 6, 12))
    _pay(world, world.other_contract, "PZ-YI-1", date(2025, 5, 28))
    _item(world, world.contract, PLANTED["action"])
    _item(world, world.other_contract, "乙机构整改事项")
    needs = [need_services.submit_need(community=world.communities[0], category=ServiceCategory.ELDERLY,
                                       description=PLANTED["need"], contact_name="王阿姨", contact_phone=NEED_PHONES[0]),
             need_services.submit_need(community=world.communities[1], category=ServiceCategory.CHILDREN,
                                       description="放学后无人看护的儿童较多", contact_name="李叔叔",
                                       contact_phone=NEED_PHONES[1])]
    db.session.flush()
    ids["needs"] = [n.id for n in needs]
    return ids


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_export_world)


@pytest.fixture
def world(built, clock) -> EvalWorld:
    clock.set(built["now"])
    return EvalWorld(built)


# --- the exports, their pages and what marks each row ------------------------------------------------

# Who is who: each role of the matrix, and the other organization's staff.
PEOPLE_OF = ("admin", "procurement", "expert", "manager", "worker", "evaluator", "auditor", "other_manager",
             "other_worker")
BUREAU = {"admin", "procurement", "auditor"}


def _org(who: str) -> str | None:
    return {"manager": "jia", "worker": "jia", "other_manager": "yi", "other_worker": "yi"}.get(who)


def _contract_numbers(world) -> dict[str, str]:
    return {"jia": world.contract.number, "yi": world.other_contract.number}


def _names(register: dict) -> set[str]:
    return {name for name, *_rest in register.values()}


# name: (page URL, export URL without ".<fmt>", who may read it, the marks of each organization's rows)
def _exports(world) -> dict:
    jia, yi = world.contract.id, world.other_contract.id
    numbers = _contract_numbers(world)
    receipts = [db.session.get(CommunityNeed, i).receipt_code for i in world.ids["needs"]]
    return {
        "contracts": ("/contracts", "/contracts/export", BUREAU | {"manager", "worker", "other_manager", "other_worker"},
                      {"jia": {numbers["jia"]}, "yi": {numbers["yi"]}}),
        "payments": ("/contracts/payments", "/contracts/payments/export",
                     BUREAU | {"manager", "worker", "other_manager", "other_worker"},
                     {"jia": {PLANTED["voucher"]}, "yi": {"PZ-YI-1"}}),
        "ledger": (f"/contracts/{jia}/services", f"/contracts/{jia}/services/export",
                   BUREAU | {"manager", "worker"}, {"jia": {"重阳敬老茶话会", "防诈骗知识讲座"}, "yi": set()}),
        "other_ledger": (f"/contracts/{yi}/services", f"/contracts/{yi}/services/export",
                         BUREAU | {"other_manager", "other_worker"}, {"jia": set(), "yi": {"乙机构长者生日会", "乙机构健康讲座"}}),
        "beneficiaries": ("/beneficiaries", "/beneficiaries/export",
                          BUREAU | {"manager", "worker", "other_manager", "other_worker"},
                          {"jia": _names(PEOPLE) | {"赵德明"}, "yi": _names(OTHER_PEOPLE)}),
        "red_flags": ("/red-flags?state=all", "/red-flags/export?state=all", BUREAU,
                      {"jia": {numbers["jia"]}, "yi": {numbers["yi"]}}),
        "contract_flags": (f"/contracts/{jia}/red-flags", f"/contracts/{jia}/red-flags/export",
                           BUREAU | {"manager", "worker"}, {"jia": {numbers["jia"]}, "yi": set()}),
        "rectification": ("/evaluations/rectification", "/evaluations/rectification/export", BUREAU | {"manager",
                          "other_manager"}, {"jia": {"补齐签到表"}, "yi": {"乙机构整改事项"}}),
        "needs": ("/procurement/needs", "/procurement/needs/export", BUREAU, {"jia": {receipts[0]}, "yi": {receipts[1]}}),
    }


def _url(export: str, fmt: str) -> str:
    path, _sep, query = export.partition("?")
    return f"{path}.{fmt}" + (f"?{query}" if query else "")


def _table(response, fmt: str) -> list[list]:
    """The export's rows, header first, as a spreadsheet program reads them."""
    if fmt == "csv":
        text = response.get_data(as_text=True)
        assert text.startswith("\ufeff")
        return list(csv.reader(io.StringIO(text[1:])))
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _as(client, world, who: str):
    assert login(client, world.users[who]).status_code == 303, who
    return client


def _marks_in(text: str, world, name: str) -> set[str]:
    every = set().union(*_exports(world)[name][3].values())
    return {mark for mark in every if mark in text}


# --- who gets what ----------------------------------------------------------------------------


EXPORT_NAMES = ("contracts", "payments", "ledger", "other_ledger", "beneficiaries", "red_flags", "contract_flags",
                "rectification", "needs")


@pytest.mark.parametrize("fmt", exports.FORMATS)
@pytest.mark.parametrize("who", PEOPLE_OF)
@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_each_person_exports_exactly_the_rows_their_list_holds(make_client, world, name, who, fmt):
    _page, export, allowed, marks = _exports(world)[name]
    client = _as(make_client(), world, who)

    response = client.get(_url(export, fmt))

    if who not in allowed:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = "\n".join(str(cell) for row in _table(response, fmt) for cell in row if cell is not None)
    expected = set().union(*marks.values()) if who in BUREAU else marks[_org(who)]
    assert _marks_in(text, world, name) == expected


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_anonymous_visitors_are_sent_to_log_in(client, world, name):
    response = client.get(_url(_exports(world)[name][1], "csv"))

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_the_list_offers_its_export_only_to_those_it_lets_export(make_client, world, name):
    page, export, allowed, _marks = _exports(world)[name]
    for who in sorted(allowed):
        response = _as(make_client(), world, who).get(page)
        assert response.status_code == 200, who
        path = export.split("?")[0]
        assert f'href="{path}.csv' in response.text and f'href="{path}.xlsx' in response.text, who


def test_the_export_link_keeps_the_lists_filters(make_client, world):
    client = _as(make_client(), world, "procurement")

    page = client.get("/red-flags?kind=worker_overlap&state=explained&page=1", headers={"HX-Request": "true"})

    links = re.findall(r'href="(/red-flags/export\.(?:csv|xlsx)[^"]*)"', page.text)
    assert len(links) == 2
    for link in links:
        assert "kind=worker_overlap" in unescape(link) and "state=explained" in unescape(link) and "page=" not in link


# --- the list's filters -----------------------------------------------------------------------


def _filters(world) -> list[tuple[str, str]]:
    jia = world.contract
    return [
        ("contracts", f"q={world.other_contract.number}"), ("contracts", "status=draft"),
        ("contracts", f"year={jia.tender.plan.fiscal_year}&category=elderly"), ("contracts", "category=children"),
        ("payments", "month=2025-05"), ("payments", "q=PZ-JIA"), ("payments", f"contract={jia.id}"),
        ("ledger", "type=case_work"), ("ledger", "month=2025-05"), ("ledger", "type=community_event&month=2025-06"),
        ("beneficiaries", "q=王秀英"), ("beneficiaries", "category=elderly_alone"),
        ("beneficiaries", f"community={world.communities[1].id}"),
        ("red_flags", "state=explained"), ("red_flags", "state=open"), ("red_flags", "kind=duplicate&state=all"),
        ("rectification", "status=closed"), ("rectification", "status=all"),
        ("needs", "category=children"), ("needs", "q=老年食堂"), ("needs", "status=adopted"),
    ]


@pytest.mark.parametrize("index", range(21))
@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_the_export_holds_the_rows_the_filtered_list_shows(make_client, world, index, fmt):
    name, query = _filters(world)[index]
    page, export, _allowed, _marks = _exports(world)[name]
    client = _as(make_client(), world, "procurement")
    joiner = "&" if "?" in page else "?"
    page = page.split("?")[0] + "?" + query if name == "red_flags" else page + joiner + query

    listed = client.get(page)
    exported = client.get(_url(export.split("?")[0], fmt) + "?" + query)

    assert listed.status_code == exported.status_code == 200
    text = "\n".join(str(c) for row in _table(exported, fmt) for c in row if c is not None)
    assert _marks_in(text, world, name) == _marks_in(unescape(listed.text), world, name)


def test_a_filter_narrows_the_export(make_client, world):
    client = _as(make_client(), world, "auditor")

    everything = _table(client.get(f"/contracts/{world.contract.id}/services/export.csv"), "csv")
    cases = _table(client.get(f"/contracts/{world.contract.id}/services/export.csv?type=case_work"), "csv")

    assert len(everything) > len(cases) == 2  # the header and the one case-work entry
    assert PLANTED["topic"][1:] in cases[1][13]


# --- formulas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_no_cell_of_any_export_starts_a_formula(make_client, world, name):
    client = _as(make_client(), world, "auditor")
    planted = 0
    for fmt in exports.FORMATS:
        response = client.get(_url(_exports(world)[name][1], fmt))
        assert response.status_code == 200
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
            cells = [cell for row in sheet.iter_rows() for cell in row]
            assert not [c.value for c in cells if c.data_type == "f"]
            texts = [c.value for c in cells if isinstance(c.value, str)]
        else:
            texts = [cell for row in _table(response, "csv") for cell in row]
        assert not [t for t in texts if t.startswith(DANGEROUS)], (name, fmt)
        planted += sum(1 for t in texts if t.startswith("'") and t[1:].startswith(DANGEROUS))
    if name not in ("other_ledger",):
        assert planted >= 2, f"{name}: the planted text is in the export, made harmless, in both formats"


def test_the_planted_name_reads_as_text(make_client, world):
    client = _as(make_client(), world, "manager")

    rows = _table(client.get("/beneficiaries/export.xlsx"), "xlsx")

    assert ["'" + PLANTED["person"]] == [row[0] for row in rows if PLANTED["person"] in str(row[0])]


# --- personal information ---------------------------------------------------------------------


def _secrets() -> list[str]:
    from tests.builders.delivery import SEQ, id_number

    numbers = [id_number(born, SEQ[key]) for key, (_n, _g, born, *_r) in {**PEOPLE, **OTHER_PEOPLE}.items()]
    phones = [phone for (*_r, phone, _guardian) in {**PEOPLE, **OTHER_PEOPLE}.values() if phone]
    return numbers + phones + list(NEED_PHONES)


@pytest.mark.parametrize("who", ["procurement", "auditor", "manager", "other_manager", "worker"])
def test_no_export_holds_a_full_identity_number_or_phone(make_client, world, who):
    client = _as(make_client(), world, who)
    secrets = _secrets()
    seen = 0
    for name in EXPORT_NAMES:
        for fmt in exports.FORMATS:
            response = client.get(_url(_exports(world)[name][1], fmt))
            if response.status_code == 403:
                continue
            seen += 1
            text = readable_text(response)
            assert not [s for s in secrets if s in text], (name, fmt)
    assert seen >= 8


def test_the_register_export_shows_numbers_and_phones_masked(make_client, world):
    client = _as(make_client(), world, "manager")
    elder = world.people["elder"]

    rows = _table(client.get("/beneficiaries/export.csv"), "csv")

    row = next(r for r in rows if r[0] == "王秀英")
    assert elder.id_number_masked in row and elder.phone_masked in row
    assert "*" in elder.id_number_masked and "*" in elder.phone_masked


def test_the_needs_export_masks_the_residents_contact(make_client, world):
    client = _as(make_client(), world, "procurement")  # who may read the contact in full on the need's page

    rows = _table(client.get("/procurement/needs/export.csv"), "csv")

    row = next(r for r in rows if PLANTED["need"][1:] in r[4])
    assert row[-2:] == ["王**", "139****5678"]


# --- SQL statements, the row cap ----------------------------------------------------------------


def _more_rows(world, n: int) -> None:
    """n more entries (each pair overlapping: more red flags), people, needs and rectification items."""
    for i in range(n):
        world.record(activity_date=date(2025, 5, 1) + timedelta(days=i), start_time=time(14, 0), end_time=time(15, 0),
                     topic=f"加量活动{i}", participants=[])
        world.record(activity_date=date(2025, 5, 1) + timedelta(days=i), start_time=time(14, 30), end_time=time(15, 30),
                     topic=f"加量重叠{i}", participants=[])
        add_person(world.manager, world.org.id, f"加量对象{i:02d}", birth_year=1950 + i, community=world.communities[0],
                   phone=f"1370000{i:04d}")
        need_services.submit_need(community=world.communities[0], category=ServiceCategory.FAMILY,
                                  description=f"加量需求{i}：社区希望增加上门探访服务", contact_name="居民", contact_phone=f"1360000{i:04d}")
    _item(world, world.contract, "加量整改", RoundKind.MIDTERM)
    db.session.flush()


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_an_export_takes_as_many_statements_for_many_rows_as_for_few(make_client, world, count_queries, name):
    export = _exports(world)[name][1]
    client = _as(make_client(), world, "auditor")
    client.get(_url(export, "csv"))  # the session's first request settles what it caches

    with count_queries() as few:
        first = client.get(_url(export, "xlsx"))
    _more_rows(world, 12)
    with count_queries() as many:
        second = client.get(_url(export, "xlsx"))

    assert first.status_code == second.status_code == 200
    if name in ("ledger", "beneficiaries", "red_flags", "contract_flags", "needs"):
        assert len(_table(second, "xlsx")) > len(_table(first, "xlsx")) + 10
    assert few.count == many.count <= 5, few.statements


def test_past_the_row_cap_the_export_says_where_it_stopped(make_client, world, monkeypatch):
    monkeypatch.setattr(exports, "ROW_CAP", 3)
    client = _as(make_client(), world, "manager")

    rows = _table(client.get("/beneficiaries/export.csv"), "csv")

    assert len(rows) == 1 + 3 + 1
    assert "3" in rows[-1][0] and len(rows[-1]) == 1
    assert rows[-1][0] not in {name for name, *_r in PEOPLE.values()}


def test_an_unknown_format_is_no_page(make_client, world):
    client = _as(make_client(), world, "auditor")

    assert client.get("/contracts/export.pdf").status_code == 404
