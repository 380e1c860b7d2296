"""Progress against targets from the service logs: distinct people against person-times, cases,
groups, sessions, events and hours, by month and by community, and the page's charts."""
from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.contracts.models import Contract
from svcproc.delivery import progress, services
from svcproc.delivery.models import ActivityType, ContractProgress, ServiceActivity, activity_participant
from svcproc.extensions import db
from tests.builders.delivery import SENSITIVE_CONSENT, id_number

pytestmark = pytest.mark.usefixtures("shared_connection")


def _logs(world):
    """Two months in two communities; the elder comes three times, two people only as a head-count."""
    p = world.people
    world.record(activity_date=date(2025, 5, 20), participants=[p["elder"], p["second"]], head_count=10,
                 end_time=time(11, 0), hours="2")                                 # 12 person-times
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
                 head_count=20, end_time=time(12, 0), hours="3")                  # 20
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


# --- the kept figures -------------------------------------------------------------------------------


def _same(a, b) -> bool:
    return a == b and a.by_month == b.by_month and list(a.by_community) == list(b.by_community)


def test_the_kept_figures_are_the_computed_ones_and_are_read_back_whole(world):
    _logs(world)

    first = progress.kept(world.contract.id)
    again = progress.kept(world.contract.id)

    assert _same(first, progress.compute(world.contract.id)) and _same(again, first)


def _page_figure(client, world) -> str:
    return re.search(r"(\d+) / 2,000", client.get(f"/contracts/{world.contract.id}/progress").text).group(1)


WRITES = {
    "record": lambda world, entry: world.record(activity_date=date(2025, 6, 12), participants=[world.people["elder"]],
                                                head_count=4),
    "correct": lambda world, entry: services.correct_activity(
        world.manager, entry, world.event(activity_date=date(2025, 6, 14), participants=[], head_count=50,
                                          type=ActivityType.VOLUNTEER_TRAINING, end_time=time(12, 0), hours="3"),
        "人数记错"),
    "delete": lambda world, entry: services.delete_activity(world.manager, entry, "重复录入"),
}


@pytest.mark.parametrize("write, person_times", [("record", 52), ("correct", 77), ("delete", 27)])
def test_the_page_shows_a_change_to_the_log_at_once(client, login_as, world, write, person_times):
    _logs(world)
    training = db.session.execute(sa.select(ServiceActivity).where(
        ServiceActivity.contract_id == world.contract.id, ServiceActivity.head_count == 20)).scalar_one()
    login_as("manager")
    assert _page_figure(client, world) == "47"   # computed and kept

    WRITES[write](world, training)

    assert _page_figure(client, world) == str(person_times)


def test_reading_the_kept_figures_again_skips_the_grouped_queries(client, login_as, world, count_queries):
    _logs(world)
    login_as("auditor")
    with count_queries() as first:
        client.get(f"/contracts/{world.contract.id}/progress")

    with count_queries() as again:
        response = client.get(f"/contracts/{world.contract.id}/progress")

    assert response.status_code == 200 and "47 / 2,000" in response.text
    assert not any("GROUP BY" in s for s in again.statements)
    assert any("GROUP BY" in s for s in first.statements)


def test_figures_kept_for_an_older_log_are_not_shown(world):
    _logs(world)
    progress.kept(world.contract.id)
    # As a writer whose change committed while the figures were being kept would leave them.
    db.session.execute(sa.update(ContractProgress).where(ContractProgress.contract_id == world.contract.id)
                       .values(log_version=ContractProgress.log_version + 1))
    world_entries = progress.compute(world.contract.id).activities
    db.session.execute(sa.delete(activity_participant).where(activity_participant.c.activity_id.in_(
        sa.select(ServiceActivity.id).where(ServiceActivity.contract_id == world.contract.id))))

    assert progress.kept(world.contract.id).activities == world_entries
    assert progress.kept(world.contract.id).people == 0


def test_the_kept_figures_of_contracts_are_read_with_them_and_only_stale_ones_computed(world, count_queries):
    _logs(world)
    listed = sa.select(Contract).where(Contract.id == world.contract.id)
    progress.kept(world.contract.id)

    with count_queries() as current:
        figures = progress.with_kept(listed)
    db.session.execute(sa.update(ContractProgress).where(ContractProgress.contract_id == world.contract.id)
                       .values(log_version=ContractProgress.log_version + 1))
    with count_queries() as stale:
        again = progress.with_kept(listed)

    assert [contract.id for contract, _figures in figures] == [world.contract.id]
    assert _same(figures[0][1], progress.compute(world.contract.id))
    assert _same(again[0][1], figures[0][1])
    assert current.count == 1 and "contract_progress" in current.statements[0]
    assert any("GROUP BY" in s for s in stale.statements)
    assert progress.with_kept(listed.where(sa.false())) == []


def test_a_new_identity_number_marks_the_persons_contracts_out_of_date(world):
    _logs(world)
    progress.kept(world.contract.id)
    person = world.people["no_number"]
    version = db.session.get(ContractProgress, world.contract.id).log_version

    services.update_beneficiary(world.manager, person, name=person.name, gender=person.gender.value,
                                id_number=id_number(date(1948, 5, 6), 77), birth_year=None,
                                community=person.community, categories=person.categories, phone="",
                                consent_by=person.consent_by.value, guardian_name=person.guardian_name,
                                consent_method=person.consent_method.value, consent_on=person.consent_on,
                                **SENSITIVE_CONSENT(person.consent_on))

    db.session.expire_all()
    assert db.session.get(ContractProgress, world.contract.id).log_version != version  # a new version
