"""Recording services: each kind's rules, who may record on which contract and when, evidence files,
and corrections that keep the version they replace."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from svcproc.contracts import workflow as contract_workflow
from svcproc.audit.models import AuditEvent
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.delivery import services
from svcproc.delivery.forms import ActivityForm
from svcproc.delivery.models import ActivityRevision, ActivityType, ServiceActivity, ServiceCase, ServiceGroup
from svcproc.extensions import db
from tests.builders.delivery import END, START, TODAY, unchanged
from tests.builders.files import pdf_upload
from tests.helpers import audit_events, count, in_page, stays_on_site

pytestmark = pytest.mark.usefixtures("shared_connection")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form(world, **values) -> dict:
    data = {"type": "community_event", "activity_date": "2025-06-10", "start_time": "09:00", "end_time": "10:30",
            "community_id": str(world.communities[0].id), "place": "社区活动室", "hours": "",
            "workers": [str(world.worker.id)], "participants": [str(world.people["elder"].id)], "head_count": "5",
            "group_id": "", "session_number": "", "topic": "防诈骗知识讲座", "outcome": "", "notes": ""}
    return {**data, **values}


# --- each kind's rules ------------------------------------------------------------------------


def _group(world):
    return services.create_group(world.manager, world.contract, "独居老人互助小组", 6,
                                 [world.people["elder"], world.people["second"]])


REFUSED = {
    "case work without anyone": (dict(type=ActivityType.CASE_WORK, participants=[], head_count=0), "participants"),
    "case work with two": (dict(type=ActivityType.CASE_WORK, head_count=0), "participants"),
    "case work with a head-count": (dict(type=ActivityType.CASE_WORK, head_count=3,
                                         participants="one"), "head_count"),
    "group session without a group": (dict(type=ActivityType.GROUP_SESSION, session_number=1), "group_id"),
    "group session without a number": (dict(type=ActivityType.GROUP_SESSION, group="group"), "session_number"),
    "group session without anyone": (dict(type=ActivityType.GROUP_SESSION, group="group", session_number=1,
                                          participants=[]), "participants"),
    "event without anyone": (dict(participants=[], head_count=0), "head_count"),
    "deliberation without anyone": (dict(type=ActivityType.DELIBERATION, participants=[], head_count=20,
                                         topic="停车秩序"), "participants"),
    "deliberation without a topic": (dict(type=ActivityType.DELIBERATION, topic=" "), "topic"),
    "training without trainees": (dict(type=ActivityType.VOLUNTEER_TRAINING, participants=[], head_count=0),
                                  "head_count"),
    "no social worker": (dict(workers=[]), "workers"),
    "ends before it starts": (dict(start_time=time(11, 0), end_time=time(10, 0)), "end_time"),
    "a negative head-count": (dict(head_count=-1), "head_count"),
    "no community": (dict(community=None), "community_id"),
    "hours not a number": (dict(hours="一个半"), "hours"),
    "no hours": (dict(hours="0"), "hours"),
    "more than a day": (dict(hours="24.5"), "hours"),
    "three decimals": (dict(hours="1.255"), "hours"),
}


def _resolve(world, values: dict) -> dict:
    if values.get("group") == "group":
        values["group"] = _group(world)
    if values.get("participants") == "one":
        values["participants"] = [world.people["elder"]]
    return values


@pytest.mark.parametrize("case", list(REFUSED))
def test_each_kind_of_service_refuses_what_it_cannot_be(world, case):
    values, field = REFUSED[case]
    values = _resolve(world, dict(values))

    with unchanged(world.contract), pytest.raises(ValidationError) as refused:
        world.record(**values)

    assert refused.value.field == field


ACCEPTED = {
    "case work with one person": dict(type=ActivityType.CASE_WORK, participants="one", head_count=0),
    "group session": dict(type=ActivityType.GROUP_SESSION, group="group", session_number=1, head_count=0),
    "event with a head-count only": dict(participants=[], head_count=40),
    "event with people only": dict(head_count=0),
    "deliberation": dict(type=ActivityType.DELIBERATION, topic="院落停车秩序议事", outcome="议定错峰停车"),
    "training with a head-count": dict(type=ActivityType.VOLUNTEER_TRAINING, participants=[], head_count=12),
    "training with named trainees": dict(type=ActivityType.VOLUNTEER_TRAINING, head_count=0),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_each_kind_of_service_is_recorded_and_audited(world, case):
    values = _resolve(world, dict(ACCEPTED[case]))

    activity = world.record(**values)

    assert activity.id and activity.revision == 1
    event = audit_events("activity.recorded", object_id=str(activity.id))[0]
    assert event.actor_id == world.manager.id
    assert event.changes["participants"][1] == sorted(p.id for p in activity.participants)


def test_case_work_opens_one_case_per_person_and_contract(world):
    first = world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0)
    second = world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0,
                          activity_date=date(2025, 6, 12))

    assert first.case_id == second.case_id
    case = db.session.get(ServiceCase, first.case_id)
    assert case.beneficiary_id == world.people["third"].id and case.opened_on == date(2025, 6, 10)


def test_a_case_another_write_opened_meanwhile_is_joined_not_refused(world, monkeypatch):
    """Two first sessions of one person's case work recorded at the same moment: the second write's
    look-up ran before the first committed its case, so its insert meets that case. The entry joins
    it, and no second case nor a second "case opened" event is made."""
    first = world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0)
    opened = len(audit_events("service_case.opened"))
    real_find = services._find_case
    looks = []

    def find_after_the_other_commit(*args):
        looks.append(args)
        return None if len(looks) == 1 else real_find(*args)   # the first look ran before the first case was there

    monkeypatch.setattr(services, "_find_case", find_after_the_other_commit)
    second = world.record(type=ActivityType.CASE_WORK, participants=[world.people["third"]], head_count=0,
                          activity_date=date(2025, 6, 12))

    assert second.case_id == first.case_id
    assert db.session.execute(sa.select(sa.func.count()).select_from(ServiceCase).where(
        ServiceCase.beneficiary_id == world.people["third"].id)).scalar_one() == 1
    assert len(audit_events("service_case.opened")) == opened


@pytest.mark.parametrize("start, end, hours", [(time(9, 0), time(10, 30), "1.50"), (time(9, 0), time(9, 20), "0.33"),
                                               (time(9, 0), time(9, 10), "0.17"), (time(8, 0), time(20, 0), "12.00")])
def test_hours_left_empty_are_the_time_from_start_to_end(world, start, end, hours):
    activity = world.record(start_time=start, end_time=end, hours="")
    assert activity.hours == Decimal(hours)


def test_hours_given_are_kept(world):
    assert world.record(hours="0.75").hours == Decimal("0.75")


def test_participants_come_from_the_contracts_own_register(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.record(participants=[world.people["elder"], world.people["other_only"]])
    assert refused.value.field == "participants"


def test_a_group_takes_members_of_the_own_register_only(world):
    with unchanged(), pytest.raises(ValidationError):
        services.create_group(world.manager, world.contract, "混合小组", 6, [world.people["other_only"]])


def test_group_names_are_unique_per_contract(world):
    _group(world)
    with unchanged(), pytest.raises(ValidationError):
        _group(world)


# --- who records on which contract ------------------------------------------------------------


def test_a_social_worker_not_assigned_to_the_contract_is_refused(world):
    with unchanged(), pytest.raises(PermissionDenied):
        world.record(actor=world.users["idle_worker"], workers=[world.workers["idle_worker"]])


def test_an_assigned_social_worker_records(world):
    activity = world.record(actor=world.users["worker"])
    assert activity.created_by_id == world.users["worker"].id


def test_only_assigned_workers_can_be_named(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.record(workers=[world.worker, world.workers["idle_worker"]])
    assert refused.value.field == "workers"
    assert "陈静" in refused.value.message


def test_a_worker_taken_off_the_contract_can_no_longer_record(world):
    services.set_contract_workers(world.manager, world.contract, [world.workers["second_worker"]])
    with unchanged(), pytest.raises(PermissionDenied):
        world.record(actor=world.users["worker"], workers=[world.workers["second_worker"]])


def test_only_the_own_organizations_workers_are_assigned(world):
    with unchanged(world.contract), pytest.raises(ValidationError):
        services.set_contract_workers(world.manager, world.contract, [world.workers["other_worker"]])


@pytest.mark.parametrize("who", ["other_manager", "other_worker", "procurement", "auditor"])
def test_nobody_outside_the_organization_records_on_its_contract(world, who):
    with unchanged(), pytest.raises(PermissionDenied):
        world.record(actor=world.users[who])


RECORD_PAGE = {"manager": 303, "worker": 303, "idle_worker": 403, "other_manager": 403, "other_worker": 403,
               "procurement": 403, "admin": 403, "auditor": 403, "expert": 403, "evaluator": 403}


@pytest.mark.parametrize("who", list(RECORD_PAGE))
def test_the_record_form_answers_by_role(client, login_as, world, who):
    login_as(who)
    before = count(ServiceActivity)

    page = client.get(f"/contracts/{world.contract.id}/services/new")
    saved = client.post(f"/contracts/{world.contract.id}/services/new", data=_form(world))

    expected = RECORD_PAGE[who]
    assert page.status_code == (200 if expected == 303 else expected)
    assert saved.status_code == expected
    assert count(ServiceActivity) == before + (expected == 303)


# --- when -------------------------------------------------------------------------------------


@pytest.mark.parametrize("day, now", [
    (date(2025, 3, 31), None),                      # the day before the contract starts
    (date(2025, 6, 17), None),                      # tomorrow
    (date(2026, 1, 5), datetime(2026, 1, 10, 2, tzinfo=timezone.utc)),  # after the contract ended
])
def test_a_date_outside_the_contract_period_or_in_the_future_is_refused(world, clock, day, now):
    if now:
        clock.set(now)

    with unchanged(world.contract), pytest.raises(ValidationError) as refused:
        world.record(activity_date=day)

    assert refused.value.field == "activity_date"


@pytest.mark.parametrize("day", [START, TODAY])
def test_the_first_day_and_today_are_recordable(world, day):
    assert world.record(activity_date=day).activity_date == day


def test_the_last_day_is_recordable_once_it_has_come(world, clock):
    clock.set(datetime(2026, 1, 2, 2, tzinfo=timezone.utc))
    assert world.record(activity_date=END).activity_date == END


@pytest.mark.parametrize("day, message", [
    ("2025-03-31", lambda: services._("The date is outside the contract period (%(a)s – %(b)s).",
                                      a=START.isoformat(), b=END.isoformat())),
    ("2025-06-17", lambda: services._("An activity cannot be recorded for a future date.")),
])
def test_the_form_refuses_a_date_outside_the_period_and_writes_nothing(client, login_as, world, day, message):
    login_as("worker")
    before = count(ServiceActivity), count(ServiceCase)

    response = client.post(f"/contracts/{world.contract.id}/services/new", data=_form(world, activity_date=day))

    assert response.status_code == 422
    assert in_page(message) in response.text
    assert (count(ServiceActivity), count(ServiceCase)) == before


def test_a_terminated_contract_takes_no_more_services(world):
    contract_workflow.terminate_contract(world.users["procurement"], world.contract, "服务机构严重违约。")
    with unchanged(), pytest.raises(DomainError):
        world.record()


# --- evidence ---------------------------------------------------------------------------------


def test_evidence_files_are_kept_with_the_activity(client, login_as, world):
    login_as("worker")
    data = _form(world, evidence=[pdf_upload("签到表.pdf"), FileStorage(io.BytesIO(PNG), "现场照片.png")])

    response = client.post(f"/contracts/{world.contract.id}/services/new", data=data,
                           content_type="multipart/form-data")

    assert response.status_code == 303
    activity = db.session.execute(db.select(ServiceActivity).order_by(ServiceActivity.id.desc())).scalars().first()
    assert sorted(e.file.original_name for e in activity.evidence) == ["现场照片.png", "签到表.pdf"]
    download = client.get(f"/services/{activity.id}/evidence/{activity.evidence[0].id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


@pytest.mark.parametrize("name, data", [("签到表.pdf", b"just text pretending"), ("照片.png", b"%PDF-1.4 not a png"),
                                        ("setup.exe", b"MZ\x90\x00"), ("空文件.pdf", b"")])
def test_evidence_is_checked_like_deliverables(client, login_as, world, name, data):
    login_as("worker")
    before = count(ServiceActivity), count(ServiceCase)

    response = client.post(f"/contracts/{world.contract.id}/services/new",
                           data=_form(world, evidence=[FileStorage(io.BytesIO(data), name)]),
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert name in response.text
    assert (count(ServiceActivity), count(ServiceCase)) == before


# --- corrections ------------------------------------------------------------------------------


def test_a_correction_keeps_the_earlier_version_and_is_audited(world, clock):
    activity = world.record()
    old = {"head_count": activity.head_count, "end_time": "10:30:00", "participants": sorted(
        p.id for p in activity.participants)}
    clock.advance(hours=2)

    services.correct_activity(world.manager, activity, world.event(end_time=time(10, 0), head_count=14,
                                                                   participants=[world.people["elder"]]),
                              "签到表复核后更正。")

    assert (activity.revision, activity.head_count, activity.end_time) == (2, 14, time(10, 0))
    kept = activity.revisions[0]
    assert kept.revision == 1 and kept.reason == "签到表复核后更正。"
    assert kept.data["head_count"] == old["head_count"] and kept.data["end_time"] == old["end_time"]
    assert kept.data["participants"] == old["participants"]
    assert kept.replaced_by_id == world.manager.id
    event = audit_events("activity.corrected", object_id=str(activity.id))[0]
    assert event.changes["head_count"] == [10, 14]
    assert event.changes["participants"] == [old["participants"], [world.people["elder"].id]]
    assert event.changes["reason"] == [None, "签到表复核后更正。"]


def test_each_entry_keeps_the_number_of_people_it_names_through_corrections(world):
    activity = world.record(participants=[world.people["elder"], world.people["second"]])
    assert activity.participant_count == 2

    services.correct_activity(world.manager, activity, world.event(participants=[world.people["elder"]]), "少记一人")

    db.session.expire(activity)
    assert activity.participant_count == len(activity.participants) == 1


def test_every_correction_adds_a_version(world):
    activity = world.record()
    for n, head_count in enumerate((11, 12, 13), start=2):
        services.correct_activity(world.manager, activity, world.event(head_count=head_count), f"第{n}次更正")

    assert [r.revision for r in activity.revisions] == [1, 2, 3]
    assert [r.data["head_count"] for r in activity.revisions] == [10, 11, 12]
    assert activity.revision == 4


def test_a_correction_needs_a_reason(world):
    activity = world.record()
    with unchanged(activity), pytest.raises(ValidationError) as refused:
        services.correct_activity(world.manager, activity, world.event(head_count=11), "  ")
    assert refused.value.field == "reason"


def test_a_correction_obeys_the_same_rules(world):
    activity = world.record()
    with unchanged(activity), pytest.raises(ValidationError):
        services.correct_activity(world.manager, activity, world.event(activity_date=date(2025, 3, 1)), "改日期")


def test_a_worker_not_on_the_contract_cannot_correct(world):
    activity = world.record()
    with unchanged(activity), pytest.raises(PermissionDenied):
        services.correct_activity(world.users["idle_worker"], activity, world.event(head_count=11), "更正")


def test_the_correction_form_saves_and_the_page_shows_the_history(client, login_as, world):
    activity = world.record()
    login_as("worker")
    version = client.get(f"/services/{activity.id}/edit")
    assert version.status_code == 200

    response = client.post(f"/services/{activity.id}/edit", data=_form(
        world, head_count="9", reason="人数登记有误", version=str(activity.version),
        participants=[str(world.people["elder"].id), str(world.people["second"].id)]))

    assert response.status_code == 303
    page = client.get(f"/services/{activity.id}").text
    assert "人数登记有误" in page
    assert db.session.get(ServiceActivity, activity.id).revision == 2


def test_a_stale_correction_is_refused_keeping_what_was_typed(client, login_as, world):
    activity = world.record()
    stale = str(activity.version)
    services.correct_activity(world.manager, activity, world.event(head_count=11), "先更正一次")
    db.session.flush()
    login_as("worker")
    before = count(ActivityRevision), activity.revision, activity.head_count

    response = client.post(f"/services/{activity.id}/edit", data=_form(
        world, head_count="9", topic="我刚输入的主题", reason="人数登记有误", version=stale))

    assert response.status_code == 409
    assert "我刚输入的主题" in response.text and "人数登记有误" in response.text
    activity = db.session.get(ServiceActivity, activity.id)
    assert (count(ActivityRevision), activity.revision, activity.head_count) == before
    assert activity.topic == "防诈骗知识讲座"


def test_a_correction_meeting_one_saved_meanwhile_is_refused_and_writes_nothing(client, login_as, world, monkeypatch):
    """Another correction is saved after this one read the entry (the version its form sent was
    current then): the write finds the entry at a newer version and answers 409 with what was typed,
    keeping none of the entry's new values, links or a revision."""
    activity = world.record()
    login_as("worker")
    before = (count(ActivityRevision), sorted(w.id for w in activity.workers),
              sorted(p.id for p in activity.participants), activity.topic, activity.revision)
    entries, real = ServiceActivity.__table__, services._stored_links

    def saved_meanwhile(entry):
        db.session.execute(sa.update(entries).where(entries.c.id == entry.id).values(version=entries.c.version + 1))
        return real(entry)

    monkeypatch.setattr(services, "_stored_links", saved_meanwhile)
    response = client.post(f"/services/{activity.id}/edit", data=_form(
        world, head_count="9", topic="我刚输入的主题", participants=[str(world.people["second"].id)],
        reason="人数登记有误", version=str(activity.version)))

    assert response.status_code == 409
    assert "我刚输入的主题" in response.text
    db.session.expire_all()
    entry = db.session.get(ServiceActivity, activity.id)
    assert (count(ActivityRevision), sorted(w.id for w in entry.workers), sorted(p.id for p in entry.participants),
            entry.topic, entry.revision) == before


def test_a_group_created_without_script_comes_back_chosen_on_the_entry_form(client, login_as, world):
    login_as("worker")

    response = client.post(f"/contracts/{world.contract.id}/groups",
                           data={"new_group-name": "亲子阅读小组", "new_group-planned_sessions": "8",
                                 "next": "https://evil.example/"})

    assert response.status_code == 303
    assert stays_on_site(response.headers["Location"])
    group = db.session.execute(db.select(ServiceGroup).where(ServiceGroup.name == "亲子阅读小组")).scalar_one()
    assert (group.contract_id, group.planned_sessions) == (world.contract.id, 8)
    html = client.get(response.headers["Location"]).text
    assert re.search(rf'<option[^>]*selected[^>]*value="{group.id}"|<option[^>]*value="{group.id}"[^>]*selected', html)


def test_a_group_created_in_the_entry_form_is_added_chosen_and_nothing_typed_is_touched(client, login_as, world):
    login_as("worker")

    response = client.post(f"/contracts/{world.contract.id}/groups", headers={"HX-Request": "true"},
                           data={"new_group-name": "小组10", "new_group-planned_sessions": "6"})

    group = db.session.execute(db.select(ServiceGroup).where(ServiceGroup.name == "小组10")).scalar_one()
    # Only an option comes back, appended to the group list: the entry's fields stay as typed.
    assert response.status_code == 200
    assert response.text.strip() == f'<option value="{group.id}" selected>小组10</option>'


@pytest.mark.parametrize("data, says", [
    ({"new_group-name": "", "new_group-planned_sessions": "6"}, "小组名称"),
    ({"new_group-name": "读书会", "new_group-planned_sessions": "0"}, "计划节数"),
])
def test_a_refused_group_says_why_beside_its_fields_and_creates_nothing(client, login_as, world, data, says):
    login_as("worker")
    before = count(ServiceGroup)

    response = client.post(f"/contracts/{world.contract.id}/groups", headers={"HX-Request": "true"}, data=data)

    assert response.headers["HX-Retarget"] == "#group-add-error"
    assert says in response.text
    assert count(ServiceGroup) == before


def test_groups_are_listed_in_natural_order_and_the_contracts_communities_first(client, login_as, world):
    for name in ("小组2", "小组10", "小组1", "小组11"):
        services.create_group(world.manager, world.contract, name, 6, [])
    db.session.commit()
    login_as("worker")

    html = client.get(f"/contracts/{world.contract.id}/services/new").text

    select = html[html.index('id="group_id"'):]
    names = re.findall(r">(小组\d+)</option>", select[:select.index("</select>")])
    assert names == ["小组1", "小组2", "小组10", "小组11"]
    own = [a.name for a in world.contract.tender.plan.communities]
    listed = re.findall(r'<option value="\d+">([^<]+)</option>',
                        html[html.index('id="community_id"'):html.index("</select>", html.index('id="community_id"'))])
    assert own and listed[:len(own)] == own


@pytest.mark.parametrize("path", ["new", "edit"])
@pytest.mark.parametrize("field", ["community_id", "group_id"])
def test_a_choice_the_form_does_not_offer_is_refused_and_the_form_comes_back_with_every_choice(client, login_as,
                                                                                              world, field, path):
    """A sent form is checked against the community and group it names only; what the form does not
    offer (a street, another contract's group) is refused under its field as before, nothing is
    recorded or corrected, and the form shown again offers every community and group."""
    own = services.create_group(world.manager, world.contract, "小组1", 6, [world.people["elder"]])
    foreign = services.create_group(world.users["other_manager"], world.other_contract, "乙组", 6, [])
    entry = world.record() if path == "edit" else None
    db.session.commit()
    street = world.communities[0].parent
    login_as("worker")
    before = count(ServiceActivity), count(AuditEvent)
    data = _form(world, type="group_session", group_id=str(own.id), session_number="1", head_count="0")
    data[field] = str(street.id if field == "community_id" else foreign.id)
    if entry is not None:
        data.update(reason="更正小组。", version=str(entry.version))
    url = f"/services/{entry.id}/edit" if entry is not None else f"/contracts/{world.contract.id}/services/new"

    response = client.post(url, data=data)

    assert response.status_code == 422
    assert (count(ServiceActivity), count(AuditEvent)) == before
    if entry is not None:
        db.session.expire(entry)
        assert (entry.version, entry.group_id, entry.type) == (1, None, ActivityType.COMMUNITY_EVENT)
    assert f'id="{field}-err"' in response.text
    html = response.text
    communities = html[html.index('id="community_id"'):html.index("</select>", html.index('id="community_id"'))]
    assert all(f'value="{c.id}"' in communities for c in world.communities)
    assert f'value="{street.id}"' not in communities
    groups = html[html.index('id="group_id"'):html.index("</select>", html.index('id="group_id"'))]
    assert f'value="{own.id}"' in groups and f'value="{foreign.id}"' not in groups


@pytest.mark.parametrize("path", ["new", "edit"])
def test_a_group_session_names_its_group_community_and_people_as_sent(client, login_as, world, path):
    group = services.create_group(world.manager, world.contract, "小组1", 6, [world.people["elder"]])
    earlier = world.record() if path == "edit" else None
    db.session.commit()
    login_as("worker")
    people = sorted([world.people["elder"].id, world.people["second"].id])
    data = _form(world, type="group_session", group_id=str(group.id), session_number="2", head_count="0",
                 community_id=str(world.communities[1].id), participants=[str(i) for i in people])
    if earlier is not None:
        data.update(reason="更正为小组活动。", version=str(earlier.version))
    url = f"/services/{earlier.id}/edit" if earlier is not None else f"/contracts/{world.contract.id}/services/new"

    response = client.post(url, data=data)

    assert response.status_code == 303
    db.session.expire_all()
    entry = (db.session.get(ServiceActivity, earlier.id) if earlier is not None else
             db.session.execute(db.select(ServiceActivity).order_by(ServiceActivity.id.desc())).scalars().first())
    assert (entry.group_id, entry.session_number, entry.community_id) == (group.id, 2, world.communities[1].id)
    assert sorted(p.id for p in entry.participants) == people


@pytest.mark.parametrize("who", ["worker", "manager"])
@pytest.mark.parametrize("named", [("worker",), ("second_worker",), ("worker", "second_worker")])
def test_a_sent_entry_names_the_workers_it_chose_among_the_contracts(client, login_as, world, who, named):
    """A sent form reads only the workers it names (and the login's own): whoever records, the entry
    keeps exactly those chosen, with its people, its defaults and its audit event."""
    login_as(who)
    chosen = sorted(world.workers[name].id for name in named)

    response = client.post(f"/contracts/{world.contract.id}/services/new",
                           data=_form(world, workers=[str(i) for i in chosen]))

    assert response.status_code == 303
    entry = db.session.execute(db.select(ServiceActivity).order_by(ServiceActivity.id.desc())).scalars().first()
    db.session.expire(entry)
    assert sorted(w.id for w in entry.workers) == chosen
    assert [p.id for p in entry.participants] == [world.people["elder"].id]
    assert (entry.version, entry.revision, entry.participant_count, entry.head_count) == (1, 1, 1, 5)
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "activity.recorded")
                               .order_by(AuditEvent.seq.desc())).scalars().first()
    assert event.object_id == str(entry.id) and event.changes["workers"] == [None, chosen]


@pytest.mark.parametrize("who", ["worker", "manager"])
@pytest.mark.parametrize("path", ["new", "edit"])
def test_a_sent_form_naming_a_worker_not_on_the_contract_changes_nothing(client, login_as, world, who, path):
    """A colleague of the same organization who is not on the contract is refused under the workers
    field, with the contract's own beside: nothing is recorded or corrected, and the form shown again
    offers the contract's whole team."""
    entry = world.record() if path == "edit" else None
    db.session.commit()
    login_as(who)
    before = count(ServiceActivity), count(AuditEvent)
    data = _form(world, workers=[str(world.worker.id), str(world.workers["idle_worker"].id)])
    if entry is not None:
        data.update(reason="更正人员。", version=str(entry.version))
    url = f"/services/{entry.id}/edit" if entry is not None else f"/contracts/{world.contract.id}/services/new"

    response = client.post(url, data=data)

    assert response.status_code == 422
    assert (count(ServiceActivity), count(AuditEvent)) == before
    message = ActivityForm.workers.kwargs["invalid_message"]
    refused = in_page(lambda: str(message) % {"values": world.workers["idle_worker"].id})
    assert f'id="workers-err">{refused}</p>' in response.text
    if entry is not None:
        db.session.expire(entry)
        assert (entry.version, [w.id for w in entry.workers]) == (1, [world.worker.id])
    offered = re.findall(r'name="workers" type="checkbox" value="(\d+)"', response.text)
    assert sorted(map(int, offered)) == sorted([world.worker.id, world.workers["second_worker"].id])


def test_a_refused_form_shows_no_chip_for_another_organizations_person(client, login_as, world):
    login_as("worker")
    stranger = world.people["other_only"]

    response = client.post(f"/contracts/{world.contract.id}/services/new", data=_form(
        world, participants=[str(world.people["elder"].id), str(stranger.id)]))

    assert response.status_code == 422
    assert stranger.name not in response.text
    assert f'value="{stranger.id}"' not in response.text
    assert f'name="participants" value="{world.people["elder"].id}"' in response.text  # the own one kept


# --- deleting an entry ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_an_entry_is_deleted_with_a_reason_and_the_trail_keeps_it_whole(world, who):
    activity = world.record()
    services.correct_activity(world.manager, activity, world.event(head_count=12), "签到表复核后更正。")
    entry_id, participants = activity.id, sorted(p.id for p in activity.participants)

    services.delete_activity(world.users[who], activity, "同一场活动重复录入。")
    db.session.flush()

    assert db.session.get(ServiceActivity, entry_id) is None
    assert count(ActivityRevision, ActivityRevision.activity_id == entry_id) == 0
    event = audit_events("activity.deleted", object_id=str(entry_id))[0]
    kept, _gone = event.changes["entry"]
    assert event.actor_id == world.users[who].id and event.changes["reason"] == [None, "同一场活动重复录入。"]
    assert (kept["head_count"], kept["participants"], kept["workers"]) == (12, participants, [world.worker.id])
    assert [r["reason"] for r in kept["revisions"]] == ["签到表复核后更正。"]
    assert [r["data"]["head_count"] for r in kept["revisions"]] == [10]


def test_the_delete_page_keeps_every_evidence_file_and_earlier_version_in_the_trail(client, login_as, world):
    """Read with the entry in one statement, its files and versions each come once, in their order."""
    login_as("worker")
    data = _form(world, evidence=[pdf_upload("签到表.pdf"), FileStorage(io.BytesIO(PNG), "现场照片.png")])
    assert client.post(f"/contracts/{world.contract.id}/services/new", data=data,
                       content_type="multipart/form-data").status_code == 303
    activity = db.session.execute(db.select(ServiceActivity).order_by(ServiceActivity.id.desc())).scalars().first()
    for head_count, reason in ((11, "签到表复核后更正。"), (12, "补录迟到的居民。")):
        services.correct_activity(world.manager, activity, world.event(head_count=head_count), reason)
    files = [(e.file_id, e.file.original_name) for e in activity.evidence]
    entry_id = activity.id
    db.session.commit()
    db.session.expire_all()

    response = client.post(f"/services/{entry_id}/delete", data={"reason": "同一场活动重复录入。"})

    assert response.status_code == 303
    kept, _gone = audit_events("activity.deleted", object_id=str(entry_id))[0].changes["entry"]
    assert [(e["file_id"], e["name"]) for e in kept["evidence"]] == files
    assert [e["name"] for e in kept["evidence"]] == ["签到表.pdf", "现场照片.png"]
    assert [(r["revision"], r["reason"]) for r in kept["revisions"]] == [(1, "签到表复核后更正。"), (2, "补录迟到的居民。")]


def test_deleting_needs_a_reason_and_changes_nothing_without_one(world):
    activity = world.record()
    with unchanged(activity), pytest.raises(ValidationError) as refused:
        services.delete_activity(world.manager, activity, "  ")
    assert refused.value.field == "reason"


@pytest.mark.parametrize("who", ["idle_worker", "other_manager", "procurement", "auditor"])
def test_only_the_organizations_recording_staff_delete(world, who):
    activity = world.record()
    with unchanged(activity), pytest.raises(PermissionDenied):
        services.delete_activity(world.users[who], activity, "删除")


def test_an_entry_of_a_terminated_contract_stays(world):
    activity = world.record()
    contract_workflow.terminate_contract(world.users["procurement"], world.contract, "服务机构严重违约。")
    with unchanged(activity), pytest.raises(DomainError):
        services.delete_activity(world.manager, activity, "删除")


def test_deleting_a_copy_clears_its_duplicate_flag(world):
    from svcproc.delivery.models import RedFlag, RedFlagKind

    world.record(topic="入户走访")
    copy = world.record(topic="入户走访")
    flag = db.session.execute(db.select(RedFlag).where(RedFlag.kind == RedFlagKind.DUPLICATE)).scalar_one()
    assert flag.active

    services.delete_activity(world.manager, copy, "重复录入。")

    db.session.refresh(flag)
    assert flag.active is False


def test_the_delete_page_asks_first_and_the_form_deletes(client, login_as, world):
    from flask_babel import gettext

    entry_id = world.record().id
    login_as("worker")

    page = client.get(f"/services/{entry_id}/delete")
    refused = client.post(f"/services/{entry_id}/delete", data={"reason": ""})
    assert db.session.get(ServiceActivity, entry_id) is not None
    done = client.post(f"/services/{entry_id}/delete", data={"reason": "录错了合同。"})

    assert page.status_code == 200 and in_page(lambda: gettext("Delete the entry")) in page.text
    assert refused.status_code == 422 and in_page(lambda: gettext("Say why the entry is deleted.")) in refused.text
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/contracts/{world.contract.id}/services")
    assert db.session.get(ServiceActivity, entry_id) is None
