"""The portfolio and an organization's history assembled with grouped queries: the same data as
adding up each contract on its own (the way they were first written, kept below as the reference),
in as many SQL statements for 8 contracts as for 2.

The contracts here are written as rows (tests/reports/builders.py); the service-delivery world's
two contracts, built through the workflows, are compared too.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.contracts.models import Contract
from svcproc.delivery import progress as progress_module
from svcproc.delivery.models import RedFlag
from svcproc.extensions import db
from svcproc.evaluations.models import EvaluationRound, RoundKind, RoundStatus
from svcproc.procurement.models import ProjectPlan, Tender
from svcproc.registry.models import Organization
from svcproc.reports import assemble
from svcproc.reports.assemble import _day, _enum, _header
from tests.builders.delivery import World
from tests.builders.accounts import UserFactory
from tests.builders.registry import OrganizationFactory
from tests.reports.builders import add_contracts, add_people
from tests.reports.conftest import build_report_world

pytestmark = pytest.mark.usefixtures("shared_connection")

SMALL_YEAR, BIG_YEAR = 2031, 2032


@pytest.fixture(scope="module")
def several(build_once):
    def build(clock):
        ids = build_report_world(clock)
        small, big = OrganizationFactory(name="小机构"), OrganizationFactory(name="大机构")
        manager = UserFactory()
        people = add_people([small.id, big.id], ids["communities"][0])
        add_contracts(SMALL_YEAR, 2, small, manager, ids["communities"][0], people, "S")
        add_contracts(BIG_YEAR, 8, big, manager, ids["communities"][0], people, "B")
        return {**ids, "small": small.id, "big": big.id}

    return build_once(build)


@pytest.fixture
def world(several, clock) -> World:
    clock.set(several["now"])
    return World(several)


def _fresh(fn, *args):
    db.session.flush()
    db.session.expire_all()
    return fn(*args)


@pytest.mark.parametrize("year", [SMALL_YEAR, BIG_YEAR, "world"])
def test_the_portfolio_is_the_sum_of_its_contracts(app, world, several, year):
    if year == "world":
        year = world.contract.tender.plan.fiscal_year

    with app.test_request_context():
        grouped = _fresh(assemble.portfolio_data, year, "zh_CN")
        one_by_one = _fresh(portfolio_one_by_one, year, "zh_CN")

    assert assemble.canonical(grouped) == assemble.canonical(one_by_one)
    assert grouped["contracts"] and any(o["actual"] not in ("0", "0.0") for o in grouped["outputs"])


def test_the_big_years_figures_worked_by_hand(app, world):
    with app.test_request_context():
        data = assemble.portfolio_data(BIG_YEAR, "zh_CN")

    assert len(data["contracts"]) == 8 and data["plans"] == 8
    assert data["budget_fen"] == 8 * 1_000_000 + sum(range(8))
    assert data["paid_fen"] == sum(100_000 * (i % 3) + sum(range(i % 3)) for i in range(8))
    assert data["grades"] == {"good": 2, "none": 4, "pass": 2}
    outputs = {o["target"]: o for o in data["outputs"]}
    assert outputs["target_cases"]["planned"] == sum(range(8))
    assert data["organizations"] == [{"organization": "大机构", "contracts": 8,
                                      "amount_fen": 8 * 800_000 + 1000 * sum(range(8)),
                                      "mean_score": "72.62"}]  # (80.25 + 84.25 + 61 + 65) / 4, to even


@pytest.mark.parametrize("who", ["small", "big", "org", "other_org"])
def test_an_organizations_history_is_the_sum_of_its_contracts(app, world, several, who):
    with app.test_request_context():
        grouped = _fresh(assemble.organization_data, several[who], "zh_CN")
        one_by_one = _fresh(organization_one_by_one, several[who], "zh_CN")

    assert assemble.canonical(grouped) == assemble.canonical(one_by_one)
    assert grouped["contracts"]


def test_the_history_counts_red_flags_worked_by_hand(app, world, several):
    with app.test_request_context():
        data = assemble.organization_data(several["big"], "zh_CN")

    # Contract i (numbered B-C{8 - i}) has i % 4 flags; the second is explained, the third inactive.
    by_i = {8 - int(r["number"].rsplit("C", 1)[1]): r for r in data["contracts"]}
    assert [by_i[i]["red_flags"] for i in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [by_i[i]["unexplained_flags"] for i in range(8)] == [0, 1, 1, 1, 0, 1, 1, 1]
    assert data["totals"]["red_flags"] == 12


def test_the_portfolio_takes_as_many_statements_for_8_contracts_as_for_2(app, world, count_queries):
    with app.test_request_context():
        with count_queries() as two:
            few = _fresh(assemble.portfolio_data, SMALL_YEAR, "zh_CN")
        with count_queries() as eight:
            many = _fresh(assemble.portfolio_data, BIG_YEAR, "zh_CN")

    assert (len(few["contracts"]), len(many["contracts"])) == (2, 8)
    assert two.count == eight.count <= 9  # the money by category and month: two grouped statements more


def test_a_history_takes_as_many_statements_for_8_contracts_as_for_2(app, world, several, count_queries):
    with app.test_request_context():
        with count_queries() as two:
            few = _fresh(assemble.organization_data, several["small"], "zh_CN")
        with count_queries() as eight:
            many = _fresh(assemble.organization_data, several["big"], "zh_CN")

    assert (len(few["contracts"]), len(many["contracts"])) == (2, 8)
    assert two.count == eight.count <= 9  # the money by category and month: two grouped statements more


def test_people_are_counted_from_the_contracts_own_entries(app, world, count_queries):
    """The distinct-people count joins the participant links through the year's entries; it never
    groups the whole participant table first."""
    with app.test_request_context(), count_queries() as counted:
        _fresh(assemble.portfolio_data, BIG_YEAR, "zh_CN")

    linked = [s for s in counted.statements if "activity_participant" in s]
    assert linked and all("GROUP BY activity_participant" not in " ".join(s.split()) for s in linked)
    assert all("service_activity.contract_id IN" in " ".join(s.split()) for s in linked)


def test_an_empty_year(app, world, count_queries):
    with app.test_request_context():
        data = assemble.portfolio_data(2099, "zh_CN")

    assert data["contracts"] == [] and data["outputs"] == [] and data["budget_fen"] == 0 and data["plans"] == 0


def test_the_assessment_takes_as_many_statements_for_many_entries_as_for_few(app, world, several, count_queries):
    """Contracts 1 and 5 of the big organization have the same kinds of records: two entries, a
    payment and a deliverable against six entries, two payments and two deliverables."""
    big = db.session.execute(sa.select(Contract.id).where(Contract.organization_id == several["big"])
                             .order_by(Contract.id)).scalars().all()

    with app.test_request_context():
        with count_queries() as few:
            one = _fresh(assemble.assessment_data, big[1], "zh_CN")
        with count_queries() as many:
            five = _fresh(assemble.assessment_data, big[5], "zh_CN")

    assert (one["outputs"]["activities"], five["outputs"]["activities"]) == (2, 6)
    assert (one["sources"]["deliverables"], five["sources"]["deliverables"]) == (1, 2)
    assert few.count == many.count


# --- the reference: each contract on its own, as the reports were first assembled -------------------


def portfolio_one_by_one(year: int, locale: str) -> dict:
    from sqlalchemy.orm import selectinload

    plans = db.session.execute(sa.select(ProjectPlan).where(ProjectPlan.fiscal_year == year)
                               .order_by(ProjectPlan.id)).unique().scalars().all()
    plan_ids = [p.id for p in plans]
    contracts = db.session.execute(
        sa.select(Contract).join(Tender, Tender.id == Contract.tender_id).where(Tender.plan_id.in_(plan_ids))
        .options(selectinload(Contract.payments)).order_by(Contract.number)).unique().scalars().all() \
        if plan_ids else []
    grades = _grades_one_by_one([c.id for c in contracts])
    by_status, by_category = defaultdict(int), defaultdict(lambda: {"contracts": 0, "amount_fen": 0})
    outputs = defaultdict(lambda: {"actual": Decimal(0), "planned": 0})
    orgs: dict[str, dict] = {}
    rows = []
    for c in contracts:
        category = _enum(c.tender.plan.category)
        by_status[_enum(c.status)] += 1
        by_category[category]["contracts"] += 1
        by_category[category]["amount_fen"] += c.amount_fen
        progress = progress_module.compute(c.id)
        for field, actual, planned in progress.against(c):
            outputs[field]["actual"] += Decimal(str(actual))
            outputs[field]["planned"] += planned or 0
        grade = grades.get(c.id)
        rows.append({"number": c.number, "title": c.title, "organization": c.organization.name,
                     "category": category, "status": _enum(c.status), "amount_fen": c.amount_fen,
                     "paid_fen": c.paid_fen, "total": grade[0] if grade else None,
                     "grade": grade[1] if grade else None})
        entry = orgs.setdefault(c.organization.name, {"organization": c.organization.name, "contracts": 0,
                                                      "amount_fen": 0, "scores": []})
        entry["contracts"] += 1
        entry["amount_fen"] += c.amount_fen
        if grade:
            entry["scores"].append(Decimal(grade[0]))
    ranked = []
    for entry in orgs.values():
        scores = entry.pop("scores")
        entry["mean_score"] = str((sum(scores) / len(scores)).quantize(Decimal("0.01"))) if scores else None
        ranked.append(entry)
    ranked.sort(key=lambda e: (e["mean_score"] is None, -Decimal(e["mean_score"] or 0), e["organization"]))
    grade_counts = defaultdict(int)
    for row in rows:
        grade_counts[row["grade"] or "none"] += 1
    return {
        "report": _header("portfolio", locale), "year": year,
        "budget_fen": sum(p.budget_fen for p in plans), "plans": len(plans),
        "awarded_fen": sum(c.amount_fen for c in contracts), "paid_fen": sum(c.paid_fen for c in contracts),
        "by_status": dict(sorted(by_status.items())),
        "by_category": {k: v for k, v in sorted(by_category.items())},
        "outputs": [{"target": k, "actual": str(v["actual"]), "planned": v["planned"]} for k, v in outputs.items()],
        "grades": dict(sorted(grade_counts.items())), "organizations": ranked, "contracts": rows,
        "money": _money_one_by_one(plans, contracts),
    }


def _money_one_by_one(plans, contracts) -> dict:
    """Budget, awarded and paid by category, and awarded (month signed) and paid by month, added
    up plan by plan, contract by contract and payment by payment."""
    categories = defaultdict(lambda: {"plans": 0, "budget_fen": 0, "contracts": 0, "awarded_fen": 0, "paid_fen": 0})
    months = defaultdict(lambda: {"awarded_fen": 0, "paid_fen": 0})
    unsigned = 0
    for plan in plans:
        categories[_enum(plan.category)]["plans"] += 1
        categories[_enum(plan.category)]["budget_fen"] += plan.budget_fen
    for c in contracts:
        entry = categories[_enum(c.tender.plan.category)]
        entry["contracts"] += 1
        entry["awarded_fen"] += c.amount_fen
        if c.signed_on is None:
            unsigned += c.amount_fen
        else:
            months[f"{c.signed_on:%Y-%m}"]["awarded_fen"] += c.amount_fen
        for p in c.payments:
            entry["paid_fen"] += p.amount_fen
            months[f"{p.paid_on:%Y-%m}"]["paid_fen"] += p.amount_fen
    return {"by_category": [{"category": k, **v} for k, v in sorted(categories.items())],
            "by_month": [{"month": k, **v} for k, v in sorted(months.items())], "unsigned_fen": unsigned}


def _grades_one_by_one(contract_ids: list[int]) -> dict[int, tuple[str, str]]:
    best: dict[int, tuple] = {}
    for cid in contract_ids:
        for r in db.session.execute(sa.select(EvaluationRound).where(
                EvaluationRound.contract_id == cid, EvaluationRound.status == RoundStatus.FINALIZED)).unique().scalars():
            key = (r.kind == RoundKind.FINAL, r.finalized_at, r.id)
            if cid not in best or key > best[cid][0]:
                best[cid] = (key, (str(r.total), r.grade))
    return {cid: value for cid, (_key, value) in best.items()}


def organization_one_by_one(org_id: int, locale: str) -> dict:
    org = db.session.get(Organization, org_id)
    contracts = db.session.execute(
        sa.select(Contract).where(Contract.organization_id == org_id)
        .order_by(Contract.start_date, Contract.number)).unique().scalars().all()
    grades = _grades_one_by_one([c.id for c in contracts])
    rows = []
    for c in contracts:
        grade = grades.get(c.id)
        flags = db.session.execute(sa.select(RedFlag).where(RedFlag.contract_id == c.id)).unique().scalars().all()
        rows.append({"number": c.number, "title": c.title, "fiscal_year": c.tender.plan.fiscal_year,
                     "status": _enum(c.status), "start_date": _day(c.start_date), "end_date": _day(c.end_date),
                     "amount_fen": c.amount_fen, "paid_fen": c.paid_fen,
                     "total": grade[0] if grade else None, "grade": grade[1] if grade else None,
                     "red_flags": len(flags),
                     "unexplained_flags": sum(1 for f in flags if f.active and f.explanation == "")})
    return {
        "report": _header("organization", locale),
        "organization": {"id": org.id, "name": org.name, "credit_code": org.credit_code,
                         "rating": _enum(org.rating), "status": _enum(org.status)},
        "contracts": rows,
        "totals": {"contracts": len(rows), "amount_fen": sum(r["amount_fen"] for r in rows),
                   "paid_fen": sum(r["paid_fen"] for r in rows), "red_flags": sum(r["red_flags"] for r in rows)},
    }
