"""The portfolio's page shows the fiscal year's money on screen: budget, awarded and paid by service
category and by month, as figures and charts whose rows and columns lead to the contracts and
payments behind them; the same figures as the portfolio's spreadsheet; three grouped statements
for two contracts or eight.

The contracts are written as rows (tests/reports/builders.py) in two fiscal years of their own,
some signed in different months, with payments in different months.
"""
from __future__ import annotations

import io
import re
from datetime import date
from html import unescape

import openpyxl
import pytest
import sqlalchemy as sa

from svcproc.contracts.models import Contract, Milestone, Payment
from svcproc.core import versions
from svcproc.core.formatting import money
from svcproc.extensions import db
from svcproc.procurement.models import ProjectPlan, ServiceCategory, Tender
from svcproc.reports import services
from svcproc.reports.models import ReportFormat, ReportKind
from tests.builders.accounts import UserFactory
from tests.builders.delivery import World
from tests.builders.registry import OrganizationFactory
from tests.helpers import login
from tests.reports.builders import AT, add_contracts, add_people
from tests.reports.conftest import build_report_world

pytestmark = pytest.mark.usefixtures("shared_connection")

SMALL_YEAR, BIG_YEAR = 2041, 2042
SIGNED = {0: date(2041, 11, 20), 1: date(2042, 1, 15), 2: date(2042, 1, 28), 3: date(2042, 3, 2)}


@pytest.fixture(scope="module")
def years(build_once):
    def build(clock):
        ids = build_report_world(clock)
        small, big = OrganizationFactory(name="小机构"), OrganizationFactory(name="大机构")
        manager = UserFactory()
        people = add_people([small.id, big.id], ids["communities"][0])
        add_contracts(SMALL_YEAR, 2, small, manager, ids["communities"][0], people, "S")
        big_ids = add_contracts(BIG_YEAR, 8, big, manager, ids["communities"][0], people, "B")
        # Four of the big year's contracts signed, in three months (one the year before); the
        # others still unsigned. One more payment, in another month.
        for i, contract_id in enumerate(big_ids[:4]):
            db.session.get(Contract, contract_id).signed_on = SIGNED[i]
        contract = db.session.get(Contract, big_ids[2])
        milestone = db.session.execute(sa.select(Milestone).where(Milestone.contract_id == contract.id)).scalar_one()
        db.session.add(Payment(contract_id=contract.id, milestone_id=milestone.id, amount_fen=55_555,
                               voucher_number="B-V-MARCH", paid_on=date(BIG_YEAR, 3, 9), recorded_at=AT))
        db.session.flush()
        return ids

    return build_once(build)


@pytest.fixture
def world(years, clock) -> World:
    clock.set(years["now"])
    return World(years)


def _page(client, world, year: int, who: str = "auditor"):
    login(client, world.users[who])
    response = client.get(f"/reports/portfolio/{year}")
    assert response.status_code == 200
    return response.text


def _rows(html: str, attribute: str) -> dict[str, str]:
    return {key: body for key, body in re.findall(rf'<tr {attribute}="([^"]+)">(.*?)</tr>', html, re.S)}


def _moneys(body: str) -> list[str]:
    return re.findall(r"-?¥[\d,]+\.\d\d", body)


def _yuan_text(value) -> str:
    return money(round(value * 100))


def test_the_page_shows_budget_awarded_and_paid_by_category_and_month(client, world):
    html = _page(client, world, BIG_YEAR)

    plans = db.session.execute(sa.select(ProjectPlan).where(ProjectPlan.fiscal_year == BIG_YEAR)).scalars().all()
    contracts = db.session.execute(sa.select(Contract).join(Tender).join(ProjectPlan)
                                   .where(ProjectPlan.fiscal_year == BIG_YEAR)).scalars().all()
    paid = sum(p.amount_fen for c in contracts for p in c.payments)
    assert f'data-figure="budget">{money(sum(p.budget_fen for p in plans))}' in html
    assert money(sum(c.amount_fen for c in contracts)) in _moneys(html.split('data-figure="awarded"')[1])[:1]
    assert money(paid) in _moneys(html.split('data-figure="paid"')[1])[:1]
    categories = _rows(html, "data-category")
    assert set(categories) == {c.value for c in (ServiceCategory.ELDERLY, ServiceCategory.CHILDREN,
                                                 ServiceCategory.FAMILY)}
    elderly = [c for c in contracts if c.tender.plan.category == ServiceCategory.ELDERLY]
    assert _moneys(categories["elderly"]) == [
        money(sum(p.budget_fen for p in plans if p.category == ServiceCategory.ELDERLY)),
        money(sum(c.amount_fen for c in elderly)), money(sum(p.amount_fen for c in elderly for p in c.payments))]
    months = _rows(html, "data-month")
    assert set(months) == {"2041-11", "2042-01", "2042-03", f"{BIG_YEAR}-07", "unsigned"}
    assert _moneys(months["2042-03"]) == [money(db.session.execute(
        sa.select(Contract.amount_fen).where(Contract.signed_on == SIGNED[3])).scalar_one()), money(55_555)]
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 2


def test_the_page_shows_the_figures_of_the_portfolio_spreadsheet(client, world, app):
    report = services.generate(world.users["procurement"], ReportKind.PORTFOLIO, BIG_YEAR, "zh_CN",
                               fmt=ReportFormat.XLSX)
    from svcproc.core import files

    book = openpyxl.load_workbook(io.BytesIO(files.read(report.file)))
    by_category, by_month, summary = book.worksheets[3], book.worksheets[4], book.worksheets[5]
    html = _page(client, world, BIG_YEAR)
    categories = _rows(html, "data-category")
    months = _rows(html, "data-month")

    category_rows = list(by_category.iter_rows(min_row=2, values_only=True))
    assert len(category_rows) == len(categories) == 3
    for label, plans, budget, contracts, awarded, paid in category_rows:
        body = next(b for b in categories.values() if f">{label}</a>" in b)
        assert _moneys(body) == [_yuan_text(budget), _yuan_text(awarded), _yuan_text(paid)]
        assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', body)] == [plans, contracts]
    month_rows = list(by_month.iter_rows(min_row=2, values_only=True))
    assert len(month_rows) == len(months)
    for month, awarded, paid in month_rows:
        body = months.get(month) or months["unsigned"]
        assert _moneys(body)[0] == _yuan_text(awarded)
        if paid is not None:
            assert _moneys(body)[1] == _yuan_text(paid)
    totals = {row[0]: row[1] for row in summary.iter_rows(min_row=2, max_row=4, values_only=True)}
    budget, awarded, paid = totals.values()
    assert f'data-figure="budget">{_yuan_text(budget)}' in html
    assert _moneys(html.split('data-figure="awarded"')[1])[0] == _yuan_text(awarded)
    assert _moneys(html.split('data-figure="paid"')[1])[0] == _yuan_text(paid)


def test_each_category_leads_to_its_contracts_and_each_month_to_its_payments(client, world):
    html = _page(client, world, BIG_YEAR)
    categories = _rows(html, "data-category")
    months = _rows(html, "data-month")

    link = unescape(re.search(r'href="([^"]+)"', categories["children"]).group(1))
    listed = client.get(link).text
    children = db.session.execute(sa.select(Contract.number).join(Tender).join(ProjectPlan).where(
        ProjectPlan.fiscal_year == BIG_YEAR, ProjectPlan.category == ServiceCategory.CHILDREN)).scalars().all()
    others = db.session.execute(sa.select(Contract.number).where(Contract.number.notin_(children))).scalars().all()
    assert children and all(n in listed for n in children) and not [n for n in others if f">{n}<" in listed]

    paid_link = unescape(re.findall(r'href="([^"]+)"', months["2042-03"])[1])
    payments = client.get(paid_link).text
    assert "month=2042-03" in paid_link and "B-V-MARCH" in payments and "B-V-2-0" not in payments

    signed_link = unescape(re.findall(r'href="([^"]+)"', months["2042-01"])[0])
    signed = client.get(signed_link).text
    january = db.session.execute(sa.select(Contract.number).where(
        Contract.signed_on.in_([SIGNED[1], SIGNED[2]]))).scalars().all()
    assert len(january) == 2 and all(n in signed for n in january)
    assert not [n for n in others + children if n not in january and f">{n}<" in signed]

    chart = html.split('id="by-category"')[0].split("<svg")[-1]  # the chart above the category table
    links = [unescape(href) for href in re.findall(r'<a href="([^"]+)">', chart)]
    assert links == [f"/contracts?year={BIG_YEAR}&category={c}" for c in ("children", "elderly", "family")]


def test_the_page_takes_as_many_statements_for_8_contracts_as_for_2(client, world, count_queries):
    login(client, world.users["procurement"])
    client.get("/")

    versions.forget_kept()  # each year's figures worked out anew, as by a server just started
    with count_queries() as two:
        few = client.get(f"/reports/portfolio/{SMALL_YEAR}")
    versions.forget_kept()
    with count_queries() as eight:
        many = client.get(f"/reports/portfolio/{BIG_YEAR}")

    assert few.status_code == many.status_code == 200
    assert two.count == eight.count <= 8, eight.statements  # 6: session, user, stored reports, 3 grouped
    assert len(_money_statements(eight)) == 3


def _money_statements(counted) -> list[str]:
    return [s for s in counted.statements if "fiscal_year" in s and "GROUP BY" in s.upper()]


def test_the_figures_are_kept_until_a_payment_changes_them(client, world, count_queries):
    """Worked out once per version of plans, contracts and payments (core/versions.py): the page
    again reads no money, a payment recorded makes the next page add it up again."""
    login(client, world.users["auditor"])
    before = client.get(f"/reports/portfolio/{BIG_YEAR}").text
    with count_queries() as counted:
        again = client.get(f"/reports/portfolio/{BIG_YEAR}").text
    assert not _money_statements(counted)
    assert _rows(again, "data-month") == _rows(before, "data-month")
    assert _rows(again, "data-category") == _rows(before, "data-category")

    contract = db.session.execute(sa.select(Contract).where(Contract.signed_on == SIGNED[3])).scalar_one()
    milestone = db.session.execute(sa.select(Milestone).where(Milestone.contract_id == contract.id)).scalar_one()
    db.session.add(Payment(contract_id=contract.id, milestone_id=milestone.id, amount_fen=44_444,
                           voucher_number="B-V-MARCH-2", paid_on=date(BIG_YEAR, 3, 20), recorded_at=AT))
    db.session.commit()
    with count_queries() as counted:
        after = client.get(f"/reports/portfolio/{BIG_YEAR}").text
    assert len(_money_statements(counted)) == 3
    assert _moneys(_rows(after, "data-month")["2042-03"])[1] == money(55_555 + 44_444)
    assert _moneys(_rows(before, "data-month")["2042-03"])[1] == money(55_555)


@pytest.mark.parametrize("who, status", [("expert", 403), ("manager", 403), ("worker", 403), ("evaluator", 403),
                                         ("admin", 200), ("procurement", 200), ("auditor", 200)])
def test_only_those_who_read_reports_see_the_figures(client, world, who, status):
    login(client, world.users[who])

    response = client.get(f"/reports/portfolio/{BIG_YEAR}")

    assert response.status_code == status
    assert ('id="portfolio-figures"' in response.text) == (status == 200)
