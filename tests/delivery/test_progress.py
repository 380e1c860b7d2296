"""Progress against targets from the service logs: distinct people against person-times, cases,
groups, sessions, events and hours, by month and by community, and the page's charts."""
from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

import pytest

from svcproc.delivery import progress, services
from svcproc.delivery.models import ActivityType

pytestmark = pytest.mark.usefixtures("shared_connection")


def _logs(world):
    """Two months in two communities; the elder comes three times, two people only as a head-count."""
    p = world.people
    world.record(activity_date=date(2025, 5, 20), participants=[p["elder"], p["second"]], head_count=10,
                 hours="2")                                                       # 12 person-times
    world.record(activity_date=date(2025, 6, 3), participants=[p["elder"]], head_count=5,
                 community=world.communities[1])                                  # 6
    world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 4), participants=[p["third"]],
                 head_count=0, hours="1")                                         # 1, case A
    world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 11), participants=[p["third"]],
                 head_count=0, hours="1")                                         # 1, case A again
    world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 12), participants=[p["no_number"]],
                 head_count=0, hours="1", community=world.communities[1])         # 1, case B
    group = services.create_group(world.manager, world.contract, "互助小组", 6, [p["elder"], p["child"]])
    for n, day in enumerate((date(2025, 5, 27), date(2025, 6, 10)), start=1):
        world.record(type=ActivityType.GROUP_SESSION, group=group, session_number=n, activity_date=day,
                     participants=[p["elder"], p["child"]], head_count=0, start_time=time(15, 0),
                     end_time=time(16, 30))                                       # 2 each
    world.record(type=ActivityType.DELIBERATION, activity_date=date(2025, 6, 13), topic="停车议事",
                 participants=[p["second"], p["shared"]], head_count=0)           # 2
    world.record(type=ActivityType.VOLUNTEER_TRAINING, activity_date=date(2025, 6, 14), participants=[],
                 head_count=20, hours="3")                                        # 20
    # Another organization's contract serving the same person does not count here.
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[p["other_shared"]], head_count=3))


def test_distinct_people_count_each_person_once_and_head_counts_only_as_person_times(world):
    _logs(world)

    result = progress.compute(world.contract.id)

    # elder, second, third, no_number, child, shared
    assert result.people == 6
    assert result.person_times == 12 + 6 + 1 + 1 + 1 + 2 + 2 + 2 + 20
    assert result.activities == 9


def test_cases_groups_sessions_events_and_hours(world):
    _logs(world)

    result = progress.compute(world.contract.id)

    assert (result.cases, result.groups, result.group_sessions) == (2, 1, 2)
    assert (result.events, result.deliberations, result.trainings) == (2, 1, 1)
    # 2 + 1.5 (event) + 3 x 1 (cases) + 2 x 1.5 (sessions) + 1.5 (deliberation) + 3 (training)
    assert result.hours == Decimal("14.00")


def test_by_month_and_by_community(world):
    _logs(world)

    result = progress.compute(world.contract.id)

    assert list(result.by_month) == ["2025-05", "2025-06"]
    assert result.by_month["2025-05"] == {"person_times": 14, "hours": Decimal("3.5"), "activities": 2}
    assert result.by_month["2025-06"]["person_times"] == 33
    assert result.by_month["2025-06"]["activities"] == 7
    first, second = (c.name for c in world.communities)
    assert result.by_community[first]["person_times"] == 40
    assert result.by_community[second] == {"person_times": 7, "hours": Decimal("2.5"), "activities": 2}
    assert list(result.by_community) == [first, second]  # most served first


def test_the_same_person_in_two_registers_counts_in_each_contract_once(world):
    _logs(world)
    other = progress.compute(world.other_contract.id)
    assert (other.people, other.person_times, other.activities) == (1, 4, 1)


def test_the_figures_are_measured_against_the_contracts_targets(world):
    _logs(world)

    rows = dict((name, (actual, target)) for name, actual, target in progress.compute(world.contract.id)
                .against(world.contract))

    assert rows["target_people"] == (6, world.contract.target_people)
    assert rows["target_person_times"] == (47, world.contract.target_person_times)
    assert rows["target_cases"] == (2, 30)


def test_an_empty_log_is_all_zeros(world):
    result = progress.compute(world.contract.id)
    assert (result.people, result.person_times, result.activities, result.hours) == (0, 0, 0, 0)
    assert result.by_month == {} and result.by_community == {}


def test_the_profile_is_aggregates_without_names(world):
    _logs(world)

    profile = progress.profile(world.contract.id)

    assert profile["total"] == 6
    assert profile["gender"] == {"female": 3, "male": 3}
    assert profile["ages"]["0-13"] == 1 and profile["ages"]["60-79"] == 4
    assert "王秀英" not in str(profile)


@pytest.mark.parametrize("who, status", [("manager", 200), ("worker", 200), ("procurement", 200), ("auditor", 200),
                                         ("other_manager", 403), ("expert", 403), ("evaluator", 403)])
def test_the_progress_page_draws_the_charts(client, login_as, world, who, status):
    _logs(world)
    login_as(who)

    response = client.get(f"/contracts/{world.contract.id}/progress")

    assert response.status_code == status
    if status != 200:
        return
    svgs = re.findall(r"<svg\b[^>]*>.*?</svg>", response.text, flags=re.S)
    assert len(svgs) == 3
    assert all('role="img"' in svg and "aria-label=" in svg and "<title>" in svg for svg in svgs)
    ids = re.findall(r'\bid="([^"]+)"', response.text)
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert "2025-05" in svgs[1] and "2025-06" in svgs[1]
    assert world.communities[0].name in svgs[2]
    assert "47 / 2,000" in svgs[0]   # person-times against the target, written out
    assert "王秀英" not in response.text
