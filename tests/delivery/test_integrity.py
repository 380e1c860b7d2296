"""Service-log integrity: copies recognised whatever the case, width or spacing of their place; a flag
on every contract it concerns; a person's new identity number re-examined at once; the command line
refusing what the page refuses; service hours within the clock time of the workers; namesake
workers told apart; entries behind a paid milestone locked unless the period is reopened."""
from __future__ import annotations

import io
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from svcproc.contracts import workflow as contract_workflow
from svcproc.contracts.models import Contract, ContractStatus, Milestone, MilestonePeriod, MilestoneStatus, PeriodStatus
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.delivery import ledger, services
from svcproc.delivery.labels import worker_labels
from svcproc.delivery.models import ActivityType, ImportBatch, RedFlag, RedFlagKind, ServiceActivity
from svcproc.extensions import db
from svcproc.reports import assemble
from tests.builders.delivery import (HEADER_ZH, add_person, build_world, csv_bytes, id_number, ledger_row,
                                     unchanged, upload)
from tests.builders.registry import SocialWorkerFactory
from tests.helpers import audit_events, count, events_after, last_seq, login

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


def _form(world, **values) -> dict:
    data = {"type": "community_event", "activity_date": "2025-06-10", "start_time": "09:00", "end_time": "10:00",
            "community_id": str(world.communities[0].id), "place": "社区活动室", "hours": "",
            "workers": [str(world.worker.id)], "participants": [str(world.people["elder"].id)], "head_count": "5",
            "group_id": "", "session_number": "", "topic": "防诈骗知识讲座", "outcome": "", "notes": ""}
    return {**data, **values}


# --- 1. copies: the place compared with its case, width and spacing made one -----------------------


@pytest.mark.parametrize("copy", ["活动室a", "活动室 A", "活动室Ａ", "活动室　ａ", " 活动室  A "],
                         ids=["lower", "space", "full-width", "ideographic-space", "outer-and-inner-spaces"])
def test_a_copy_differing_only_in_the_places_case_width_or_spacing_is_a_duplicate(world, copy):
    world.record(place="活动室A")

    world.record(place=copy)

    assert [f.kind for f in _active()] == [RedFlagKind.DUPLICATE]


def test_entries_in_different_places_are_not_copies(world):
    world.record(place="活动室A")

    world.record(place="活动室B", start_time=time(11, 0), end_time=time(12, 0))

    assert _active() == []


def test_text_key_makes_case_width_and_spacing_one():
    assert services.text_key("  社区 活动室　Ａ ") == services.text_key("社区活动室a") == "社区活动室a"


def test_the_import_skips_a_copy_written_in_another_case_or_width(world):
    world.record(activity_date=date(2025, 6, 2), place="活动室A", participants=[], head_count=8,
                 topic="重阳敬老茶话会")
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([ledger_row(place="活动室 ａ")])))

    ledger.run_check(world.manager, batch)

    assert (batch.rows_new, batch.rows_duplicate, batch.error_count) == (0, 1, 0)


# --- 2. a flag concerning two contracts shows on both --------------------------------------------


def _flag_page(make_client, world, who, contract) -> str:
    client = make_client()
    assert login(client, world.users[who]).status_code == 303
    response = client.get(f"/contracts/{contract.id}/red-flags")
    assert response.status_code == 200
    return response.text


def test_a_person_counted_by_two_contracts_shows_on_both_contracts_pages_and_reports(make_client, world):
    world.record(participants=[world.people["shared"]], head_count=0, type=ActivityType.DELIBERATION)
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[world.people["other_shared"]], head_count=0,
        type=ActivityType.DELIBERATION))
    (flag,) = _active(RedFlagKind.DOUBLE_COUNTED)

    assert {c.id for c in [flag.contract, *flag.other_contracts]} == {world.contract.id, world.other_contract.id}
    for who, contract in (("manager", world.contract), ("other_manager", world.other_contract),
                          ("procurement", world.contract), ("procurement", world.other_contract)):
        assert f"/red-flags/{flag.id}/explain" in _flag_page(make_client, world, who, contract), (who, contract.id)
    for contract in (world.contract, world.other_contract):
        assert [f["kind"] for f in assemble._red_flags(contract.id)] == ["double_counted"]


def test_a_workers_overlap_across_two_contracts_shows_on_both(make_client, world):
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    world.record(contract=world.second_contract, start_time=time(10, 0), end_time=time(11, 0),
                 participants=[world.people["third"]], place="居委会会议室")
    (flag,) = _active(RedFlagKind.WORKER_OVERLAP)

    for contract in (world.contract, world.second_contract):
        assert f"/red-flags/{flag.id}/explain" in _flag_page(make_client, world, "manager", contract)
        assert [f["kind"] for f in assemble._red_flags(contract.id)] == ["worker_overlap"]


def test_a_flag_of_one_contract_stays_off_another_organizations_page(make_client, world):
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    world.record(start_time=time(10, 0), end_time=time(11, 0), place="居委会会议室", type=ActivityType.DELIBERATION,
                 head_count=0)
    (flag,) = _active(RedFlagKind.WORKER_OVERLAP)

    assert f"/red-flags/{flag.id}/explain" not in _flag_page(make_client, world, "other_manager", world.other_contract)
    assert assemble._red_flags(world.other_contract.id) == []


def test_a_flag_that_stops_concerning_a_contract_leaves_its_page(make_client, world):
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    other = world.record(contract=world.second_contract, start_time=time(10, 0), end_time=time(11, 0),
                         participants=[world.people["third"]], place="居委会会议室")
    (flag,) = _active(RedFlagKind.WORKER_OVERLAP)

    services.delete_activity(world.manager, other, "录错合同")

    assert _active(RedFlagKind.WORKER_OVERLAP) == []
    assert [f["active"] for f in assemble._red_flags(world.second_contract.id)] == [False]
    assert f"/red-flags/{flag.id}/explain" not in _flag_page(make_client, world, "manager", world.second_contract)


# --- 3. a person's new identity number re-examines who counts them twice --------------------------


def _stranger(world):
    """A person of the other organization with a number of their own, served on its contract."""
    person = add_person(world.users["other_manager"], world.other_org.id, "王秀英", number=id_number(date(1948, 3, 9), 99),
                        community=world.communities[0])
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[person], head_count=0, type=ActivityType.DELIBERATION))
    return person


def _edit_number(world, person, number: str):
    return services.update_beneficiary(
        world.users["other_manager"], person, name=person.name, gender=person.gender, id_number=number,
        birth_year=None, community=person.community, categories=person.categories, phone="",
        consent_by=person.consent_by, guardian_name=person.guardian_name, consent_method=person.consent_method,
        consent_on=person.consent_on)


def test_a_corrected_identity_number_finds_the_person_counted_twice_at_once(world):
    world.record(participants=[world.people["elder"]], head_count=0, type=ActivityType.DELIBERATION)
    person = _stranger(world)
    assert _active(RedFlagKind.DOUBLE_COUNTED) == []

    _edit_number(world, person, world.number("elder"))

    (flag,) = _active(RedFlagKind.DOUBLE_COUNTED)
    assert {flag.contract_id, *[c.id for c in flag.other_contracts]} == {world.contract.id, world.other_contract.id}


def test_a_number_corrected_back_clears_the_flag(world):
    world.record(participants=[world.people["elder"]], head_count=0, type=ActivityType.DELIBERATION)
    person = _stranger(world)
    _edit_number(world, person, world.number("elder"))
    assert len(_active(RedFlagKind.DOUBLE_COUNTED)) == 1

    _edit_number(world, person, id_number(date(1948, 3, 9), 99))

    assert _active(RedFlagKind.DOUBLE_COUNTED) == []


def test_re_examining_a_person_costs_as_many_statements_however_many_entries_they_have(world, count_queries):
    def counted(n_entries: int, seq: int) -> int:
        person = add_person(world.users["other_manager"], world.other_org.id, f"乙{seq}",
                            number=id_number(date(1950, 1, 1), seq), community=world.communities[0])
        for i in range(n_entries):
            services.record_activity(world.users["other_manager"], world.other_contract, world.event(
                workers=[world.workers["other_worker"]], participants=[person], head_count=0,
                type=ActivityType.DELIBERATION, activity_date=date(2025, 5, 1 + i), topic=f"议事{seq}"))
        db.session.flush()
        with count_queries() as statements:
            _edit_number(world, person, id_number(date(1950, 1, 1), seq + 1))
        return statements.count

    assert counted(1, 200) == counted(20, 300)


# --- 4. the command line refuses what the page refuses ---------------------------------------------


def _set_status(contract: Contract, status: ContractStatus) -> None:
    """The scene: a contract closed or terminated (its own transitions are tested in tests/contracts)."""
    db.session.execute(sa.update(Contract).where(Contract.id == contract.id).values(status=status))
    db.session.expire(contract, ["status"])


@pytest.mark.parametrize("status", [ContractStatus.CLOSED, ContractStatus.TERMINATED])
def test_the_command_line_refuses_to_import_into_a_contract_that_records_no_services(cli, tmp_path, world, status):
    _set_status(world.contract, status)
    path = tmp_path / "ledger.csv"
    path.write_bytes(csv_bytes([ledger_row()]))
    batches, entries = count(ImportBatch), count(ServiceActivity)

    result = cli("import-logs", world.contract.number, str(path))

    assert result.exit_code != 0
    assert "只能在已签订的合同下录入服务记录" in result.output
    assert (count(ImportBatch), count(ServiceActivity)) == (batches, entries)


@pytest.mark.parametrize("status", [ContractStatus.CLOSED, ContractStatus.TERMINATED])
def test_the_import_page_refuses_the_same_contract(client, login_as, world, status):
    _set_status(world.contract, status)
    login_as("manager")
    batches = count(ImportBatch)

    response = client.post(f"/contracts/{world.contract.id}/imports",
                           data={"file": (io.BytesIO(csv_bytes([ledger_row()])), "台账.csv")},
                           content_type="multipart/form-data")

    assert response.status_code in (409, 422)
    assert count(ImportBatch) == batches


def test_a_checked_file_is_not_imported_once_the_contract_is_closed(world):
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([ledger_row()])))
    ledger.run_check(world.manager, batch)
    _set_status(world.contract, ContractStatus.CLOSED)

    with unchanged(batch), pytest.raises(DomainError):
        ledger.run_import(None, batch)


# --- 5. service hours within the clock time times the workers ------------------------------------


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_the_form_refuses_more_service_hours_than_the_clock_allows(client, login_as, world, who):
    login_as(who)
    entries = count(ServiceActivity)

    response = client.post(f"/contracts/{world.contract.id}/services/new", data=_form(world, hours="8"))

    assert response.status_code == 422
    assert count(ServiceActivity) == entries
    assert "服务时长8小时超过了活动起止时长（1小时）乘以社工人数（1人），最多为1小时。" in response.text


def test_the_refusal_says_the_limit_in_both_languages(world):
    values = world.event(start_time=time(9, 0), end_time=time(10, 0), hours="8")
    for locale, words in (("en", "at most 1."), ("zh_CN", "最多为1小时")):
        with force_locale(locale), unchanged(), pytest.raises(ValidationError) as refused:
            services.record_activity(world.manager, world.contract, values)
        assert refused.value.field == "hours" and words in refused.value.message
    with force_locale("en"), pytest.raises(ValidationError) as refused:
        services.record_activity(world.manager, world.contract, values)
    assert "8 service hours are more than the time on the clock (1 h)" in refused.value.message


def test_two_workers_may_give_twice_the_clock_time(world):
    entry = world.record(start_time=time(9, 0), end_time=time(10, 0), hours="2",
                         workers=[world.worker, world.workers["second_worker"]])

    assert entry.hours == Decimal("2")


def test_a_correction_obeys_the_same_limit(world):
    entry = world.record(start_time=time(9, 0), end_time=time(10, 0))

    with unchanged(entry), pytest.raises(ValidationError):
        services.correct_activity(world.manager, entry, world.event(start_time=time(9, 0), end_time=time(10, 0),
                                                                    hours="1.5"), "时长")


def test_the_import_refuses_the_row_with_the_same_words(world):
    batch = ledger.create_batch(world.manager, world.contract,
                                upload(csv_bytes([ledger_row(start="09:00", end="10:00", hours="8")])))
    with force_locale("en"):
        ledger.run_check(world.manager, batch)

    assert batch.error_count == 1 and batch.rows_new == 0
    assert batch.errors[0]["column"] in ("服务时长", "hours", ledger.heading("hours"))
    assert "more than the time on the clock" in batch.errors[0]["message"]


def test_forty_minutes_computed_as_0_67_hours_pass(world):
    entry = world.record(start_time=time(9, 0), end_time=time(9, 40), hours=None)

    assert entry.hours == Decimal("0.67")


# --- 6. namesake workers told apart -----------------------------------------------------------------


def _namesake(world):
    twin = SocialWorkerFactory(organization=world.org, name=world.worker.name, phone="13912345678")
    services.set_contract_workers(world.manager, world.contract, [world.worker, world.workers["second_worker"], twin])
    return twin


def test_namesakes_are_shown_with_their_number_and_masked_phone(client, login_as, world):
    twin = _namesake(world)
    login_as("manager")

    page = client.get(f"/contracts/{world.contract.id}/services/new").text

    assert f"{twin.name}({twin.id} · 139****5678)" in page
    assert f"{world.worker.name}({world.worker.id}" in page
    assert worker_labels([world.workers["second_worker"]]) == {world.workers["second_worker"].id: "吴昊"}


def test_the_import_refuses_a_name_two_workers_share(world):
    _namesake(world)
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([ledger_row(workers="周婷")])))
    with force_locale("en"):
        ledger.run_check(world.manager, batch)

    assert batch.error_count == 1 and batch.rows_new == 0
    assert f"周婷({world.worker.id})" in batch.errors[0]["message"] or "worker's number" in batch.errors[0]["message"]


@pytest.mark.parametrize("written", ["{name}({id})", "{name}（{id}）"], ids=["half-width", "full-width"])
def test_the_import_takes_the_namesake_named_by_number(world, written):
    twin = _namesake(world)
    name = written.format(name=twin.name, id=twin.id)
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([ledger_row(workers=name)])))
    ledger.run_check(world.manager, batch)

    ledger.run_import(world.manager, batch)

    entry = db.session.execute(sa.select(ServiceActivity).where(ServiceActivity.import_batch_id == batch.id)
                               ).unique().scalar_one()
    assert [w.id for w in entry.workers] == [twin.id]


def test_a_number_that_is_not_the_names_worker_is_refused(world):
    twin = _namesake(world)
    batch = ledger.create_batch(world.manager, world.contract,
                                upload(csv_bytes([ledger_row(workers=f"吴昊({twin.id})")])))

    ledger.run_check(world.manager, batch)

    assert batch.error_count == 1


# --- 7. entries behind a paid milestone are locked ------------------------------------------------


def _first_milestone(world) -> Milestone:
    return db.session.execute(sa.select(Milestone).where(Milestone.contract_id == world.contract.id)
                              .order_by(Milestone.due_date)).scalars().first()


def _paid(world) -> Milestone:
    """The scene: the first milestone (due 1 July) paid (payment itself is tested in tests/contracts)."""
    milestone = _first_milestone(world)
    db.session.execute(sa.update(Milestone).where(Milestone.id == milestone.id).values(status=MilestoneStatus.PAID))
    db.session.expire(milestone, ["status"])
    return milestone


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_an_entry_behind_a_paid_milestone_cannot_be_corrected(world, who):
    entry = world.record()
    _paid(world)

    with unchanged(entry), pytest.raises(DomainError) as refused:
        services.correct_activity(world.users[who], entry, world.event(topic="改过的主题"), "主题写错")
    assert "中期评估" in refused.value.message


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_an_entry_behind_a_paid_milestone_cannot_be_deleted(world, who):
    entry = world.record()
    _paid(world)

    with unchanged(entry), pytest.raises(DomainError):
        services.delete_activity(world.users[who], entry, "重复录入")


def test_the_pages_refuse_with_the_message(client, login_as, world):
    entry = world.record()
    _paid(world)
    login_as("manager")
    entries = count(ServiceActivity)

    edited = client.post(f"/services/{entry.id}/edit", data={**_form(world, topic="改"), "reason": "改",
                                                             "version": str(entry.version)})
    deleted = client.post(f"/services/{entry.id}/delete", data={"reason": "重复"})

    assert edited.status_code == deleted.status_code == 409
    assert "中期评估" in edited.text and "中期评估" in deleted.text
    assert count(ServiceActivity) == entries


def test_an_entry_behind_an_unpaid_milestone_is_corrected_as_before(world):
    entry = world.record()

    services.correct_activity(world.manager, entry, world.event(topic="改过的主题"), "主题写错")

    assert entry.topic == "改过的主题"


def test_procurement_staff_reopen_the_period_with_a_reason_and_close_it_again(world):
    entry = world.record()
    milestone = _paid(world)
    seq = last_seq()

    contract_workflow.reopen_period(world.users["procurement"], milestone, "服务对象人数录错，需更正")
    services.correct_activity(world.manager, entry, world.event(topic="改过的主题"), "主题写错")
    contract_workflow.close_period(world.users["procurement"], milestone)

    actions = [e.action for e in events_after(seq)]
    assert actions[0] == "milestone.period_reopened" and actions[-1] == "milestone.period_closed"
    reopened = audit_events("milestone.period_reopened")[-1]
    assert reopened.changes["reason"] == [None, "服务对象人数录错，需更正"]
    assert entry.topic == "改过的主题"
    with unchanged(entry), pytest.raises(DomainError):
        services.delete_activity(world.manager, entry, "重复录入")


@pytest.mark.parametrize("who", ["manager", "worker", "auditor", "admin", "other_manager"])
def test_only_procurement_staff_reopen(world, who):
    milestone = _paid(world)

    with unchanged(milestone), pytest.raises(PermissionDenied):
        contract_workflow.reopen_period(world.users[who], milestone, "更正")
    assert count(MilestonePeriod) == 0


@pytest.mark.parametrize("case", ["no reason", "not paid", "already reopened"])
def test_a_reopening_the_rules_refuse_changes_nothing(world, case):
    milestone = _first_milestone(world) if case == "not paid" else _paid(world)
    if case == "already reopened":
        contract_workflow.reopen_period(world.users["procurement"], milestone, "更正")
    periods = count(MilestonePeriod)
    seq = last_seq()

    with pytest.raises((DomainError, ValidationError)):
        contract_workflow.reopen_period(world.users["procurement"], milestone, "" if case == "no reason" else "更正")

    assert count(MilestonePeriod) == periods and last_seq() == seq
    status = db.session.execute(sa.select(MilestonePeriod.status)).scalar_one_or_none()
    assert status == (PeriodStatus.REOPENED if case == "already reopened" else None)


def test_a_period_never_reopened_cannot_be_closed(world):
    milestone = _paid(world)
    seq = last_seq()

    with pytest.raises(DomainError):
        contract_workflow.close_period(world.users["procurement"], milestone)

    assert count(MilestonePeriod) == 0 and last_seq() == seq


def test_the_contract_page_offers_procurement_staff_the_reopening(client, login_as, world):
    milestone = _paid(world)
    login_as("procurement")

    page = client.get(f"/contracts/{world.contract.id}").text
    response = client.post(f"/milestones/{milestone.id}/entries/reopen", data={"reason": "更正人数"})

    assert f"/milestones/{milestone.id}/entries/reopen" in page
    assert response.status_code == 303
    assert f"/milestones/{milestone.id}/entries/close" in client.get(f"/contracts/{world.contract.id}").text


# --- the migration that brought these in, on entries and flags recorded before it -----------------


def _migration():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "migrations" / "versions" / "c4d7e2a9b810_service_log_integrity.py"
    spec = importlib.util.spec_from_file_location("integrity_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_gives_earlier_entries_the_fingerprint_the_code_computes(world):
    entry = world.record(place="活动室 A")
    expected = entry.fingerprint
    # As an entry recorded before the migration was stored (its place hashed as typed, not normalised).
    db.session.execute(sa.update(ServiceActivity).where(ServiceActivity.id == entry.id).values(fingerprint="0" * 64))
    untouched = world.record(place="活动室", start_time=time(14, 0), end_time=time(15, 0))

    _migration()._refingerprint(db.session.connection())

    db.session.expire_all()
    assert db.session.get(ServiceActivity, entry.id).fingerprint == expected
    assert db.session.get(ServiceActivity, untouched.id).fingerprint == untouched.fingerprint


def test_the_migration_lists_earlier_flags_under_the_other_contracts_they_concern(world):
    world.record(start_time=time(9, 0), end_time=time(10, 30))
    world.record(contract=world.second_contract, start_time=time(10, 0), end_time=time(11, 0),
                 participants=[world.people["third"]], place="居委会会议室")
    (flag,) = _active(RedFlagKind.WORKER_OVERLAP)
    from svcproc.delivery.models import red_flag_contract

    links = db.session.execute(sa.select(red_flag_contract)).all()
    db.session.execute(sa.delete(red_flag_contract))

    _migration()._link_flags(db.session.connection())

    assert sorted(db.session.execute(sa.select(red_flag_contract)).all()) == sorted(links)
    assert len(links) == 1 and links[0].red_flag_id == flag.id


@pytest.mark.parametrize("paid", [True, False], ids=["paid", "not paid"])
def test_the_entry_page_offers_corrections_only_while_the_entry_is_not_locked(client, login_as, world, paid):
    entry = world.record()
    if paid:
        _paid(world)
    login_as("manager")

    page = client.get(f"/services/{entry.id}").text

    assert (f"/services/{entry.id}/edit" in page) is not paid
    assert ("中期评估" in page) is paid


def test_the_period_table_is_the_declared_one():
    table = {verb: (set(step.sources), step.target, step.event)
             for verb, step in contract_workflow.PERIOD.transitions.items()}

    assert table == {"reopen": ({PeriodStatus.CLOSED}, PeriodStatus.REOPENED, "milestone.period_reopened"),
                     "close": ({PeriodStatus.REOPENED}, PeriodStatus.CLOSED, "milestone.period_closed")}


@pytest.mark.parametrize("who", ["manager", "auditor", "admin"])
def test_only_procurement_staff_close_a_reopened_period(world, who):
    milestone = _paid(world)
    period = contract_workflow.reopen_period(world.users["procurement"], milestone, "更正")
    seq = last_seq()

    with pytest.raises(PermissionDenied):
        contract_workflow.close_period(world.users[who], milestone)

    db.session.refresh(period)
    assert period.status == PeriodStatus.REOPENED and last_seq() == seq
