"""Payments: against accepted milestones only, within the milestone's tranche and the contract amount
(with amendments), one voucher once, never dated in the future, exact to the fen."""
from __future__ import annotations

from datetime import timedelta

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import ContractStatus, MilestoneStatus, Payment
from svcproc.core.errors import PermissionDenied
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, count, login

from tests.builders.contracts import contract_in, deliver, in_progress_with_milestone, local_today, pay_in_full
from .conftest import db_state, refused

C = ContractStatus
M = MilestoneStatus
TRANCHE = 13_500_000  # 30 % of ¥450,000.00


@pytest.fixture
def accepted(clock):
    return in_progress_with_milestone(clock, "accepted")


def pay(setup, milestone, amount_fen, voucher="PZ-2025-001", paid_on=None, actor=None):
    return workflow.record_payment(actor or setup.staff, milestone, amount_fen=amount_fen, voucher_number=voucher,
                                   paid_on=paid_on or local_today())


def test_a_payment_in_full_marks_the_milestone_paid(accepted, clock):
    setup, milestone = accepted

    payment = pay(setup, milestone, TRANCHE, " PZ-2025-001 ")

    assert (payment.amount_fen, payment.voucher_number, payment.paid_on, payment.recorded_by_id) == (
        TRANCHE, "PZ-2025-001", local_today(), setup.staff.id)
    assert milestone.status == M.PAID
    assert setup.contract.paid_fen == TRANCHE
    assert [e.action for e in audit_events()][-2:] == ["payment.recorded", "milestone.paid"]
    assert audit_events("payment.recorded")[-1].changes["amount_fen"] == [None, TRANCHE]


def test_a_part_payment_leaves_the_milestone_accepted(accepted):
    setup, milestone = accepted

    pay(setup, milestone, TRANCHE - 1)

    assert milestone.status == M.ACCEPTED
    assert audit_events("milestone.paid") == []


def test_the_rest_of_a_tranche_completes_it(accepted):
    setup, milestone = accepted
    pay(setup, milestone, 10_000_000, "PZ-1")

    pay(setup, milestone, 3_500_000, "PZ-2")

    assert milestone.status == M.PAID
    assert sum(p.amount_fen for p in milestone.payments) == TRANCHE


@pytest.mark.parametrize("status", ["pending", "submitted", "returned", "paid"])
def test_payments_against_accepted_milestones_only(clock, status):
    setup, milestone = in_progress_with_milestone(clock, status)

    with refused("accepted milestones only"):
        pay(setup, milestone, 100, "PZ-X")


@pytest.mark.parametrize("first, second", [
    pytest.param(None, TRANCHE + 1, id="one-fen-over-the-tranche"),
    pytest.param(10_000_000, 3_500_001, id="the-rest-and-one-fen"),
])
def test_no_more_than_the_milestones_tranche(accepted, first, second):
    setup, milestone = accepted
    if first:
        pay(setup, milestone, first, "PZ-1")

    with refused("at most"):
        pay(setup, milestone, second, "PZ-2")

    assert milestone.status == M.ACCEPTED


def test_never_more_than_the_contract_amount(accepted, monkeypatch):
    """The contract-wide bound holds even if a tranche were miscomputed."""
    setup, milestone = accepted
    monkeypatch.setattr(workflow, "tranche_amounts", lambda contract: {m.id: 10**12 for m in contract.milestones})

    with refused("may not exceed the contract amount"):
        pay(setup, milestone, setup.contract.amount_fen + 1)


def test_the_whole_contract_is_paid_to_the_fen_with_an_amendment(clock):
    setup = contract_in(C.IN_PROGRESS, clock, prices=(33_333_337,),
                        schedule=((30, "33.33"), (60, "33.33"), ("end", "33.34")))
    workflow.amend_contract(setup.staff, setup.contract, reason="增加服务人数。", amended_on=local_today(),
                            amount_fen=33_333_337 + 3_333_333)
    for milestone in setup.milestones:
        deliver(setup, milestone)
        workflow.accept_milestone(setup.staff, milestone)
        pay_in_full(setup, milestone)

    assert setup.contract.paid_fen == setup.contract.amount_fen == 36_666_670
    assert [m.status for m in setup.milestones] == [M.PAID] * 3
    with refused("accepted milestones only"):
        pay(setup, setup.milestones[-1], 1, "PZ-EXTRA")


def test_a_voucher_is_recorded_once_per_contract(accepted):
    setup, milestone = accepted
    pay(setup, milestone, 1_000_000, "PZ-2025-007")

    with refused("already recorded"):
        pay(setup, milestone, 1_000_000, "  PZ-2025-007 ")

    assert count(Payment) == 1


@pytest.mark.parametrize("days, allowed", [(1, False), (0, True), (-3, True)], ids=["tomorrow", "today", "earlier"])
def test_a_payment_is_not_dated_in_the_future(accepted, days, allowed):
    setup, milestone = accepted
    paid_on = local_today() + timedelta(days=days)
    if allowed:
        assert pay(setup, milestone, 100, paid_on=paid_on).paid_on == paid_on
    else:
        with refused("cannot be in the future"):
            pay(setup, milestone, 100, paid_on=paid_on)


@pytest.mark.parametrize("amount, voucher, message", [
    pytest.param(0, "PZ-1", "more than zero", id="zero"),
    pytest.param(-100, "PZ-1", "more than zero", id="negative"),
    pytest.param(100, "  ", "voucher number", id="no-voucher"),
])
def test_amount_and_voucher_are_required(accepted, amount, voucher, message):
    setup, milestone = accepted

    with refused(message):
        pay(setup, milestone, amount, voucher)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORG_MANAGER, Role.AUDITOR, Role.SOCIAL_WORKER],
                         ids=lambda r: r.value)
def test_only_procurement_records_payments(accepted, role):
    setup, milestone = accepted
    actor = user_for_role(role, setup.org if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER) else None)

    with refused(exc=PermissionDenied):
        pay(setup, milestone, 100, actor=actor)


def test_a_completed_contract_still_takes_payments(build):
    setup = build(C.COMPLETED)
    milestone = setup.milestones[0]

    pay_in_full(setup, milestone)

    assert milestone.status == M.PAID


@pytest.mark.parametrize("status", [C.CLOSED, C.TERMINATED], ids=lambda s: s.value)
def test_no_payments_on_a_closed_or_terminated_contract(build, status):
    setup = build(status)
    milestone = setup.milestones[0]

    with refused("Not possible while the contract is"):
        pay(setup, milestone, 100, "PZ-LATE")


# --- through the web: yuan typed, fen stored --------------------------------------------------------


@pytest.mark.parametrize("typed, fen", [("135000", 13_500_000), ("135,000.00", 13_500_000), ("0.10", 10),
                                        ("¥1,234.56", 123_456), ("100000.01", 10_000_001)])
def test_the_typed_amount_is_stored_exactly_in_fen(client, accepted, typed, fen):
    setup, milestone = accepted
    login(client, setup.staff)

    response = client.post(f"/milestones/{milestone.id}/payments",
                           data={"amount": typed, "voucher_number": "PZ-9", "paid_on": local_today().isoformat()})

    assert response.status_code == 303
    assert db.session.execute(db.select(Payment.amount_fen)).scalar_one() == fen


@pytest.mark.parametrize("typed", ["0.001", "abc", "1e5", ""])
def test_amounts_that_are_not_yuan_and_fen_are_refused(client, accepted, typed):
    setup, milestone = accepted
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/milestones/{milestone.id}/payments",
                           data={"amount": typed, "voucher_number": "PZ-9", "paid_on": local_today().isoformat()})

    assert response.status_code == 422
    assert db_state() == before


def test_two_small_payments_add_up_exactly(client, accepted):
    setup, milestone = accepted
    login(client, setup.staff)
    for voucher, typed in (("PZ-1", "0.10"), ("PZ-2", "0.20")):
        client.post(f"/milestones/{milestone.id}/payments",
                    data={"amount": typed, "voucher_number": voucher, "paid_on": local_today().isoformat()})

    assert db.session.get(type(setup.contract), setup.contract.id).paid_fen == 30


def test_an_overpayment_through_the_page_changes_nothing(client, accepted):
    setup, milestone = accepted
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/milestones/{milestone.id}/payments",
                           data={"amount": "135000.01", "voucher_number": "PZ-9", "paid_on": local_today().isoformat()})

    assert response.status_code == 422
    assert db_state() == before
