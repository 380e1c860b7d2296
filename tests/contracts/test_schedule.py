"""The payment schedule: milestones inside the term, in due order, tranches summing to exactly 100 %,
and each tranche's amount in fen adding up exactly to the contract amount."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from svcproc.core.errors import PermissionDenied
from svcproc.core.formatting import points
from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, login

from tests.builders.contracts import contract_in, schedule_rows
from .conftest import db_state, refused


@pytest.fixture
def draft(build):
    return build(ContractStatus.DRAFT)


def _rows(contract, *items):
    """items: (days after the start or "end", percent)."""
    return schedule_rows(contract.start_date, contract.end_date, items)


def test_the_schedule_is_set(draft):
    contract = draft.contract
    old = [[m.title, m.due_date.isoformat(), points(m.tranche_percent), m.required_deliverables]
           for m in contract.milestones]

    workflow.set_milestones(draft.staff, contract, _rows(contract, (30, "12.5"), (30, "37.5"), ("end", "50")))

    assert [(m.position, m.due_date, m.tranche_percent, m.status) for m in contract.milestones] == [
        (0, contract.start_date + timedelta(days=30), Decimal("12.5"), MilestoneStatus.PENDING),
        (1, contract.start_date + timedelta(days=30), Decimal("37.5"), MilestoneStatus.PENDING),
        (2, contract.end_date, Decimal("50"), MilestoneStatus.PENDING)]
    event = audit_events("contract.schedule_set")[-1]
    assert event.changes["milestones"][0] == old
    assert [row[2] for row in event.changes["milestones"][1]] == ["12.5", "37.5", "50"]


def test_saving_the_same_schedule_again_writes_no_event(draft):
    contract = draft.contract
    rows = [{"title": m.title, "due_date": m.due_date, "required_deliverables": m.required_deliverables,
             "tranche_percent": str(m.tranche_percent)} for m in contract.milestones]
    events = len(audit_events("contract.schedule_set"))

    workflow.set_milestones(draft.staff, contract, rows)

    assert len(audit_events("contract.schedule_set")) == events


def test_a_schedule_change_moves_the_contracts_version(draft):
    contract = draft.contract
    version = contract.version

    workflow.set_milestones(draft.staff, contract, _rows(contract, ("end", "100")))

    assert contract.version > version


def test_blank_rows_left_in_the_form_are_ignored(draft):
    contract = draft.contract
    rows = _rows(contract, ("end", "100")) + [{"title": "", "due_date": None, "required_deliverables": "",
                                               "tranche_percent": ""}]

    workflow.set_milestones(draft.staff, contract, rows)

    assert [m.tranche_percent for m in contract.milestones] == [Decimal(100)]


@pytest.mark.parametrize("items, message", [
    pytest.param([(30, "50"), ("end", "49.99")], "must add up to 100", id="99.99"),
    pytest.param([(30, "50"), ("end", "50.01")], "must add up to 100", id="100.01"),
    pytest.param([(30, "33.33"), (60, "33.33"), ("end", "33.33")], "must add up to 100", id="3x33.33"),
    pytest.param([(30, "50"), ("end", "40")], r"now they add up to 90 %\.", id="90-said-plainly"),
    pytest.param([], "at least one milestone", id="no-milestones"),
    pytest.param([(30, "33.333"), ("end", "66.667")], "at most two decimals", id="three-decimals"),
    pytest.param([(30, "-10"), ("end", "110")], "between 0 and 100", id="negative"),
    pytest.param([(30, "abc"), ("end", "100")], "percentage", id="not-a-number"),
    pytest.param([(30, "NaN"), ("end", "100")], "at most two decimals", id="nan"),
    pytest.param([(-1, "50"), ("end", "50")], "outside the contract term", id="due-before-start"),
    pytest.param([(30, "50"), (365, "50")], "outside the contract term", id="due-the-day-after-the-end"),
    pytest.param([(200, "50"), (100, "50")], "in the order they fall due", id="out-of-order"),
])
def test_schedules_refused(draft, items, message):
    contract = draft.contract
    before = [(m.id, m.due_date, m.tranche_percent) for m in contract.milestones]

    with refused(message):
        workflow.set_milestones(draft.staff, contract, _rows(contract, *items))

    assert [(m.id, m.due_date, m.tranche_percent) for m in contract.milestones] == before


def test_only_blank_rows_are_no_schedule(draft):
    with refused("at least one milestone"):
        workflow.set_milestones(draft.staff, draft.contract, [{"title": " ", "due_date": None, "tranche_percent": " "}])


@pytest.mark.parametrize("row, message", [
    pytest.param({"title": "", "tranche_percent": "100"}, "needs a title", id="no-title"),
    pytest.param({"title": "末期", "due_date": None, "tranche_percent": "100"}, "needs a due date", id="no-due-date"),
])
def test_incomplete_rows_refused(draft, row, message):
    row = {"due_date": draft.contract.end_date, "required_deliverables": "", **row}

    with refused(message):
        workflow.set_milestones(draft.staff, draft.contract, [row])


def test_milestones_may_fall_due_on_the_first_and_the_last_day(draft):
    contract = draft.contract

    workflow.set_milestones(draft.staff, contract, _rows(contract, (0, "10"), ("end", "90")))

    assert [m.due_date for m in contract.milestones] == [contract.start_date, contract.end_date]


@pytest.mark.parametrize("status", [s for s in ContractStatus if s != ContractStatus.DRAFT], ids=lambda s: s.value)
def test_the_schedule_is_fixed_once_signed(build, status):
    setup = build(status)
    contract = setup.contract

    with refused("Not possible while the contract is"):
        workflow.set_milestones(setup.staff, contract, _rows(contract, ("end", "100")))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORG_MANAGER, Role.AUDITOR], ids=lambda r: r.value)
def test_only_procurement_sets_the_schedule(draft, role):
    actor = user_for_role(role, draft.org if role == Role.ORG_MANAGER else None)

    with refused(exc=PermissionDenied):
        workflow.set_milestones(actor, draft.contract, _rows(draft.contract, ("end", "100")))


def test_the_edit_page_refuses_a_schedule_of_99_99(client, draft):
    contract = draft.contract
    login(client, draft.staff)
    data = {"title": contract.title, "start_date": contract.start_date.isoformat(),
            "end_date": contract.end_date.isoformat(), "long_term_reason": "", "version": str(contract.version),
            **{k: getattr(contract, k) for k in workflow.ART23_FIELDS}, **contract.targets(),
            "milestone_title": ["第一期", "第二期"],
            "milestone_due": [(contract.start_date + timedelta(days=30)).isoformat(), contract.end_date.isoformat()],
            "milestone_required": ["", ""], "milestone_percent": ["50", "49.99"]}
    before = db_state()

    response = client.post(f"/contracts/{contract.id}/edit", data=data)

    assert response.status_code == 422
    assert "99.99" in response.get_data(as_text=True)
    assert db_state() == before


# --- tranche amounts in fen ---------------------------------------------------------------------


def _transient(amount_fen: int, percents) -> Contract:
    contract = Contract(amount_fen=amount_fen, original_amount_fen=amount_fen)
    contract.milestones = [Milestone(id=i + 1, position=i, tranche_percent=Decimal(p), status=MilestoneStatus.PENDING)
                           for i, p in enumerate(percents)]
    return contract


@pytest.mark.parametrize("amount", [45_000_000, 100_001, 33_333_337, 1, 2, 3, 7, 99_999_999_999])
@pytest.mark.parametrize("percents", [
    ("33.33", "33.33", "33.34"),
    ("50", "50"),
    ("50", "50", "0"),
    ("0", "50", "50"),
    ("0.01", "99.99"),
    ("99.99", "0.01"),
    ("12.5", "12.5", "12.5", "12.5", "12.5", "12.5", "12.5", "12.5"),
    ("100",),
    ("16.67", "16.67", "16.67", "16.67", "16.66", "16.66"),
], ids=lambda p: "/".join(p))
def test_tranche_amounts_add_up_exactly_and_none_is_negative(amount, percents):
    amounts = workflow.tranche_amounts(_transient(amount, percents))

    assert sum(amounts.values()) == amount
    for milestone_id, percent in zip(sorted(amounts), percents):
        exact = Decimal(amount) * Decimal(percent) / 100
        assert amounts[milestone_id] >= 0
        assert abs(amounts[milestone_id] - exact) < 1, (percent, amounts)


def test_awkward_tranches_of_an_awkward_awarded_price(clock):
    setup = contract_in(ContractStatus.DRAFT, clock, prices=(33_333_337,),
                        schedule=((30, "33.33"), (60, "33.33"), ("end", "33.34")))

    amounts = workflow.tranche_amounts(setup.contract)

    assert setup.contract.amount_fen == 33_333_337
    assert list(amounts.values()) == [11_110_001, 11_110_001, 11_113_335]
    assert sum(amounts.values()) == 33_333_337


def test_the_edit_page_shows_the_schedule(client, draft):
    login(client, draft.staff)

    response = client.get(f"/contracts/{draft.contract.id}/edit")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('name="milestone_percent"') == 3
    assert 'value="40"' in html  # the last tranche, as a person typed it


def test_a_blank_milestone_row_for_the_form(client, draft):
    login(client, draft.staff)

    response = client.get("/contracts/milestone-row")

    assert response.status_code == 200
    assert 'name="milestone_title"' in response.get_data(as_text=True)
