"""Contract statuses: draft → signed → in progress → completed → closed, or terminated with a reason.
Each transition happens from exactly its source status and only when its rules hold."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.labels import ART23_LABELS
from svcproc.contracts.models import Contract, ContractStatus, MilestoneStatus
from svcproc.core.errors import PermissionDenied
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, in_page, login

from tests.builders.contracts import at_local, deliver, local_today, pay_in_full
from .conftest import db_state, refused

C = ContractStatus
REASON = "服务机构主要人员离职，无法继续履约，双方协商解除合同。"


def _accept_all(setup):
    for milestone in setup.contract.milestones:
        if milestone.status == MilestoneStatus.PENDING:
            deliver(setup, milestone)
        if milestone.status == MilestoneStatus.SUBMITTED:
            workflow.accept_milestone(setup.staff, milestone)


def _pay_all(setup):
    for milestone in setup.contract.milestones:
        if milestone.status == MilestoneStatus.ACCEPTED:
            pay_in_full(setup, milestone)


def _ready_to_start(setup, clock):
    clock.set(at_local(setup.contract.start_date, 0))


# name: (call(setup, actor), the status(es) it starts from, the status it leads to, event, what makes it allowed)
TRANSITIONS = {
    "sign": (lambda s, actor: workflow.sign_contract(actor, s.contract, local_today()), {C.DRAFT}, C.SIGNED,
             "contract.signed", None),
    "start": (lambda s, actor: workflow.start_contract(actor, s.contract), {C.SIGNED}, C.IN_PROGRESS,
              "contract.started", _ready_to_start),
    "complete": (lambda s, actor: workflow.complete_contract(actor, s.contract), {C.IN_PROGRESS}, C.COMPLETED,
                 "contract.completed", lambda s, clock: _accept_all(s)),
    "close": (lambda s, actor: workflow.close_contract(actor, s.contract), {C.COMPLETED}, C.CLOSED,
              "contract.closed", lambda s, clock: _pay_all(s)),
    "terminate": (lambda s, actor: workflow.terminate_contract(actor, s.contract, REASON),
                  {C.DRAFT, C.SIGNED, C.IN_PROGRESS}, C.TERMINATED, "contract.terminated", None),
}
CASES = [pytest.param(name, status, id=f"{name}-from-{status.value}") for name in TRANSITIONS for status in C]


@pytest.mark.parametrize("name, status", CASES)
def test_each_transition_from_exactly_its_source(build, clock, name, status):
    call, sources, target, action, prepare = TRANSITIONS[name]
    setup = build(status)
    contract = setup.contract
    if status in sources:
        if prepare:
            prepare(setup, clock)
        version = contract.version

        call(setup, setup.staff)

        assert contract.status == target
        assert contract.status_changed_at == clock.now
        assert contract.version > version
        event = audit_events(action)[-1]
        assert event.object_id == str(contract.id) and event.actor_id == setup.staff.id
        assert event.changes["status"] == [status.value, target.value]
    else:
        with refused("Not possible while the contract is"):
            call(setup, setup.staff)
        assert contract.status == status


@pytest.mark.parametrize("name", list(TRANSITIONS))
@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORG_MANAGER, Role.AUDITOR], ids=lambda r: r.value)
def test_only_procurement_moves_a_contract(build, clock, name, role):
    call, sources, _target, _action, prepare = TRANSITIONS[name]
    source = sorted(sources, key=list(C).index)[-1]
    setup = build(source)
    if prepare:
        prepare(setup, clock)
    actor = user_for_role(role, setup.org if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER) else None)

    with refused(exc=PermissionDenied):
        call(setup, actor)


# --- signing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", workflow.ART23_FIELDS)
@pytest.mark.parametrize("blank", ["", "  \n "], ids=["empty", "whitespace"])
def test_signing_needs_every_art23_content(build, name, blank):
    setup = build(C.DRAFT, **{name: blank})

    with refused("must state") as refusal:
        workflow.sign_contract(setup.staff, setup.contract, local_today())

    assert str(ART23_LABELS[name]) in refusal.value.message
    others = [str(ART23_LABELS[n]) for n in workflow.ART23_FIELDS if n != name]
    assert not any(label in refusal.value.message for label in others)


def test_signing_lists_every_missing_content(build):
    setup = build(C.DRAFT, quantity="", breach_liability="")

    with refused() as refusal:
        workflow.sign_contract(setup.staff, setup.contract, local_today())

    assert str(ART23_LABELS["quantity"]) in refusal.value.message
    assert str(ART23_LABELS["breach_liability"]) in refusal.value.message


def test_signing_needs_a_schedule(build):
    setup = build(C.DRAFT, schedule=None)

    with refused("Set the payment schedule"):
        workflow.sign_contract(setup.staff, setup.contract, local_today())


def test_signing_rechecks_the_term(build):
    setup = build(C.DRAFT)
    contract = setup.contract
    contract.end_date = contract.start_date + timedelta(days=400)  # e.g. a row edited behind the form's back
    db.session.flush()

    with refused("needs a stated reason"):
        workflow.sign_contract(setup.staff, contract, local_today())


@pytest.mark.parametrize("days, allowed", [(1, False), (0, True), (-30, True)], ids=["tomorrow", "today", "a-month-ago"])
def test_the_signing_date_is_not_in_the_future(build, days, allowed):
    setup = build(C.DRAFT)
    signed_on = local_today() + timedelta(days=days)
    if allowed:
        workflow.sign_contract(setup.staff, setup.contract, signed_on)
        assert (setup.contract.status, setup.contract.signed_on) == (C.SIGNED, signed_on)
    else:
        with refused("cannot be in the future"):
            workflow.sign_contract(setup.staff, setup.contract, signed_on)
        assert setup.contract.signed_on is None


def test_the_signing_date_is_the_local_day(build, clock):
    setup = build(C.DRAFT)
    # 00:30 in Shanghai is still the previous day in UTC: signing "today" means the local day.
    clock.set(at_local(local_today() + timedelta(days=1), 0) + timedelta(minutes=30))

    assert clock.now.astimezone(timezone.utc).date() == local_today() - timedelta(days=1)

    workflow.sign_contract(setup.staff, setup.contract, local_today())

    assert setup.contract.signed_on == local_today()


# --- starting, completing, closing, terminating ---------------------------------------------------


def test_the_service_does_not_start_before_its_start_date(build, clock):
    setup = build(C.SIGNED)
    clock.set(at_local(setup.contract.start_date, 0) - timedelta(minutes=1))  # 23:59 local the day before

    with refused("The service cannot start before the term begins on"):
        workflow.start_contract(setup.staff, setup.contract)


def test_the_service_starts_on_its_start_date(build, clock):
    setup = build(C.SIGNED)
    clock.set(at_local(setup.contract.start_date, 0))

    workflow.start_contract(setup.staff, setup.contract)

    assert setup.contract.status == C.IN_PROGRESS


@pytest.mark.parametrize("open_status", ["pending", "submitted", "returned"])
def test_completion_waits_for_every_milestone(build, open_status):
    setup = build(C.IN_PROGRESS)
    *done, last = setup.milestones
    for milestone in done:
        deliver(setup, milestone)
        workflow.accept_milestone(setup.staff, milestone)
    if open_status != "pending":
        deliver(setup, last)
    if open_status == "returned":
        workflow.return_milestone(setup.staff, last, "请补充签到表。")

    with refused("Every milestone must be accepted first") as refusal:
        workflow.complete_contract(setup.staff, setup.contract)

    assert last.title in refusal.value.message


def test_completion_with_milestones_accepted_and_paid(build):
    setup = build(C.IN_PROGRESS)
    _accept_all(setup)
    pay_in_full(setup, setup.milestones[0])

    workflow.complete_contract(setup.staff, setup.contract)

    assert setup.contract.status == C.COMPLETED


@pytest.mark.parametrize("paid", ["nothing", "all-but-one-fen"])
def test_closing_needs_payment_in_full(build, paid):
    setup = build(C.COMPLETED)
    if paid != "nothing":
        *first, last = setup.milestones
        for milestone in first:
            pay_in_full(setup, milestone)
        due = workflow.tranche_amounts(setup.contract)[last.id]
        workflow.record_payment(setup.staff, last, amount_fen=due - 1, voucher_number="PZ-LAST", paid_on=local_today())

    with refused("closed once paid in full"):
        workflow.close_contract(setup.staff, setup.contract)


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "whitespace"])
def test_termination_needs_a_reason(build, reason):
    setup = build(C.IN_PROGRESS)

    with refused("reason for terminating"):
        workflow.terminate_contract(setup.staff, setup.contract, reason)


def test_termination_records_its_reason(build):
    setup = build(C.SIGNED)

    workflow.terminate_contract(setup.staff, setup.contract, f"  {REASON}  ")

    assert (setup.contract.status, setup.contract.status_reason) == (C.TERMINATED, REASON)
    assert audit_events("contract.terminated")[-1].changes["reason"] == [None, REASON]


# --- through the web ----------------------------------------------------------------------------


def test_signing_through_the_page_publishes_the_notice(client, build):
    setup = build(C.DRAFT)
    contract = setup.contract
    assert client.get(f"/notices/contracts/{contract.id}").status_code == 404
    login(client, setup.staff)

    response = client.post(f"/contracts/{contract.id}/sign", data={"signed_on": local_today().isoformat()})

    assert response.status_code == 303
    assert db.session.get(Contract, contract.id).status == C.SIGNED
    client.post("/logout")
    notice = client.get(f"/notices/contracts/{contract.id}")
    assert notice.status_code == 200
    assert contract.number in notice.get_data(as_text=True)
    assert contract.number in client.get("/notices/contracts").get_data(as_text=True)
    client.post("/lang/en", data={"next": "/notices"})
    english = client.get(f"/notices/contracts/{contract.id}").get_data(as_text=True)
    facts = english[english.index('<dl class="facts">'):]
    assert client.application.config["BUREAU_NAME_EN"] in facts[:facts.index("</dl>")]  # the purchaser, in English


def test_a_refused_signing_shows_why_and_changes_nothing(client, build):
    setup = build(C.DRAFT, settlement="")
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/contracts/{setup.contract.id}/sign", data={"signed_on": local_today().isoformat()})

    assert response.status_code == 409
    assert in_page(lambda: str(ART23_LABELS["settlement"])) in response.get_data(as_text=True)
    assert db_state() == before


@pytest.mark.parametrize("action, status, target", [("start", C.SIGNED, C.IN_PROGRESS),
                                                    ("complete", C.IN_PROGRESS, C.COMPLETED),
                                                    ("close", C.COMPLETED, C.CLOSED)])
def test_buttons_move_the_contract(client, build, clock, action, status, target):
    setup = build(status)
    TRANSITIONS[action][4](setup, clock)
    login(client, setup.staff)

    response = client.post(f"/contracts/{setup.contract.id}/do/{action}")

    assert response.status_code == 303
    assert db.session.get(Contract, setup.contract.id).status == target


def test_a_button_from_the_wrong_status_changes_nothing(client, build):
    setup = build(C.SIGNED)
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/contracts/{setup.contract.id}/do/close")

    assert response.status_code == 409
    assert db_state() == before


def test_an_unknown_action_is_not_found(client, build):
    setup = build(C.SIGNED)
    login(client, setup.staff)

    assert client.post(f"/contracts/{setup.contract.id}/do/approve").status_code == 404


def test_terminating_through_the_page_needs_a_reason(client, build):
    setup = build(C.IN_PROGRESS)
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/contracts/{setup.contract.id}/terminate", data={"reason": " "})

    assert response.status_code == 422
    assert db_state() == before
