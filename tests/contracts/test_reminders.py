"""Reminders: per person, milestones overdue or due within 7 days (and, for bureau staff, waiting for
acceptance) — on /reminders, as the menu badge, and from `svcproc remind`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import ContractStatus, Milestone
from svcproc.contracts.reminders import reminders_for
from svcproc.core.permissions import Role
from tests.builders.accounts import UserFactory, user_for_role
from tests.helpers import login

from tests.builders.contracts import (ContractSetup, at_local, contract_in, deliver, draft_contract, local_today,
                                      schedule_rows)

C = ContractStatus
START = date(2025, 7, 1)
TODAY = START + timedelta(days=20)


def _running(clock, schedule) -> ContractSetup:
    """A signed contract running from START with `schedule` (days after START, percent)."""
    setup = draft_contract(clock, schedule=None)
    contract = setup.contract
    workflow.update_contract(setup.staff, contract, start_date=START, end_date=START + timedelta(days=364))
    workflow.set_milestones(setup.staff, contract, schedule_rows(START, contract.end_date, schedule))
    workflow.sign_contract(setup.staff, contract, local_today())
    return setup


@dataclass
class World:
    a: ContractSetup
    b: ContractSetup

    def ma(self, index: int) -> Milestone:
        return self.a.milestones[index]


@pytest.fixture
def world(clock):
    """Organization A's contract: due T-7 (accepted), T-1, T+7, T+8, and the end (submitted);
    organization B's: due T+3 and the end. The clock is at 10:00 on T (TODAY)."""
    a = _running(clock, ((13, "10"), (19, "20"), (27, "20"), (28, "20"), ("end", "30")))
    b = _running(clock, ((23, "50"), ("end", "50")))
    clock.set(at_local(START))
    for setup in (a, b):
        workflow.start_contract(setup.staff, setup.contract)
    deliver(a, a.milestones[0])
    workflow.accept_milestone(a.staff, a.milestones[0])
    deliver(a, a.milestones[4])
    clock.set(at_local(TODAY, 10))
    return World(a=a, b=b)


def _listed(items):
    return [(r.milestone.id, r.kind, r.days) for r in items]


def test_procurement_sees_overdue_due_soon_and_awaiting_review(world):
    items = reminders_for(world.a.staff, TODAY)

    assert _listed(items) == [
        (world.ma(1).id, "overdue", -1),
        (world.b.milestones[0].id, "due_soon", 3),
        (world.ma(2).id, "due_soon", 7),
        (world.ma(4).id, "awaiting_review", (world.a.contract.end_date - TODAY).days),
    ]


@pytest.mark.parametrize("who", ["manager", "social_worker"])
def test_an_organization_sees_its_own_only(world, who):
    user = world.a.manager if who == "manager" else user_for_role(Role.SOCIAL_WORKER, world.a.org)

    items = reminders_for(user, TODAY)

    # Not the submitted one: the organization has done its part.
    assert _listed(items) == [(world.ma(1).id, "overdue", -1), (world.ma(2).id, "due_soon", 7)]


def test_the_other_organization_sees_its_own_only(world):
    assert _listed(reminders_for(world.b.manager, TODAY)) == [(world.b.milestones[0].id, "due_soon", 3)]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN], ids=lambda r: r.value)
def test_readers_see_what_is_due_but_review_nothing(world, role):
    items = reminders_for(user_for_role(role), TODAY)

    assert [r.kind for r in items] == ["overdue", "due_soon", "due_soon"]


@pytest.mark.parametrize("role", [Role.EXPERT, Role.EVALUATOR], ids=lambda r: r.value)
def test_roles_without_contracts_have_no_reminders(world, role):
    assert reminders_for(user_for_role(role), TODAY) == []


def test_an_org_manager_without_an_organization_has_no_reminders(world):
    assert reminders_for(UserFactory(role=Role.ORG_MANAGER, organization=None), TODAY) == []


@pytest.mark.parametrize("window, included", [(7, False), (8, True)])
def test_the_window_includes_its_last_day(world, window, included):
    """Due in 7 days is in the default window; due in 8 days is not."""
    items = reminders_for(world.a.manager, TODAY, window)

    assert (world.ma(3).id in [r.milestone.id for r in items]) is included


def test_due_today_is_due_soon_not_overdue(world):
    items = reminders_for(world.a.manager, TODAY + timedelta(days=7))

    assert (world.ma(2).id, "due_soon", 0) in _listed(items)


@pytest.mark.parametrize("status, listed", [(C.DRAFT, False), (C.SIGNED, True), (C.IN_PROGRESS, True),
                                            (C.TERMINATED, False)], ids=lambda v: getattr(v, "value", str(v)))
def test_only_signed_and_running_contracts_remind(build, clock, status, listed):
    setup = build(status)
    clock.set(at_local(setup.contract.end_date + timedelta(days=1)))  # everything is overdue by now

    items = reminders_for(setup.staff, local_today())

    assert bool(items) is listed


def test_a_returned_milestone_past_due_is_overdue_for_the_organization(clock):
    setup = contract_in(C.IN_PROGRESS, clock)
    milestone = setup.milestones[0]
    deliver(setup, milestone)
    workflow.return_milestone(setup.staff, milestone, "请补充签到表。")
    clock.set(at_local(milestone.due_date + timedelta(days=2)))

    items = reminders_for(setup.manager, local_today())

    assert _listed(items)[0] == (milestone.id, "overdue", -2)


# --- the page, the badge and the command ----------------------------------------------------------------


def _badge(html: str) -> int:
    match = re.search(r'<span class="nav-badge">(\d+)<', html)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("who, expected", [("procurement", 4), ("a-manager", 2), ("b-manager", 1)])
def test_the_menu_badge_counts_the_persons_reminders(client, world, who, expected):
    user = {"procurement": world.a.staff, "a-manager": world.a.manager, "b-manager": world.b.manager}[who]
    login(client, user)

    page = client.get("/contracts").get_data(as_text=True)

    assert _badge(page) == expected == len(reminders_for(user, TODAY))


def test_no_badge_for_roles_without_contracts(client, world):
    login(client, user_for_role(Role.EXPERT))

    assert _badge(client.get("/").get_data(as_text=True)) == 0


def test_the_reminders_page_lists_the_organizations_own(client, world):
    login(client, world.b.manager)

    page = client.get("/reminders").get_data(as_text=True)

    assert world.b.contract.number in page and world.b.milestones[0].title in page
    assert world.a.contract.number not in page


def test_the_reminders_page_for_procurement(client, world):
    login(client, world.a.staff)

    page = client.get("/reminders").get_data(as_text=True)

    milestones = page.split('id="results"', 1)[1]
    for milestone in (world.ma(1), world.ma(2), world.ma(4), world.b.milestones[0]):
        assert f"#m{milestone.id}" in milestones
    for milestone in (world.ma(0), world.ma(3), world.b.milestones[1]):
        assert f"#m{milestone.id}" not in milestones
    # The accepted one is owed: its payment falls due 30 days after its acceptance on 1 July.
    payments = page.split('id="due-payment"', 1)[1].split("</section>", 1)[0]
    assert f"#m{world.ma(0).id}" in payments and "2025-07-31" in payments


def test_the_remind_command_lists_each_persons_reminders(cli, world):
    result = cli("remind")

    assert result.exit_code == 0, result.output
    blocks = _blocks(result.output)
    assert len(blocks[world.a.staff.username]) == 4
    assert len(blocks[world.a.manager.username]) == 2
    assert len(blocks[world.b.manager.username]) == 1
    assert any(world.b.contract.number in line for line in blocks[world.b.manager.username])
    assert not any(world.a.contract.number in line for line in blocks[world.b.manager.username])
    assert "| overdue" in "\n".join(blocks[world.a.manager.username])


def test_the_remind_command_takes_a_window(cli, world):
    blocks = _blocks(cli("remind", "--days", "8").output)

    assert len(blocks[world.a.manager.username]) == 3


def test_the_remind_command_with_nothing_due(cli, build):
    build(C.DRAFT)

    result = cli("remind")

    assert result.exit_code == 0
    assert "Nothing overdue or due within 7 days." in result.output


def _blocks(output: str) -> dict[str, list[str]]:
    blocks, current = {}, None
    for line in output.splitlines():
        if line.startswith("  "):
            blocks[current].append(line.strip())
        elif line.strip():
            current = line.split(" ", 1)[0]
            blocks[current] = []
    return blocks


def test_the_badge_is_counted_once_per_version_and_follows_every_change(client, make_client, world, count_queries):
    login(client, world.a.staff)
    manager = make_client()
    login(manager, world.b.manager)
    assert _badge(client.get("/contracts").get_data(as_text=True)) == 4
    assert _badge(manager.get("/contracts").get_data(as_text=True)) == 1
    with count_queries() as counted:
        assert _badge(client.get("/contracts").get_data(as_text=True)) == 4
    assert not [s for s in counted.statements if s.lower().startswith("select count(") and "milestone" in s.lower()]

    # Organization B delivers its milestone due in 3 days: no longer owed by B, now waiting for
    # the bureau (which counted it already as due soon).
    deliver(world.b, world.b.milestones[0])
    assert _badge(manager.get("/contracts").get_data(as_text=True)) == 0
    assert _badge(client.get("/contracts").get_data(as_text=True)) == 4

    workflow.accept_milestone(world.b.staff, world.b.milestones[0])
    assert _badge(client.get("/contracts").get_data(as_text=True)) == 3


@pytest.mark.parametrize("who, expected", [("procurement", 4), ("a-manager", 2), ("b-manager", 1)])
def test_the_reminders_page_takes_its_count_from_the_badge(client, world, count_queries, who, expected):
    user = {"procurement": world.a.staff, "a-manager": world.a.manager, "b-manager": world.b.manager}[who]
    login(client, user)
    client.get("/reminders")

    with count_queries() as counted:
        page = client.get("/reminders").get_data(as_text=True)

    assert not [s for s in counted.statements if s.lower().startswith("select count(") and "milestone" in s.lower()]
    assert f'<p class="count">共 {expected} 条记录</p>' in page
    assert page.split('id="results"', 1)[1].count("#m") >= expected
