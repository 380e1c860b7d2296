"""Amendments (变更): reason, date, every changed field before and after; added amounts over the
contract's life within 10 % of the original amount; only while signed or in progress."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import Amendment, Contract, ContractStatus, MilestoneStatus
from svcproc.core.errors import PermissionDenied
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, count, login

from tests.builders.contracts import CONTENTS, deliver, local_today, pay_in_full
from .conftest import db_state, refused

C = ContractStatus
ORIGINAL = 45_000_000   # ¥450,000.00, the awarded price
CAP = 4_500_000         # 10 %
REASON = "新增两个老旧院落的独居老人，服务人数增加60人。"


@pytest.fixture
def running(build):
    return build(C.IN_PROGRESS)


def amend(setup, **values):
    values.setdefault("reason", REASON)
    values.setdefault("amended_on", local_today())
    return workflow.amend_contract(setup.staff, setup.contract, **values)


def test_an_amendment_records_every_changed_field_before_and_after(running):
    contract = running.contract
    old_end = contract.end_date
    new_end = old_end + timedelta(days=30)

    amendment = amend(running, amount_fen=ORIGINAL + 2_400_000, end_date=new_end, target_people=660,
                      target_cases=30, service_content="  新的服务内容：增加院落议事。  ")

    assert amendment.changes == {
        "amount_fen": [ORIGINAL, ORIGINAL + 2_400_000],
        "end_date": [old_end.isoformat(), new_end.isoformat()],
        "target_people": [600, 660],
        "service_content": [CONTENTS["service_content"], "新的服务内容：增加院落议事。"],
    }  # target_cases is unchanged, so it is not listed
    assert (amendment.number, amendment.reason, amendment.amended_on, amendment.amount_added_fen) == (
        1, REASON, local_today(), 2_400_000)
    assert (contract.amount_fen, contract.original_amount_fen, contract.end_date, contract.target_people) == (
        ORIGINAL + 2_400_000, ORIGINAL, new_end, 660)
    event = audit_events("contract.amended")[-1]
    assert event.changes["amount_fen"] == [ORIGINAL, ORIGINAL + 2_400_000]
    assert event.changes["amendment"] == [None, 1] and event.changes["reason"] == [None, REASON]


def test_amendments_are_numbered(running):
    amend(running, target_events=13)
    second = amend(running, target_events=14)

    assert second.number == 2
    assert [a.number for a in running.contract.amendments] == [1, 2]


# --- the 10 % cap -------------------------------------------------------------------------------


def test_exactly_ten_percent_may_be_added(running):
    amend(running, amount_fen=ORIGINAL + CAP)

    assert running.contract.amount_fen == 49_500_000


def test_ten_percent_and_one_fen_is_refused(running):
    with refused("may not exceed 10 %"):
        amend(running, amount_fen=ORIGINAL + CAP + 1)

    assert running.contract.amount_fen == ORIGINAL
    assert count(Amendment) == 0


@pytest.mark.parametrize("steps, refused_step", [
    pytest.param([1_500_000, 3_000_000], None, id="3%+7%=10%"),
    pytest.param([1_500_000, 3_000_000, 1], 2, id="10%-then-one-fen"),
    pytest.param([2_250_000, 2_250_001], 1, id="5%-then-5%+1fen"),
    pytest.param([1_000_000, -1_000_000, 3_500_000, 1], 3, id="a-reduction-earns-no-room"),
    pytest.param([-1_000_000, 4_500_000], None, id="reduce-then-add-10%"),
    pytest.param([-1_000_000, 4_500_001], 1, id="reduce-then-add-10%+1fen"),
])
def test_the_cap_counts_every_amount_added_over_the_life(running, steps, refused_step):
    contract = running.contract
    for index, step in enumerate(steps):
        if index == refused_step:
            with refused("may not exceed 10 %"):
                amend(running, amount_fen=contract.amount_fen + step)
        else:
            amend(running, amount_fen=contract.amount_fen + step)

    assert workflow.added_so_far(contract) == sum(s for i, s in enumerate(steps) if s > 0 and i != refused_step)
    assert workflow.added_so_far(contract) <= CAP


def test_the_cap_rounds_down_on_an_awkward_amount(build):
    setup = build(C.SIGNED, prices=(33_333_337,))  # 10 % is 3,333,333.7 fen: at most 3,333,333 fen

    with refused("may not exceed 10 %"):
        amend(setup, amount_fen=33_333_337 + 3_333_334)
    amend(setup, amount_fen=33_333_337 + 3_333_333)

    assert setup.contract.amount_fen == 36_666_670


# --- other rules --------------------------------------------------------------------------------


def test_the_amount_cannot_fall_below_what_was_paid(running):
    first = running.milestones[0]
    deliver(running, first)
    workflow.accept_milestone(running.staff, first)
    pay_in_full(running, first)
    paid = running.contract.paid_fen
    assert paid == 13_500_000

    with refused("cannot fall below what has been paid"):
        amend(running, amount_fen=paid - 1)
    amend(running, amount_fen=paid)

    assert running.contract.amount_fen == paid


@pytest.mark.parametrize("amount", [0, -1])
def test_the_amount_stays_above_zero(running, amount):
    with refused("above zero"):
        amend(running, amount_fen=amount)


def test_extending_past_three_years_is_refused(running):
    contract = running.contract
    start = contract.start_date

    with refused("three years at most"):
        amend(running, end_date=date(start.year + 3, start.month, start.day))

    assert contract.end_date == start + timedelta(days=364)


def test_extending_past_a_year_takes_the_amendments_reason(running):
    contract = running.contract
    new_end = date(contract.start_date.year + 2, contract.start_date.month, contract.start_date.day) - timedelta(days=1)

    amend(running, end_date=new_end)

    assert (contract.end_date, contract.long_term_reason) == (new_end, REASON)


@pytest.mark.parametrize("values", [
    pytest.param({}, id="nothing-given"),
    pytest.param({"amount_fen": ORIGINAL}, id="same-amount"),
    pytest.param({"service_content": " " + CONTENTS["service_content"] + " "}, id="same-content"),
    pytest.param({"target_people": 600, "target_cases": 30}, id="same-targets"),
    pytest.param({"amount_fen": None, "end_date": None, "service_content": None}, id="blank-form"),
])
def test_an_amendment_that_changes_nothing_is_refused(running, values):
    with refused("changes nothing"):
        amend(running, **values)


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "whitespace"])
def test_an_amendment_needs_a_reason(running, reason):
    with refused("reason for the amendment"):
        amend(running, reason=reason, target_people=700)


def test_an_amendment_is_not_dated_in_the_future(running):
    with refused("cannot be in the future"):
        amend(running, amended_on=local_today() + timedelta(days=1), target_people=700)


def test_targets_do_not_go_negative(running):
    with refused("cannot be negative"):
        amend(running, target_cases=-1)


@pytest.mark.parametrize("status", list(C), ids=lambda s: s.value)
def test_only_signed_or_running_contracts_are_amended(build, status):
    setup = build(status)
    if status in (C.SIGNED, C.IN_PROGRESS):
        amend(setup, target_people=700)
        assert setup.contract.target_people == 700
    else:
        with refused("Not possible while the contract is"):
            amend(setup, target_people=700)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORG_MANAGER, Role.AUDITOR], ids=lambda r: r.value)
def test_only_procurement_amends(running, role):
    actor = user_for_role(role, running.org if role == Role.ORG_MANAGER else None)

    with refused(exc=PermissionDenied):
        workflow.amend_contract(actor, running.contract, reason=REASON, amended_on=local_today(), target_people=700)


def test_an_amount_added_after_a_tranche_was_paid_can_still_be_paid_in_full(running):
    """The first tranche is paid on the original amount; the 10 % added later goes to the rest."""
    contract = running.contract
    first, *rest = running.milestones
    deliver(running, first)
    workflow.accept_milestone(running.staff, first)
    pay_in_full(running, first)
    amend(running, amount_fen=ORIGINAL + CAP)

    for milestone in rest:
        deliver(running, milestone)
        workflow.accept_milestone(running.staff, milestone)
        pay_in_full(running, milestone)
    workflow.complete_contract(running.staff, contract)
    workflow.close_contract(running.staff, contract)

    assert contract.paid_fen == contract.amount_fen == ORIGINAL + CAP
    assert [m.status for m in contract.milestones] == [MilestoneStatus.PAID] * 3
    assert [sum(p.amount_fen for p in m.payments) for m in contract.milestones] == [13_500_000, 15_428_571, 20_571_429]
    assert contract.status == C.CLOSED


# --- through the web ----------------------------------------------------------------------------


def _form(contract, **values) -> dict:
    return {"reason": REASON, "amended_on": local_today().isoformat(), "version": str(contract.version), **values}


def test_amending_through_the_page_shows_history_and_current_values(client, running):
    contract = running.contract
    login(client, running.staff)

    response = client.post(f"/contracts/{contract.id}/amend", data=_form(contract, amount="495,000.00",
                                                                           target_people="660"))

    assert response.status_code == 303
    assert db.session.get(Contract, contract.id).amount_fen == 49_500_000
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "¥495,000.00" in page and "¥450,000.00" in page  # current and original amounts
    assert REASON in page
    assert re.search(r"<td>¥450,000\.00</td>\s*<td>¥495,000\.00</td>", page)  # amendment history: before, after
    assert re.search(r"<td>600</td>\s*<td>660</td>", page)


def test_ten_percent_and_one_fen_through_the_page_changes_nothing(client, running):
    contract = running.contract
    login(client, running.staff)
    before = db_state()

    response = client.post(f"/contracts/{contract.id}/amend", data=_form(contract, amount="495000.01"))

    assert response.status_code == 422
    assert "495000.01" in response.get_data(as_text=True)  # the entry is kept in the form
    assert db_state() == before
