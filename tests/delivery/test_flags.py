"""Red flags in the service logs: each of the five kinds found, explained (and audited), kept with its
explanation when the logs are examined again, and cleared when the entry is corrected."""
from __future__ import annotations

import re
from datetime import date, time

import pytest
import sqlalchemy as sa
from flask_babel import gettext

from svcproc.contracts import workflow as contract_workflow
from svcproc.core.errors import PermissionDenied, ValidationError
from svcproc.delivery import flags, services
from svcproc.delivery.models import ActivityType, RedFlag, RedFlagKind, ServiceActivity
from svcproc.extensions import db
from tests.builders.delivery import build_world, unchanged
from tests.helpers import audit_events, copy_row, count, in_page, stays_on_site

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(scope="module")
def built(build_once):
    """The world, and a second contract of the organization that the social worker 周婷 also serves."""
    return build_once(lambda clock: build_world(clock, second_contract=True))


def _active(kind=None) -> list[RedFlag]:
    stmt = sa.select(RedFlag).where(RedFlag.active.is_(True)).order_by(RedFlag.id)
    if kind is not None:
        stmt = stmt.where(RedFlag.kind == kind)
    return list(db.session.execute(stmt).unique().scalars())


def _overlap(world):
    first = world.record(start_time=time(9, 0), end_time=time(10, 30))
    second = world.record(type=ActivityType.DELIBERATION, start_time=time(10, 0), end_time=time(11, 0),
                          topic="院落停车秩序议事", head_count=0, place="居委会会议室")
    return first, second


def _long_day(world, end=time(21, 30)):
    return [world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0,
                         start_time=s, end_time=e, place="服务对象家中")
            for s, e in ((time(7, 0), time(11, 30)), (time(12, 0), time(16, 30)), (time(17, 0), end))]


def _twice(world):
    return world.record(topic="入户走访"), world.record(topic="入户走访")


def _double_counted(world):
    mine = world.record(participants=[world.people["shared"]], head_count=0)
    theirs = services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[world.people["other_shared"]], head_count=0,
        activity_date=date(2025, 6, 12)))
    return mine, theirs


# --- each kind --------------------------------------------------------------------------------


def test_a_worker_in_two_overlapping_activities_is_flagged(world):
    first, second = _overlap(world)

    found = _active(RedFlagKind.WORKER_OVERLAP)

    assert [(f.activity_ids, f.detail["worker_id"], f.contract_id) for f in found] == [
        ([first.id, second.id], world.worker.id, world.contract.id)]


def test_back_to_back_activities_do_not_overlap(world):
    world.record(start_time=time(9, 0), end_time=time(10, 0))
    world.record(start_time=time(10, 0), end_time=time(11, 0), topic="另一场")
    assert _active() == []


def test_two_workers_at_the_same_time_are_no_overlap(world):
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    world.record(start_time=time(9, 0), end_time=time(10, 30), workers=[world.workers["second_worker"]],
                 topic="另一场")
    assert _active() == []


def test_more_than_12_hours_by_one_worker_in_a_day_is_flagged(world):
    entries = _long_day(world)

    found = _active(RedFlagKind.WORKER_HOURS)

    assert len(found) == 1
    assert found[0].activity_ids == sorted(a.id for a in entries)
    assert found[0].detail == {"worker_id": world.worker.id, "date": "2025-06-10", "hours": "13.50"}


def _split_day(world):
    """Seven hours on each of the organization's two contracts, the same worker, the same day."""
    first = world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0,
                         start_time=time(7, 0), end_time=time(14, 0), place="服务对象家中")
    second = services.record_activity(world.manager, world.second_contract, world.event(
        type=ActivityType.CASE_WORK, participants=[world.people["child"]], head_count=0, start_time=time(14, 30),
        end_time=time(21, 30), place="服务对象家中"))
    return first, second


def test_hours_on_two_contracts_of_the_organization_add_up(world):
    first, second = _split_day(world)

    found = _active(RedFlagKind.WORKER_HOURS)

    assert [(f.activity_ids, f.detail["hours"]) for f in found] == [([first.id, second.id], "14.00")]


@pytest.mark.parametrize("corrected", ["first", "second"])
def test_correcting_either_contracts_entry_clears_a_long_day_across_contracts(world, corrected):
    first, second = _split_day(world)
    entry, person = (first, "third") if corrected == "first" else (second, "child")

    services.correct_activity(world.manager, entry, world.event(
        type=ActivityType.CASE_WORK, participants=[world.people[person]], head_count=0,
        start_time=entry.start_time, end_time=time(entry.start_time.hour + 2, 0), place="服务对象家中"),
        "结束时间登记有误。")

    assert _active(RedFlagKind.WORKER_HOURS) == []


def _linked(flag: RedFlag) -> set[int]:
    from svcproc.delivery.models import red_flag_contract

    return set(db.session.execute(sa.select(red_flag_contract.c.contract_id)
                                  .where(red_flag_contract.c.red_flag_id == flag.id)).scalars())


def test_a_finding_is_listed_under_each_other_contract_it_concerns_while_it_concerns_it(world):
    """The write that finds a long day over both contracts files it under its own contract and lists
    it under the other; when that entry moves to another day and the day is still long on the other
    contract alone, the finding is filed there and no longer listed anywhere else."""
    def case_work(contract, start, end):
        return services.record_activity(world.manager, contract, world.event(
            type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0, start_time=start,
            end_time=end, place="服务对象家中"))

    first = case_work(world.contract, time(7, 0), time(19, 0))          # 12 hours: no finding yet
    assert _active(RedFlagKind.WORKER_HOURS) == []
    other = case_work(world.second_contract, time(19, 30), time(20, 30))
    db.session.flush()
    [found] = _active(RedFlagKind.WORKER_HOURS)
    assert (found.contract_id, _linked(found)) == (world.second_contract.id, {world.contract.id})
    early = case_work(world.contract, time(6, 0), time(6, 45))
    db.session.flush()
    db.session.expire_all()
    assert (found.contract_id, found.activity_ids, _linked(found)) == (
        world.second_contract.id, sorted([first.id, other.id, early.id]), {world.contract.id})

    services.correct_activity(world.manager, other, world.event(
        type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0,
        activity_date=other.activity_date.replace(day=other.activity_date.day + 1), start_time=time(19, 30),
        end_time=time(20, 30), place="服务对象家中"), "日期登记有误。")
    db.session.flush()
    db.session.expire_all()

    [still] = _active(RedFlagKind.WORKER_HOURS)
    assert (still.id, still.contract_id, still.activity_ids) == (found.id, world.contract.id, sorted([first.id, early.id]))
    assert _linked(still) == set()


def test_exactly_12_hours_is_no_flag(world):
    _long_day(world, end=time(20, 0))  # 4.5 + 4.5 + 3
    assert _active(RedFlagKind.WORKER_HOURS) == []


def test_the_same_entry_twice_is_flagged_as_a_duplicate(world):
    first, second = _twice(world)

    found = _active(RedFlagKind.DUPLICATE)

    assert [(f.activity_ids, f.detail) for f in found] == [([first.id, second.id], {"count": 2})]
    assert _active(RedFlagKind.WORKER_OVERLAP) == []  # a copy is not a second place to be


def test_the_same_person_counted_by_two_contracts_for_the_same_service_is_flagged(world):
    mine, theirs = _double_counted(world)

    found = _active(RedFlagKind.DOUBLE_COUNTED)

    assert len(found) == 1
    flag = found[0]
    assert flag.contract_id == world.contract.id and flag.activity_ids == [mine.id, theirs.id]
    assert flag.detail["other_contract_id"] == world.other_contract.id
    assert flag.detail["type"] == "community_event"
    assert "陈玉珍" not in str(flag.detail) and world.number("shared") not in str(flag.detail)


def _counted_twice() -> list[tuple[list[int], bool]]:
    return [(f.activity_ids, f.active) for f in db.session.execute(
        sa.select(RedFlag).where(RedFlag.kind == RedFlagKind.DOUBLE_COUNTED)).scalars()]


def test_a_person_counted_twice_is_flagged_on_their_first_entry_in_each_contract_through_later_writes(world):
    """A write re-examines a person's counting only where it adds or removes their first entry of a
    kind in a contract: later entries recorded, corrected or deleted leave the finding as it is, the
    first one deleted moves it to the next, the last one deleted clears it."""
    mine, theirs = _double_counted(world)
    shared = [world.people["shared"]]
    later = world.record(participants=shared, head_count=0, activity_date=date(2025, 6, 13), topic="第二次活动")
    last = world.record(participants=shared, head_count=0, activity_date=date(2025, 6, 14), topic="第三次活动")
    assert _counted_twice() == [([mine.id, theirs.id], True)]

    services.correct_activity(world.manager, last, world.event(participants=shared, head_count=0,
                                                               activity_date=date(2025, 6, 14), topic="第三次"),
                              "主题写错。")
    services.delete_activity(world.manager, last, "重复录入。")
    assert _counted_twice() == [([mine.id, theirs.id], True)]

    services.delete_activity(world.manager, mine, "录错日期。")
    assert _counted_twice() == [([later.id, theirs.id], True)]

    services.correct_activity(world.manager, later, world.event(
        type=ActivityType.DELIBERATION, participants=shared, head_count=0, activity_date=date(2025, 6, 13),
        topic="楼道议事"), "实为议事。")
    assert _counted_twice() == [([later.id, theirs.id], False)]

    services.correct_activity(world.manager, later, world.event(participants=shared, head_count=0,
                                                                activity_date=date(2025, 6, 13)), "改回社区活动。")
    assert _counted_twice() == [([later.id, theirs.id], True)]

    services.delete_activity(world.manager, later, "重复录入。")
    assert _counted_twice() == [([later.id, theirs.id], False)]


def test_the_same_person_in_two_contracts_for_different_services_is_no_flag(world):
    world.record(participants=[world.people["shared"]], head_count=0)
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        type=ActivityType.DELIBERATION, workers=[world.workers["other_worker"]],
        participants=[world.people["other_shared"]], head_count=0))

    assert _active(RedFlagKind.DOUBLE_COUNTED) == []


def test_an_entry_left_outside_a_shortened_contract_is_flagged(world):
    late = world.record(activity_date=date(2025, 6, 12))
    world.record(activity_date=date(2025, 5, 12), topic="五月")

    contract_workflow.amend_contract(world.users["procurement"], world.contract, reason="服务提前结束。",
                                     amended_on=date(2025, 6, 16), end_date=date(2025, 6, 1))

    found = _active(RedFlagKind.OUTSIDE_PERIOD)
    assert [(f.activity_ids, f.detail) for f in found] == [([late.id], {"date": "2025-06-12"})]


def test_an_entry_dated_in_the_future_is_flagged(world):
    entry = world.record()
    # Only a direct change can put an entry in the future: every way in refuses it.
    db.session.execute(sa.update(ServiceActivity).where(ServiceActivity.id == entry.id)
                       .values(activity_date=date(2025, 7, 1)))

    flags.refresh_flags([world.contract.id])

    assert [f.activity_ids for f in _active(RedFlagKind.OUTSIDE_PERIOD)] == [[entry.id]]


def test_clean_logs_raise_no_flag(world):
    world.record()
    world.record(activity_date=date(2025, 6, 11))
    assert _active() == []


# --- listing ----------------------------------------------------------------------------------

LIST = {"procurement": 200, "admin": 200, "auditor": 200, "manager": 403, "worker": 403, "other_manager": 403,
        "expert": 403, "evaluator": 403}


@pytest.mark.parametrize("who", list(LIST))
def test_red_flags_are_listed_for_the_bureau_and_auditors(client, login_as, world, who):
    _twice(world)
    login_as(who)

    response = client.get("/red-flags")

    assert response.status_code == LIST[who]
    if LIST[who] == 200:
        assert world.contract.number in response.text


@pytest.mark.parametrize("who, status", [("manager", 200), ("procurement", 200), ("auditor", 200),
                                         ("other_manager", 403), ("expert", 403)])
def test_a_contracts_flags_are_shown_with_the_contract(client, login_as, world, who, status):
    first, second = _twice(world)
    login_as(who)

    response = client.get(f"/contracts/{world.contract.id}/red-flags")

    assert response.status_code == status
    if status == 200:
        assert f"/services/{second.id}" in response.text


def test_a_busy_contracts_flags_come_a_page_at_a_time(client, login_as, world, app, clock, count_queries):
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 5):
        db.session.add(RedFlag(kind=RedFlagKind.DUPLICATE, key=f"test-page-{n}", contract_id=world.contract.id,
                               activity_ids=[], detail={}, found_at=clock.now))
    db.session.flush()
    login_as("procurement")

    with count_queries() as statements:
        first = client.get(f"/contracts/{world.contract.id}/red-flags")
    second = client.get(f"/contracts/{world.contract.id}/red-flags", query_string={"page": 2})

    assert first.status_code == second.status_code == 200
    assert first.text.count('rel="next"') == 1 and 'rel="prev"' in second.text
    assert statements.count <= 12


@pytest.mark.parametrize("path", ["/red-flags?kind=worker_overlap", "/contracts/{contract}/red-flags"])
def test_a_page_of_flags_names_their_workers_read_with_the_flags(client, login_as, world, count_queries, path):
    """The worker a flag is about is named on the district's list and the contract's, read in the
    statement that reads the flags (a flag naming no worker shows none): no statement reads the
    workers apart, and the contract's page reads the contract with its count of flags."""
    _overlap(world)
    _twice(world)
    login_as("procurement")

    with count_queries() as statements:
        response = client.get(path.format(contract=world.contract.id))

    assert response.status_code == 200
    assert f"{world.worker.name} · 2025-06-10" in response.text
    assert not [s for s in statements.statements if s.lstrip().upper().startswith("SELECT SOCIAL_WORKER")]
    if "contracts" in path:
        assert not [s for s in statements.statements if "count(*)" in s and not s.startswith("SELECT contract")]


@pytest.mark.parametrize("who", ["procurement", "manager"])
def test_a_contracts_pages_of_flags_hold_each_flag_once_in_order_filed_there_or_linked(client, login_as, world, app,
                                                                                       clock, who):
    """The page's flags come from two sides (filed under the contract; filed under another and linked
    to it), each read to the page's end: walked page by page they are the contract's standing flags,
    each once, in the list's order."""
    from svcproc.delivery.models import red_flag_contract

    kinds = [RedFlagKind.DUPLICATE, RedFlagKind.WORKER_OVERLAP, RedFlagKind.WORKER_HOURS]
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 4):
        db.session.add(RedFlag(kind=kinds[n % 3], key=f"test-filed-{n}", contract_id=world.contract.id,
                               activity_ids=[], detail={}, found_at=clock.now, active=n != 7))
    linked = [RedFlag(kind=kinds[n % 3], key=f"test-linked-{n}", contract_id=world.other_contract.id,
                      activity_ids=[], detail={}, found_at=clock.now, active=n != 2) for n in range(6)]
    db.session.add_all(linked)
    db.session.flush()
    db.session.execute(sa.insert(red_flag_contract), [{"red_flag_id": f.id, "contract_id": world.contract.id}
                                                      for f in linked])
    expected = db.session.execute(sa.select(RedFlag.id).where(RedFlag.active, RedFlag.concerning(world.contract.id))
                                  .order_by(RedFlag.kind, RedFlag.id)).scalars().all()
    login_as(who)

    shown = []
    for page in (1, 2):
        response = client.get(f"/contracts/{world.contract.id}/red-flags", query_string={"page": page})
        assert response.status_code == 200
        shown += [int(i) for i in re.findall(r'/red-flags/(\d+)/explain"', response.text)]

    assert len(expected) == per_page + 3 + 5
    assert shown == expected


# --- explanations -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["procurement", "manager"])
def test_a_flag_is_explained_with_a_note_and_audited(client, login_as, world, who):
    _twice(world)
    flag = _active()[0]
    user = login_as(who)

    response = client.post(f"/red-flags/{flag.id}/explain", data={"note": "网络不佳导致重复提交，已核实为同一场活动。"})

    assert response.status_code == 303
    flag = db.session.get(RedFlag, flag.id)
    assert flag.explanation == "网络不佳导致重复提交，已核实为同一场活动。"
    assert flag.explained_by_id == user.id and flag.explained_at is not None
    event = audit_events("red_flag.explained", object_id=str(flag.id))[0]
    assert event.actor_id == user.id
    assert event.changes == {"explanation": [None, "网络不佳导致重复提交，已核实为同一场活动。"]}


@pytest.mark.parametrize("broken, status", [("unique", 409), ("not null", 500)])
def test_a_save_meeting_another_at_the_same_moment_is_answered_with_nothing_changed(client, login_as, world,
                                                                                    monkeypatch, broken, status):
    """An action's save that breaks a unique key (another save, made at the same moment, got there
    first) answers 409 on the page it came from, saying so; nothing is saved. Any other broken
    constraint is a fault of the code and stays a server error."""
    from svcproc.core import flow
    from svcproc.delivery.views import flags as flag_views

    _twice(world)
    flag = _active()[0]

    def explain_meeting_another(actor, flag_, note):
        flag_.explanation = note
        db.session.execute(copy_row(RedFlag, flag_.id) if broken == "unique" else copy_row(RedFlag, flag_.id, key=None))

    monkeypatch.setattr(flag_views, "explain_flag", explain_meeting_another)
    login_as("procurement")
    before = count(RedFlag)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post(f"/red-flags/{flag.id}/explain", data={"note": "已核实。"},
                               headers={"Referer": "http://localhost/red-flags"})
    finally:
        client.application.config["PROPAGATE_EXCEPTIONS"] = None

    assert response.status_code == status
    if broken == "unique":
        assert in_page(lambda: gettext("Someone else saved the same thing at the same moment. Nothing of yours "
                                       "was saved: check the page and send it again.")) in response.text
    db.session.expire_all()
    assert count(RedFlag) == before
    assert db.session.get(RedFlag, flag.id).explanation == ""


@pytest.mark.parametrize("who", ["auditor", "admin", "worker", "other_manager", "expert", "evaluator"])
def test_others_cannot_explain_a_flag(client, login_as, world, who):
    _twice(world)
    flag = _active()[0]
    login_as(who)

    with unchanged(flag):
        response = client.post(f"/red-flags/{flag.id}/explain", data={"note": "没问题"})

    assert response.status_code == 403


def test_an_explanation_cannot_be_empty(world):
    _twice(world)
    flag = _active()[0]
    with unchanged(flag), pytest.raises(ValidationError):
        flags.explain_flag(world.users["procurement"], flag, "   ")


def test_the_other_organization_cannot_explain_through_the_service(world):
    _twice(world)
    flag = _active()[0]
    with unchanged(flag), pytest.raises(PermissionDenied):
        flags.explain_flag(world.users["other_manager"], flag, "不是我们的")


def test_the_list_filters_open_and_explained_flags(client, login_as, world):
    _twice(world)
    _overlap(world)
    duplicate = _active(RedFlagKind.DUPLICATE)[0]
    flags.explain_flag(world.users["procurement"], duplicate, "已核实。")
    login_as("auditor")

    open_ = client.get("/red-flags?state=open", headers={"HX-Request": "true"}).text
    explained = client.get("/red-flags?state=explained", headers={"HX-Request": "true"}).text

    assert "已核实。" not in open_ and "已核实。" in explained
    assert f"/red-flags/{duplicate.id}/explain" not in open_ + explained  # auditors have no explain form


def test_an_explanation_survives_recomputation(world):
    _twice(world)
    flag = _active()[0]
    flags.explain_flag(world.users["procurement"], flag, "已核实为同一场活动。")

    flags.refresh_flags([world.contract.id])
    world.record(activity_date=date(2025, 6, 11))  # recording anything re-examines the contract
    flags.refresh_flags([world.contract.id, world.other_contract.id])

    again = _active()
    assert [(f.id, f.explanation, f.active) for f in again] == [(flag.id, "已核实为同一场活动。", True)]


# --- corrections clear flags ------------------------------------------------------------------


def test_correcting_a_duplicate_clears_its_flag(world):
    first, second = _twice(world)
    flag = _active()[0]

    services.correct_activity(world.manager, second, world.event(topic="入户走访", start_time=time(14, 0),
                                                                 end_time=time(15, 0)), "第二条是下午的走访。")

    assert _active() == []
    flag = db.session.get(RedFlag, flag.id)
    assert flag.active is False and flag.kind == RedFlagKind.DUPLICATE  # kept, inactive


def test_correcting_an_overlap_clears_its_flag(world):
    first, second = _overlap(world)

    services.correct_activity(world.manager, second, world.event(
        type=ActivityType.DELIBERATION, start_time=time(10, 30), end_time=time(11, 30), topic="院落停车秩序议事",
        head_count=0, place="居委会会议室"), "时间登记有误。")

    assert _active() == []


def test_correcting_a_long_day_clears_its_flag(world):
    entries = _long_day(world)

    services.correct_activity(world.manager, entries[2], world.event(
        type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0, start_time=time(17, 0),
        end_time=time(18, 0), place="服务对象家中"), "结束时间登记有误。")

    assert _active() == []


def test_a_cleared_flag_that_comes_back_keeps_its_explanation(world):
    first, second = _twice(world)
    flag = _active()[0]
    flags.explain_flag(world.users["procurement"], flag, "已核实。")
    moved = world.event(topic="入户走访", start_time=time(14, 0), end_time=time(15, 0))
    services.correct_activity(world.manager, second, moved, "改时间")
    assert _active() == []

    services.correct_activity(world.manager, second, world.event(topic="入户走访"), "改回来")

    assert [(f.id, f.explanation) for f in _active()] == [(flag.id, "已核实。")]


@pytest.mark.parametrize("target", ["https://evil.example/flags", "//evil.example", "/\\evil.example",
                                    "/\t/evil.example"])
def test_after_explaining_the_way_back_stays_on_the_site(client, login_as, world, target):
    _twice(world)
    flag = _active()[0]
    login_as("procurement")

    response = client.post(f"/red-flags/{flag.id}/explain", data={"note": "已核实。", "next": target})

    assert response.status_code == 303
    assert stays_on_site(response.headers["Location"])


def test_after_explaining_a_local_way_back_is_followed(client, login_as, world):
    _twice(world)
    flag = _active()[0]
    login_as("procurement")

    response = client.post(f"/red-flags/{flag.id}/explain",
                           data={"note": "已核实。", "next": f"/contracts/{world.contract.id}/red-flags"})

    assert response.headers["Location"].endswith(f"/contracts/{world.contract.id}/red-flags")


def _flag_state() -> set[tuple]:
    return {(f.key, f.kind, f.contract_id, tuple(f.activity_ids), f.active)
            for f in db.session.execute(sa.select(RedFlag)).unique().scalars()}


def _keys_read(statements: list[str]) -> int:
    """How many flag keys the write's lookup of known flags names."""
    reads = [m for s in statements for m in re.findall(r'red_flag\."?key"? IN \(([^)]*)\)', s)]
    assert len(reads) == 1, statements
    return reads[0].count(",") + 1


@pytest.mark.parametrize("write", ["record", "correct", "delete"])
def test_a_write_examines_the_pairs_with_its_entry_and_finds_what_a_whole_examination_finds(world, count_queries,
                                                                                             write):
    """A busy worker's day: a write looks at the pairs its own entry forms (as many as the day's
    entries), not every pair of the day (their square), and leaves the flags as re-examining the
    whole contract leaves them."""
    day = [world.record(type=ActivityType.DELIBERATION, start_time=time(8 + h, 0), end_time=time(9 + h, 30),
                        topic=f"议事{h}", head_count=0, place=f"议事厅{h}") for h in range(8)]
    event = world.event(type=ActivityType.DELIBERATION, start_time=time(10, 15), end_time=time(12, 45),
                        topic="加开议事", head_count=0, place="议事厅九")
    with count_queries() as counted:
        if write == "record":
            services.record_activity(world.manager, world.contract, event)
        elif write == "correct":
            services.correct_activity(world.manager, day[3], event, "时间登记有误。")
        else:
            services.delete_activity(world.manager, day[3], "重复录入。")
    db.session.flush()
    after_write = _flag_state()

    assert _keys_read(counted.statements) < 8 * 7 // 2        # not all 36 pairs of the day's nine entries
    assert any(kind == RedFlagKind.WORKER_OVERLAP and active for _k, kind, _c, _a, active in after_write)
    flags.refresh_flags([world.contract.id])
    db.session.flush()
    assert _flag_state() == after_write


def test_a_finding_another_write_added_meanwhile_takes_this_examinations_view_and_keeps_its_explanation(
        world, monkeypatch):
    """Two entries of one worker's day recorded at the same moment both find the day long: the second
    write's insert meets the first one's row (its read ran before that commit). The finding is taken
    over with what this examination found, its explanation kept, rather than refusing the entry."""
    from svcproc.core import clock

    key = f"hours:{world.workers['worker'].id}:2025-05-06"
    db.session.add(RedFlag(kind=RedFlagKind.WORKER_HOURS, key=key, contract_id=world.contract.id, activity_ids=[1],
                           detail={"worker_id": world.workers["worker"].id, "date": "2025-05-06", "hours": "12.5"},
                           found_at=clock.now(), active=True, explanation="已核实：当日为全天义诊活动。"))
    db.session.flush()
    exam = flags._Examination({world.contract.id})
    exam.found[key] = dict(kind=RedFlagKind.WORKER_HOURS, contract_id=world.contract.id, activity_ids=[1, 2],
                           detail={"worker_id": world.workers["worker"].id, "date": "2025-05-06", "hours": "14.5"},
                           contracts={world.contract.id})
    # The examination's read of the findings ran before the other write committed its row.
    monkeypatch.setattr(flags, "_FLAG_ROWS", flags._Statements(
        lambda: sa.select(*flags._FLAG_COLUMNS).where(sa.false(), RedFlag.key.in_(sa.bindparam("keys", expanding=True)))))

    flags._apply(exam)

    db.session.expire_all()
    rows = db.session.execute(sa.select(RedFlag).where(RedFlag.key == key)).scalars().all()
    assert len(rows) == 1
    assert (rows[0].active, rows[0].activity_ids, rows[0].detail["hours"]) == (True, [1, 2], "14.5")
    assert rows[0].explanation == "已核实：当日为全天义诊活动。"
