"""Personal information through its life (PIPL arts. 13–15, 28–31, 44–47): the separate consent to
sensitive data, withdrawing consent, anonymising after the retention period, the log of who read a
record and a person's own data exported for them. Each rule is tested by its refusal and by
checking that nothing changed."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask_babel import gettext

from svcproc.contracts import workflow as contract_workflow
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.delivery import identity, ledger, privacy, progress, services
from svcproc.delivery.models import (ActivityType, Beneficiary, BeneficiaryView, PersonStatus, RedFlag, RedFlagKind,
                                     ViewKind)
from svcproc.extensions import db
from svcproc.reports import assemble
from tests.builders.delivery import (SENSITIVE_CONSENT, TODAY, WORLD_NOW, add_person, csv_bytes, id_number,
                                     ledger_row, unchanged, upload)
from tests.helpers import audit_events, count, in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")

OUTSIDERS = ["admin", "procurement", "auditor", "expert", "evaluator", "other_manager", "other_worker"]


def _values(world, **values) -> dict:
    base = dict(name="黄小明", gender="male", id_number="", birth_year=1950, community=world.communities[0],
                categories=[], phone="", consent_by="self", guardian_name="", consent_method="written",
                consent_on=TODAY)
    return {**base, **values}


def _refusal() -> str:
    """The refusal of sensitive data stored without the separate consent, in the current locale."""
    return gettext("The identity number, the phone and the health or means categories are sensitive personal "
                   "information: they are stored only with the separate consent of the person or guardian, for a "
                   "stated purpose (PIPL art. 29).")


# --- 1. the separate consent to sensitive data -----------------------------------------------------


SENSITIVE_DATA = {
    "identity number": dict(id_number=id_number(date(1950, 4, 4), 51), birth_year=None),
    "phone": dict(phone="13855556666"),
    "disability": dict(categories=["disability"]),
    "low income": dict(categories=["elderly_alone", "low_income"]),
}


@pytest.mark.parametrize("what", SENSITIVE_DATA)
def test_sensitive_data_is_refused_without_the_separate_consent(world, what):
    with unchanged():
        with pytest.raises(ValidationError) as refused:
            services.create_beneficiary(world.manager, world.org.id, **_values(world, **SENSITIVE_DATA[what]))

    assert refused.value.field == "sensitive_consent"
    assert refused.value.message == _refusal()


@pytest.mark.parametrize("what", SENSITIVE_DATA)
def test_sensitive_data_is_kept_with_the_separate_consent_its_purpose_and_date(world, what):
    person = services.create_beneficiary(world.manager, world.org.id,
                                         **_values(world, **SENSITIVE_DATA[what]), **SENSITIVE_CONSENT(TODAY))

    purpose = SENSITIVE_CONSENT(TODAY)["sensitive_consent_purpose"]
    assert person.sensitive_consent_on == TODAY and person.sensitive_consent_purpose == purpose
    event = audit_events("beneficiary.created", object_id=str(person.id))[-1]
    assert event.changes["sensitive_consent_on"] == [None, TODAY.isoformat()]
    assert event.changes["sensitive_consent_purpose"] == [None, purpose]


def test_a_person_without_sensitive_data_needs_no_separate_consent(world):
    person = services.create_beneficiary(world.manager, world.org.id, **_values(world, categories=["elderly_alone"]))

    assert person.sensitive_consent_on is None and not person.has_sensitive_consent


@pytest.mark.parametrize("change, field", [
    (dict(sensitive_consent_purpose=""), "sensitive_consent_purpose"),
    (dict(sensitive_consent_on=None), "sensitive_consent_on"),
    (dict(sensitive_consent_on=TODAY + timedelta(days=1)), "sensitive_consent_on"),
    (dict(sensitive_consent_on=TODAY - timedelta(days=1)), "sensitive_consent_on"),   # before the general consent
])
def test_a_separate_consent_needs_its_purpose_and_a_real_date(world, change, field):
    with unchanged():
        with pytest.raises(ValidationError) as refused:
            services.create_beneficiary(world.manager, world.org.id, **_values(world, phone="13855556666"),
                                        **{**SENSITIVE_CONSENT(TODAY), **change})

    assert refused.value.field == field


@pytest.mark.parametrize("what", SENSITIVE_DATA)
def test_sensitive_data_cannot_be_added_by_an_edit_without_the_consent(world, what):
    person = world.people["no_number"]
    values = _values(world, name=person.name, birth_year=person.birth_year, community=world.communities[1])
    values.update(SENSITIVE_DATA[what])

    with unchanged(person):
        with pytest.raises(ValidationError) as refused:
            services.update_beneficiary(world.manager, person, **values)

    assert refused.value.field == "sensitive_consent"


def test_an_edit_adds_sensitive_data_under_the_consent_already_given(world):
    person = world.people["elder"]   # registered with its number, phone and the separate consent

    services.update_beneficiary(world.manager, person, **_values(
        world, name=person.name, gender="female", birth_year=1948, categories=["elderly_alone", "disability"]))

    assert person.categories == ["disability", "elderly_alone"]


@pytest.mark.parametrize("url", ["/beneficiaries/new", "edit"])
def test_the_forms_never_tick_the_separate_consent(client, login_as, world, url):
    login_as("manager")
    if url == "edit":
        url = f"/beneficiaries/{world.people['elder'].id}/edit"

    page = client.get(url).text

    box = page[page.index('name="sensitive_consent"') - 200:page.index('name="sensitive_consent"') + 60]
    assert 'type="checkbox"' in box and "checked" not in box
    assert 'name="sensitive_consent_purpose" type="text" value=""' in page


def test_the_form_refuses_a_number_without_the_ticked_box(client, login_as, world):
    login_as("manager")
    data = {"name": "黄小明", "gender": "male", "id_number": id_number(date(1950, 4, 4), 51), "birth_year": "",
            "community_id": str(world.communities[0].id), "consent_by": "self", "consent_method": "written",
            "consent_on": TODAY.isoformat(), "sensitive_consent_purpose": "核实身份",
            "sensitive_consent_on": TODAY.isoformat()}

    with unchanged():
        response = client.post("/beneficiaries/new", data=data)

    assert response.status_code == 422
    assert in_page(_refusal) in response.text


# --- 2. withdrawing consent ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_withdrawing_consent_erases_the_sensitive_data_and_is_audited(client, login_as, world, who):
    login_as(who)
    person = world.people["second"]   # number, phone, low income

    response = client.post(f"/beneficiaries/{person.id}/withdraw",
                           data={"withdrawn_on": TODAY.isoformat(), "reason": "本人电话告知撤回同意"})

    assert response.status_code == 303
    db.session.refresh(person)
    assert person.status == PersonStatus.WITHDRAWN and person.consent_withdrawn_on == TODAY
    assert person.id_number_sealed is None and person.phone_sealed is None
    assert person.id_number_masked == "" and person.phone_masked == "" and person.categories == []
    assert person.name == "李建国"    # kept until the retention period ends
    event = audit_events("beneficiary.consent_withdrawn", object_id=str(person.id))[-1]
    assert event.actor_id == world.users[who].id
    assert event.changes["status"] == ["active", "withdrawn"]
    assert event.changes["reason"] == [None, "本人电话告知撤回同意"]
    assert event.changes["categories"] == [["low_income"], []]
    assert event.changes["consent_withdrawn_on"] == [None, TODAY.isoformat()]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_only_the_organizations_staff_record_a_withdrawal(client, login_as, world, who):
    login_as(who)
    person = world.people["second"]

    with unchanged(person):
        response = client.post(f"/beneficiaries/{person.id}/withdraw",
                               data={"withdrawn_on": TODAY.isoformat(), "reason": "本人撤回"})

    assert response.status_code in (403, 404)


@pytest.mark.parametrize("data, field", [
    ({"withdrawn_on": TODAY.isoformat(), "reason": ""}, "reason"),
    ({"withdrawn_on": (TODAY + timedelta(days=1)).isoformat(), "reason": "本人撤回"}, "withdrawn_on"),
    ({"withdrawn_on": (TODAY - timedelta(days=30)).isoformat(), "reason": "本人撤回"}, "withdrawn_on"),
    ({"withdrawn_on": "", "reason": "本人撤回"}, "withdrawn_on"),
])
def test_a_withdrawal_needs_how_and_a_date_between_consent_and_today(client, login_as, world, data, field):
    login_as("manager")
    person = world.people["second"]

    with unchanged(person):
        response = client.post(f"/beneficiaries/{person.id}/withdraw", data=data)

    assert response.status_code == 422
    assert f'id="{field}-err"' in response.text


def test_consent_is_withdrawn_once(world):
    person = world.people["second"]
    privacy.withdraw_consent(world.manager, person, TODAY, "本人撤回")

    with unchanged(person):
        with pytest.raises(DomainError):
            privacy.withdraw_consent(world.manager, person, TODAY, "再次撤回")


def _withdrawn(world, key="second") -> Beneficiary:
    person = world.people[key]
    privacy.withdraw_consent(world.manager, person, TODAY, "本人撤回")
    return person


def test_no_new_entry_may_name_a_person_who_withdrew(world):
    person = _withdrawn(world)

    with unchanged(person):
        with pytest.raises(ValidationError) as refused:
            world.record(participants=[world.people["elder"], person])

    assert refused.value.field == "participants" and person.name in refused.value.message


def test_a_case_or_a_group_cannot_be_opened_for_a_person_who_withdrew(world):
    person = _withdrawn(world)

    with unchanged(person):
        with pytest.raises(ValidationError):
            world.record(type=ActivityType.CASE_WORK, participants=[person], head_count=0)
        with pytest.raises(ValidationError):
            services.create_group(world.manager, world.contract, "互助小组", 6, [person])


def test_an_entry_that_named_the_person_before_can_still_be_corrected(world):
    person = world.people["second"]
    entry = world.record(participants=[world.people["elder"], person])
    privacy.withdraw_consent(world.manager, person, TODAY, "本人撤回")

    services.correct_activity(world.manager, entry, world.event(participants=[world.people["elder"], person],
                                                                head_count=12), "签到表复核")

    assert entry.head_count == 12 and person in entry.participants


def test_withdrawal_leaves_the_figures_as_they_were(world):
    world.record(participants=[world.people["elder"], world.people["second"]])
    before = progress._as_json(progress.compute(world.contract.id))

    _withdrawn(world)

    assert progress._as_json(progress.compute(world.contract.id)) == before


def test_a_ledger_row_naming_a_person_who_withdrew_is_refused(world):
    number = world.number("second")
    _withdrawn(world)
    batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes([ledger_row(people=number)])))

    result = ledger.run_check(world.manager, batch)

    assert result.error_count == 1 and result.rows_new == 0
    assert batch.errors[0]["message"] == gettext("%(n)s withdrew consent: no new service entry may name this person.",
                                                 n=identity.mask(number))


def test_the_picker_no_longer_offers_a_person_who_withdrew(client, login_as, world):
    _withdrawn(world)
    login_as("manager")

    response = client.get(f"/contracts/{world.contract.id}/people", query_string={"q": "李建国"})

    assert response.status_code == 200
    assert f"/people/{world.people['second'].id}/chip" not in response.text


def test_a_withdrawn_record_is_closed_to_edits_and_shows_why(client, login_as, world):
    person = _withdrawn(world)
    login_as("manager")

    page = client.get(f"/beneficiaries/{person.id}").text
    with unchanged(person):
        refused = client.post(f"/beneficiaries/{person.id}/edit", data={"name": "改名"})

    assert "本人撤回" in page and f"/beneficiaries/{person.id}/edit" not in page
    assert f"/beneficiaries/{person.id}/withdraw" not in page
    assert refused.status_code == 409


# --- 3. retention and anonymisation ----------------------------------------------------------------


def _served_then_ended(world, clock):
    """Entries naming people of the organization, a case and a group, a person counted by both
    organizations; then the organization's contract is terminated."""
    people = world.people
    world.record(participants=[people["elder"], people["second"], people["shared"]], head_count=7)
    world.record(type=ActivityType.CASE_WORK, participants=[people["third"]], head_count=0, start_time=time(14, 0),
                 end_time=time(15, 0))
    group = services.create_group(world.manager, world.contract, "亲子小组", 6, [people["child"]])
    world.record(type=ActivityType.GROUP_SESSION, participants=[people["child"]], group=group, session_number=1,
                 head_count=0, start_time=time(16, 0), end_time=time(17, 0))
    # The other organization's contract still runs, and serves its own people.
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[people["other_only"], people["other_shared"]]))
    contract_workflow.terminate_contract(world.users["procurement"], world.contract, "服务机构申请提前终止")
    return world.contract.id


def _years_later(clock, years, days=1):
    clock.set(datetime(WORLD_NOW.year + years, WORLD_NOW.month, WORLD_NOW.day, WORLD_NOW.hour,
                       tzinfo=timezone.utc) + timedelta(days=days))


def _figures(contract_id):
    return (progress._as_json(progress.compute(contract_id)), progress.profile(contract_id),
            progress._as_json(assemble._progress([contract_id])[contract_id]))


def test_after_the_retention_period_people_are_anonymised_and_the_figures_stay_exact(world, clock, app):
    contract_id = _served_then_ended(world, clock)
    _years_later(clock, app.config["RETENTION_YEARS_AFTER_CLOSE"])
    before = _figures(contract_id)
    served = [world.people[k] for k in ("elder", "second", "shared", "third", "child")]

    handled = privacy.anonymise_due()

    assert {p.id for p in served} <= set(handled)
    for person in served:
        db.session.refresh(person)
        assert person.status == PersonStatus.ANONYMISED and person.name == privacy.ANONYMOUS_NAME
        assert person.id_number_sealed is None and person.id_match_key is None and person.id_number_masked == ""
        assert person.phone_sealed is None and person.phone_masked == "" and person.guardian_name == ""
    assert _figures(contract_id) == before
    assert before[0]["people"] == 5 and before[0]["person_times"] == 3 + 7 + 1 + 1
    events = audit_events("beneficiary.anonymised")
    assert {e.object_id for e in events} >= {str(p.id) for p in served}
    assert all(e.actor_id is None for e in events)


def test_people_of_a_contract_still_running_are_kept(world, clock, app):
    _served_then_ended(world, clock)
    _years_later(clock, app.config["RETENTION_YEARS_AFTER_CLOSE"])

    handled = privacy.anonymise_due()

    for key in ("other_only", "other_shared"):
        assert world.people[key].id not in handled
        assert world.people[key].status == PersonStatus.ACTIVE and world.people[key].id_match_key


def test_nobody_is_anonymised_before_the_period_ends(world, clock, app):
    _served_then_ended(world, clock)
    _years_later(clock, app.config["RETENTION_YEARS_AFTER_CLOSE"], days=-1)

    with unchanged(*world.people.values()):
        assert privacy.anonymise_due() == []


def test_a_dry_run_changes_nothing(world, clock, app):
    _served_then_ended(world, clock)
    _years_later(clock, app.config["RETENTION_YEARS_AFTER_CLOSE"])

    with unchanged(*world.people.values()):
        due = privacy.anonymise_due(dry_run=True)

    assert world.people["elder"].id in due


@pytest.mark.parametrize("who", ["manager", "worker", "admin", "procurement", "auditor"])
def test_no_person_anonymises_a_record_by_hand(world, who):
    person = world.people["elder"]

    with unchanged(person):
        with pytest.raises(PermissionDenied):
            privacy.anonymise(world.users[who], person)


def test_the_command_anonymises_those_due(world, clock, app, cli):
    _served_then_ended(world, clock)
    _years_later(clock, app.config["RETENTION_YEARS_AFTER_CLOSE"])
    db.session.flush()

    dry = cli("privacy", "anonymise", "--dry-run")
    done = cli("privacy", "anonymise")

    assert dry.exit_code == 0 and "Dry run" in dry.output
    assert done.exit_code == 0 and "anonymised" in done.output
    assert db.session.get(Beneficiary, world.people["elder"].id).status == PersonStatus.ANONYMISED


# --- 4. who read the record ------------------------------------------------------------------------


def test_reading_a_record_costs_one_insert(client, login_as, world, count_queries):
    login_as("worker")
    person = world.people["elder"]
    client.get(f"/beneficiaries/{person.id}")   # warm up

    with count_queries() as counted:
        response = client.get(f"/beneficiaries/{person.id}")

    assert response.status_code == 200
    inserts = [s for s in counted.statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "beneficiary_view" in inserts[0]
    assert count(BeneficiaryView, BeneficiaryView.beneficiary_id == person.id,
                 BeneficiaryView.user_id == world.users["worker"].id, BeneficiaryView.kind == ViewKind.VIEWED) == 2


def test_a_reveal_and_an_export_are_logged_with_what_was_done(client, login_as, world):
    login_as("manager")
    person = world.people["elder"]

    client.post(f"/beneficiaries/{person.id}/reveal")
    client.post(f"/beneficiaries/{person.id}/export")

    kinds = db.session.execute(sa.select(BeneficiaryView.kind).where(BeneficiaryView.beneficiary_id == person.id)
                               .order_by(BeneficiaryView.id)).scalars().all()
    assert kinds == [ViewKind.REVEALED, ViewKind.EXPORTED]


@pytest.mark.parametrize("who, shown", [("manager", True), ("auditor", True), ("worker", False),
                                        ("admin", False), ("procurement", False)])
def test_the_log_is_shown_to_the_manager_and_auditors_only(client, login_as, world, who, shown):
    person = world.people["elder"]
    privacy.log_view(world.users["procurement"], person, ViewKind.VIEWED)
    login_as(who)

    page = client.get(f"/beneficiaries/{person.id}").text
    log = client.get(f"/beneficiaries/{person.id}/views")

    assert ("view-log" in page) is shown
    assert log.status_code == (200 if shown else 403)


@pytest.mark.parametrize("who", ["other_manager", "other_worker", "expert", "evaluator"])
def test_outsiders_never_reach_the_log(client, login_as, world, who):
    login_as(who)

    response = client.get(f"/beneficiaries/{world.people['elder'].id}/views")

    assert response.status_code in (403, 404)


def test_the_log_is_paged_newest_first_in_two_queries(client, login_as, world, app, count_queries):
    person = world.people["elder"]
    for minutes in range(app.config["PAGE_SIZE"] + 5):
        db.session.add(BeneficiaryView(beneficiary_id=person.id, user_id=world.users["worker"].id,
                                       kind=ViewKind.VIEWED, viewed_at=WORLD_NOW - timedelta(minutes=minutes)))
    db.session.flush()
    login_as("auditor")
    client.get(f"/beneficiaries/{person.id}/views")

    with count_queries() as first:
        page_one = client.get(f"/beneficiaries/{person.id}/views", headers={"HX-Request": "true"})
    with count_queries() as second:
        page_two = client.get(f"/beneficiaries/{person.id}/views", query_string={"page": 2},
                              headers={"HX-Request": "true"})

    assert "<html" not in page_one.text and "page=2" in page_one.text
    assert page_two.text.count("<tr>") - 1 == 5
    assert first.count == second.count <= 6


# --- 5. everything held about one person, for them -------------------------------------------------


def test_the_manager_exports_everything_held_about_a_person(client, login_as, world):
    people = world.people
    world.record(participants=[people["elder"], people["shared"]])
    # The same person served by both organizations at the same time: a red flag naming them.
    services.record_activity(world.users["other_manager"], world.other_contract, world.event(
        workers=[world.workers["other_worker"]], participants=[people["other_shared"]]))
    assert count(RedFlag, RedFlag.kind == RedFlagKind.DOUBLE_COUNTED, RedFlag.contract_id == world.contract.id)
    person = people["shared"]
    login_as("manager")
    client.get(f"/beneficiaries/{person.id}")

    response = client.post(f"/beneficiaries/{person.id}/export")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    assert data["person"]["name"] == person.name
    assert data["person"]["identity_number"] == world.number("shared")
    assert data["person"]["phone"] == world.phone("shared")
    assert len(data["consents"]) == 2 and data["consents"][1]["purpose"] == "核实服务对象身份并联系回访"
    assert [e["contract"]["number"] for e in data["service_entries"]] == [world.contract.number]
    assert len(data["red_flags"]) == 1
    assert [v["by"] for v in data["views"]] == [world.manager.full_name or world.manager.username]
    event = audit_events("beneficiary.exported", object_id=str(person.id))[-1]
    assert event.actor_id == world.manager.id
    assert world.number("shared") not in json.dumps(event.changes)


@pytest.mark.parametrize("who", ["worker", *OUTSIDERS])
def test_only_the_organizations_manager_exports(client, login_as, world, who):
    login_as(who)
    person = world.people["elder"]

    with unchanged(person):
        response = client.post(f"/beneficiaries/{person.id}/export")

    assert response.status_code in (403, 404)
    assert world.number("elder") not in response.text


def test_an_anonymised_record_has_nothing_left_to_export(client, login_as, world):
    person = world.people["elder"]
    privacy.anonymise(None, person)
    login_as("manager")

    with unchanged(person):
        response = client.post(f"/beneficiaries/{person.id}/export")

    assert response.status_code == 403


def test_a_withdrawn_persons_export_holds_no_erased_data(client, login_as, world):
    person = _withdrawn(world, "elder")
    login_as("manager")

    data = json.loads(client.post(f"/beneficiaries/{person.id}/export").data)

    assert data["person"]["identity_number"] is None and data["person"]["phone"] is None
    assert data["consents"][0]["withdrawn_on"] == TODAY.isoformat()
    assert data["consents"][0]["withdrawal_reason"] == "本人撤回"


def test_the_page_offers_each_action_to_whom_the_rule_allows(make_client, world):
    person = world.people["elder"]
    pages = {}
    for who in ("manager", "worker", "auditor"):
        browser = make_client()
        assert login(browser, world.users[who]).status_code == 303
        pages[who] = browser.get(f"/beneficiaries/{person.id}").text

    assert f"/beneficiaries/{person.id}/export" in pages["manager"]
    assert f"/beneficiaries/{person.id}/export" not in pages["worker"] + pages["auditor"]
    assert f"/beneficiaries/{person.id}/withdraw" in pages["manager"] and f"/beneficiaries/{person.id}/withdraw" in pages["worker"]
    assert f"/beneficiaries/{person.id}/withdraw" not in pages["auditor"]


def test_new_people_are_registered_with_consent_standing(world):
    person = add_person(world.manager, world.org.id, "新对象", birth_year=1950, community=world.communities[0])

    assert person.status == PersonStatus.ACTIVE and not person.record_closed


def test_the_register_marks_those_who_withdrew(client, login_as, world):
    _withdrawn(world)
    login_as("manager")

    listed = client.get("/beneficiaries", query_string={"q": "李建国"}).text

    assert in_page(lambda: gettext("Consent withdrawn")) in listed


def test_a_record_holding_sensitive_data_from_before_separate_consents_says_so(client, login_as, world):
    person = world.people["elder"]
    person.sensitive_consent_on, person.sensitive_consent_purpose = None, ""   # as the migration left it
    db.session.flush()
    login_as("manager")

    page = client.get(f"/beneficiaries/{person.id}").text

    assert in_page(lambda: gettext("Not recorded: this record was registered with sensitive data before separate "
                                   "consents were kept; record the consent at the next edit, or withdraw.")) in page
