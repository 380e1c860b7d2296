"""The contract's and the milestone's states are declared once (contracts/workflow.py CONTRACT and
MILESTONE): the workflow moves through those tables, the can_<verb> predicates ask them, and the
contract page offers a step exactly when the predicate the view's workflow agrees with says yes."""
from __future__ import annotations

import pytest

from svcproc.contracts import permissions as perms
from svcproc.contracts import workflow
from svcproc.contracts.models import ContractStatus, MilestoneStatus
from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.helpers import login

from tests.builders.contracts import in_progress_with_milestone
from .conftest import refused
from .test_transitions import TRANSITIONS

C = ContractStatus
M = MilestoneStatus

MILESTONE_TABLE = {
    "submit": ({M.PENDING, M.RETURNED}, M.SUBMITTED, "milestone.submitted"),
    "accept": ({M.SUBMITTED}, M.ACCEPTED, "milestone.accepted"),
    "return": ({M.SUBMITTED}, M.RETURNED, "milestone.returned"),
    "pay": ({M.ACCEPTED}, M.PAID, "milestone.paid"),
}
MILESTONE_STATUSES = [s.value for s in M]

# The contract page's steps: the predicate that offers each, and the address its form posts to.
STEPS = {
    "edit": (perms.can_edit_contract, "/edit"),
    "sign": (perms.can_sign_contract, "/sign"),
    "start": (perms.can_start_contract, "/do/start"),
    "complete": (perms.can_complete_contract, "/do/complete"),
    "close": (perms.can_close_contract, "/do/close"),
    "amend": (perms.can_amend_contract, "/amend"),
    "terminate": (perms.can_terminate_contract, "/terminate"),
}


def _table(machine):
    return {verb: (set(step.sources), step.target, step.event) for verb, step in machine.transitions.items()}


def test_the_contract_table_is_the_one_the_transition_tests_walk():
    assert _table(workflow.CONTRACT) == {name: (set(sources), target, event)
                                         for name, (_call, sources, target, event, _prep) in TRANSITIONS.items()}


def test_the_milestone_table_is_the_declared_one():
    assert _table(workflow.MILESTONE) == MILESTONE_TABLE


# Every step from every status it does not start from (the allowed ones are taken, with their rules,
# by test_milestones.py and test_payments.py).
REFUSED = [pytest.param(verb, status, id=f"{verb}-from-{status}") for verb in MILESTONE_TABLE
           for status in MILESTONE_STATUSES if M(status) not in MILESTONE_TABLE[verb][0]]


@pytest.mark.parametrize("verb, status", REFUSED)
def test_a_milestone_step_the_table_refuses_changes_nothing(clock, verb, status):
    setup, milestone = in_progress_with_milestone(clock, status)

    with refused("Not possible while the milestone is"):
        workflow.MILESTONE.move(setup.staff, milestone, verb)

    assert milestone.status == M(status)


@pytest.mark.parametrize("status", list(C), ids=lambda s: s.value)
def test_the_predicates_ask_the_table(build, status):
    setup = build(status)
    auditor = user_for_role(Role.AUDITOR)
    for verb, (predicate, _address) in STEPS.items():
        assert predicate(setup.staff, setup.contract) == workflow.CONTRACT.allows(verb, setup.contract), verb
        assert not predicate(auditor, setup.contract), verb
        assert not predicate(setup.manager, setup.contract), verb


@pytest.mark.parametrize("status", list(C), ids=lambda s: s.value)
def test_the_contract_page_offers_exactly_the_steps_the_predicates_allow(client, build, status):
    setup = build(status)
    login(client, setup.staff)

    page = client.get(f"/contracts/{setup.contract.id}").text

    base = f"/contracts/{setup.contract.id}"
    offered = {verb for verb, (_p, address) in STEPS.items() if f'"{base}{address}"' in page}
    assert offered == {verb for verb, (predicate, _a) in STEPS.items() if predicate(setup.staff, setup.contract)}


@pytest.mark.parametrize("status", MILESTONE_STATUSES)
def test_the_milestone_forms_follow_the_predicates(client, clock, status):
    setup, milestone = in_progress_with_milestone(clock, status)
    forms = {
        "deliverables": (setup.manager, perms.can_add_deliverable, f"/milestones/{milestone.id}/deliverables"),
        "review": (setup.staff, perms.can_review_milestone, f"/milestones/{milestone.id}/review"),
        "payment": (setup.staff, perms.can_pay_milestone, f"/milestones/{milestone.id}/payments"),
    }
    for name, (user, predicate, address) in forms.items():
        client.post("/logout")
        assert login(client, user).status_code == 303
        page = client.get(f"/contracts/{setup.contract.id}").text
        assert (f'action="{address}"' in page) == predicate(user, milestone), name
    assert perms.can_review_milestone(setup.staff, milestone) == (M(status) == M.SUBMITTED)
    assert perms.can_pay_milestone(setup.staff, milestone) == (M(status) == M.ACCEPTED)
    assert perms.can_add_deliverable(setup.manager, milestone) == (M(status) in (M.PENDING, M.RETURNED))
