"""The performance bond (履约保证金): at most 10 % of the contract amount (《政府采购法实施条例》第四十八条),
recorded before the contract is completed, returned once it is — each refusal with nothing changed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from svcproc.contracts import bonds
from svcproc.contracts.models import ContractStatus
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.builders.contracts import local_today
from tests.helpers import audit_events

from .conftest import refused

C = ContractStatus


def _record(setup, amount_fen, **extra):
    values = dict(amount_fen=amount_fen, form="guarantee_letter", received_on=local_today()) | extra
    bonds.record_bond(setup.staff, setup.contract, **values)


@pytest.mark.parametrize("extra_fen, allowed", [(0, True), (1, False)])
def test_the_bond_is_at_most_ten_percent_of_the_contract_amount(build, extra_fen, allowed):
    setup = build(C.SIGNED)
    contract = setup.contract
    assert contract.amount_fen % 10 == 0
    cap = contract.amount_fen // 10
    if allowed:
        _record(setup, cap + extra_fen)
        assert (contract.bond_fen, contract.bond_form, contract.bond_received_on) == (
            cap, "guarantee_letter", local_today())
        [event] = audit_events("contract.bond_recorded", object_id=str(contract.id))
        assert event.changes["bond_fen"] == [None, cap]
        return
    with refused("第四十八条", ValidationError):
        _record(setup, cap + extra_fen)


@pytest.mark.parametrize("change, match", [(dict(amount_fen=0), "more than zero"), (dict(form="cash"), "paid"),
                                           (dict(received_on="tomorrow"), "future")])
def test_a_bond_of_nothing_of_no_known_form_or_from_the_future_is_refused(build, change, match):
    setup = build(C.SIGNED)
    values = dict(amount_fen=100, form="transfer", received_on=local_today()) | change
    if values["received_on"] == "tomorrow":
        values["received_on"] = local_today() + timedelta(days=1)
    with refused(match, ValidationError):
        bonds.record_bond(setup.staff, setup.contract, **values)


@pytest.mark.parametrize("status, allowed", [(C.DRAFT, True), (C.SIGNED, True), (C.IN_PROGRESS, True),
                                             (C.COMPLETED, False), (C.CLOSED, False), (C.TERMINATED, False)])
def test_a_bond_is_recorded_before_the_contract_is_completed(build, status, allowed):
    setup = build(status)
    if allowed:
        _record(setup, 100)
        assert setup.contract.bond_fen == 100
        return
    with refused("before the contract is completed"):
        _record(setup, 100)


def test_a_bond_is_recorded_once(build):
    setup = build(C.SIGNED)
    _record(setup, 100)
    with refused("already recorded"):
        _record(setup, 200)


@pytest.mark.parametrize("who", ["admin", "expert", "org_manager", "social_worker", "evaluator", "auditor"])
def test_only_procurement_staff_record_and_return_a_bond(build, who):
    setup = build(C.SIGNED)
    actor = setup.manager if who == "org_manager" else user_for_role(Role(who))
    with refused(None, PermissionDenied):
        bonds.record_bond(actor, setup.contract, amount_fen=100, form="transfer", received_on=local_today())
    with refused(None, PermissionDenied):
        bonds.return_bond(actor, setup.contract, returned_on=local_today())


def test_the_bond_is_returned_once_the_contract_is_completed(clock, build):
    setup = build(C.IN_PROGRESS)
    _record(setup, 100)
    contract = setup.contract
    with refused("once the contract is completed"):
        bonds.return_bond(setup.staff, contract, returned_on=local_today())
    assert not bonds.bond_due(contract)

    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import deliver

    for milestone in contract.milestones:
        deliver(setup, milestone)
        contracts.accept_milestone(setup.staff, milestone, "成果齐全，验收合格。")
    contracts.complete_contract(setup.staff, contract)
    assert bonds.bond_due(contract)
    with refused("after it was received", ValidationError):
        bonds.return_bond(setup.staff, contract, returned_on=contract.bond_received_on - timedelta(days=1))

    bonds.return_bond(setup.staff, contract, returned_on=local_today())

    assert contract.bond_returned_on == local_today() and not bonds.bond_due(contract)
    assert audit_events("contract.bond_returned", object_id=str(contract.id))
    with refused("already returned"):
        bonds.return_bond(setup.staff, contract, returned_on=local_today())


def test_no_bond_no_return(build):
    setup = build(C.COMPLETED)
    with refused("No performance bond"):
        bonds.return_bond(setup.staff, setup.contract, returned_on=local_today())
