"""The beneficiary register: consent (a guardian for a child under 14), one person once per register
but recognised across registers, who sees whom, and the audited reveal of a full number."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import gettext, ngettext

from svcproc.core.errors import PermissionDenied, ValidationError
from svcproc.delivery import identity, services
from svcproc.delivery.models import Beneficiary, ConsentBy
from svcproc.extensions import db
from tests.builders.delivery import TODAY, World, add_person, id_number, unchanged
from tests.helpers import audit_events, copy_row, count, in_page

pytestmark = pytest.mark.usefixtures("shared_connection")

OWN_ONLY, OTHER_ONLY = "王秀英", "孙凤英"   # one name in each register


def _form(world: World, **values) -> dict:
    data = {"name": "黄小明", "gender": "male", "id_number": "", "birth_year": "1950",
            "community_id": str(world.communities[0].id), "phone": "", "consent_by": "self", "guardian_name": "",
            "consent_method": "written", "consent_on": TODAY.isoformat()}
    return {**data, **values}


# The separate consent to sensitive data, as the form sends it when its box is ticked.
SENSITIVE = {"sensitive_consent": "y", "sensitive_consent_purpose": "核实身份并电话回访",
             "sensitive_consent_on": TODAY.isoformat()}


def _ids_linked(html: str) -> set[int]:
    return {int(i) for i in re.findall(r"/beneficiaries/(\d+)", html)} | {
        int(i) for i in re.findall(r"/people/(\d+)/chip", html)}


# --- consent ----------------------------------------------------------------------------------


@pytest.mark.parametrize("consent_by, guardian", [(ConsentBy.SELF, ""), (ConsentBy.GUARDIAN, ""),
                                                  (ConsentBy.SELF, "刘强")])
def test_a_child_under_14_needs_a_guardians_consent(world, consent_by, guardian):
    with unchanged(), pytest.raises(ValidationError) as refused:
        add_person(world.manager, world.org.id, "刘小雨", number=id_number(date(2015, 8, 8), 31),
                   community=world.communities[0], guardian=guardian, consent_by=consent_by)
    assert refused.value.field == "guardian_name"


def test_a_child_with_a_guardians_consent_is_registered(world):
    person = add_person(world.manager, world.org.id, "刘小雨", number=id_number(date(2015, 8, 8), 31),
                        community=world.communities[0], guardian="刘强")

    assert (person.consent_by, person.guardian_name, person.birth_year) == (ConsentBy.GUARDIAN, "刘强", 2015)
    event = audit_events("beneficiary.created", object_id=str(person.id))[0]
    assert event.changes["guardian_name"] == [None, "刘强"]
    assert event.changes["consent_by"] == [None, "guardian"]


@pytest.mark.parametrize("birth_year, consent_on, allowed", [
    (TODAY.year - 15, TODAY, True),                        # 14 at least, whatever the birthday
    (TODAY.year - 14, TODAY, False),                       # 14 or still 13: may be under 14
    (TODAY.year - 13, TODAY, False),
    (2010, date(2024, 12, 31), True),                      # the last day of the year: 14 whatever the birthday
    (2010, date(2024, 12, 30), False),                     # one born on 31 December is still 13
], ids=["15-years-on", "14-years-on", "13-years-on", "14-on-31-december", "14-on-30-december"])
def test_with_the_birth_year_only_one_who_may_be_under_14_needs_a_guardian(world, birth_year, consent_on, allowed):
    def add():
        return add_person(world.manager, world.org.id, "周一鸣", birth_year=birth_year,
                          community=world.communities[0], consent_by=ConsentBy.SELF, consent_on=consent_on)

    if allowed:
        assert add().consent_by == ConsentBy.SELF
        return
    with unchanged(), pytest.raises(ValidationError) as refused:
        add()
    assert refused.value.field == "guardian_name"


def test_with_the_birth_year_only_a_guardian_may_consent_for_one_who_may_be_under_14(world):
    person = add_person(world.manager, world.org.id, "周一鸣", birth_year=TODAY.year - 14,
                        community=world.communities[0], guardian="周强")

    assert (person.consent_by, person.guardian_name) == (ConsentBy.GUARDIAN, "周强")


@pytest.mark.parametrize("born, consent_on, allowed", [
    (date(2011, 6, 16), TODAY, True),               # 14 today
    (date(2011, 6, 17), TODAY, False),              # 14 tomorrow
    (date(2011, 12, 31), TODAY, False),             # born in the year that makes 14, still 13
    (date(2010, 9, 1), date(2024, 6, 1), False),    # 14 now, but 13 when consent was given
], ids=["14-today", "14-tomorrow", "13-late-in-the-year", "13-at-consent"])
def test_with_a_number_the_age_is_exact_on_the_day_of_consent(world, born, consent_on, allowed):
    def add():
        return add_person(world.manager, world.org.id, "周一鸣", number=id_number(born, 41),
                          community=world.communities[0], consent_by=ConsentBy.SELF, consent_on=consent_on)

    if allowed:
        assert add().consent_by == ConsentBy.SELF
        return
    with unchanged(), pytest.raises(ValidationError) as refused:
        add()
    assert refused.value.field == "guardian_name"


def test_guardian_consent_names_the_guardian_at_any_age(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        add_person(world.manager, world.org.id, "周一鸣", birth_year=1940, community=world.communities[0],
                   consent_by=ConsentBy.GUARDIAN)
    assert refused.value.field == "guardian_name"


def test_consent_cannot_be_dated_in_the_future(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        add_person(world.manager, world.org.id, "周一鸣", birth_year=1940, community=world.communities[0],
                   consent_on=date(2025, 6, 17))
    assert refused.value.field == "consent_on"


def test_the_form_refuses_a_child_without_a_guardian(client, login_as, world):
    login_as("manager")
    before = count(Beneficiary)

    response = client.post("/beneficiaries/new", data=_form(world, name="刘小雨", birth_year="2016",
                                                            id_number=id_number(date(2016, 2, 2), 32)))

    assert response.status_code == 422
    assert in_page(lambda: gettext("A child under 14 needs the consent of a guardian: record the guardian's name.")) \
        in response.text
    assert count(Beneficiary) == before


def test_the_form_adds_a_person_with_the_number_sealed_and_masked(client, login_as, world):
    login_as("manager")
    number = id_number(date(1950, 4, 4), 33)

    response = client.post("/beneficiaries/new", data=_form(world, id_number=number, phone="13855556666",
                                                            categories=["elderly_alone", "low_income"], **SENSITIVE))

    assert response.status_code == 303
    person = db.session.execute(sa.select(Beneficiary).where(Beneficiary.name == "黄小明")).unique().scalar_one()
    assert person.organization_id == world.org.id
    assert person.id_number_masked == identity.mask(number) and person.phone_masked == "138****6666"
    assert identity.unseal_number(person.id_number_sealed) == number
    assert person.categories == ["elderly_alone", "low_income"]
    event = audit_events("beneficiary.created", object_id=str(person.id))[0]
    assert event.actor_id == world.manager.id
    assert number not in str(event.changes) and "13855556666" not in str(event.changes)


@pytest.mark.parametrize("typed, reason", [("51010719480309011", "length"), ("510107194803090118", "check"),
                                           ("510107194802300117", "birth_date"), ("51010719480309011Y", "charset")])
def test_the_form_says_what_is_wrong_with_a_number(client, login_as, world, typed, reason):
    login_as("manager")
    before = count(Beneficiary)

    response = client.post("/beneficiaries/new", data=_form(world, id_number=typed))

    assert response.status_code == 422
    assert in_page(lambda: services.identity_message(reason)) in response.text
    assert count(Beneficiary) == before


def test_the_birth_year_must_match_the_number(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        add_person(world.manager, world.org.id, "黄小明", number=id_number(date(1950, 4, 4), 33), birth_year=1951,
                   community=world.communities[0])
    assert refused.value.field == "birth_year"


def test_the_birth_year_comes_from_the_number(world):
    person = add_person(world.manager, world.org.id, "黄小明", number=id_number(date(1950, 4, 4), 33),
                        community=world.communities[0])
    assert person.birth_year == 1950


# --- one person, one entry per register, recognised across registers --------------------------


@pytest.mark.parametrize("variant", ["exact", "spaces", "lower"])
def test_the_same_person_twice_in_one_register_is_refused(world, variant):
    number = world.number("child")  # ends in X
    typed = {"exact": number, "spaces": f" {number[:6]} {number[6:]} ", "lower": number.lower()}[variant]

    with unchanged(), pytest.raises(ValidationError) as refused:
        add_person(world.manager, world.org.id, "刘子涵", number=typed, community=world.communities[1],
                   guardian="刘强")
    assert refused.value.field == "id_number"


def test_editing_someone_into_a_duplicate_is_refused(world):
    second = world.people["second"]
    values = dict(name=second.name, gender=second.gender, id_number=world.number("elder"), birth_year=None,
                  community=second.community, categories=second.categories, phone="", consent_by=second.consent_by,
                  guardian_name="", consent_method=second.consent_method, consent_on=second.consent_on)

    with unchanged(second), pytest.raises(ValidationError):
        services.update_beneficiary(world.manager, second, **values)


def test_the_same_person_in_another_register_is_allowed_and_recognised(world):
    elder = world.people["elder"]
    assert services.same_person_elsewhere(elder) == 0

    twin = add_person(world.users["other_manager"], world.other_org.id, "王秀英", number=world.number("elder"),
                      community=world.communities[0])

    assert twin.id_match_key == elder.id_match_key
    assert services.same_person_elsewhere(elder) == 1
    assert services.same_person_elsewhere(twin) == 1


def test_people_without_a_number_are_never_matched(world):
    assert services.same_person_elsewhere(world.people["no_number"]) == 0


def test_the_detail_page_says_the_person_is_served_elsewhere(client, login_as, world):
    login_as("manager")
    message = in_page(lambda: ngettext(
        "Registered by %(num)d other organization (matched without reading the number).",
        "Registered by %(num)d other organizations (matched without reading the number).", 1))

    shared = client.get(f"/beneficiaries/{world.people['shared'].id}")
    alone = client.get(f"/beneficiaries/{world.people['elder'].id}")

    assert message in shared.text
    assert message not in alone.text
    assert world.other_org.name not in shared.text   # which organization stays unsaid


def test_the_persons_page_lists_their_entries_newest_first_with_each_contracts_title(client, login_as, world):
    from datetime import date, time

    from svcproc.delivery.labels import ACTIVITY_TYPE_LABELS
    from svcproc.delivery.models import ActivityType

    person, other = world.people["elder"], world.people["second"]
    days = [date(2025, 5, 6), date(2025, 5, 20), date(2025, 5, 13)]
    entries = [world.record(participants=[person], activity_date=day, start_time=time(9, 0), end_time=time(10, 0),
                            topic=f"探访{n}") for n, day in enumerate(days)]
    world.record(participants=[other], activity_date=date(2025, 5, 27), start_time=time(9, 0), end_time=time(10, 0))
    login_as("manager")

    html = client.get(f"/beneficiaries/{person.id}").text

    listed = [(int(i), d) for i, d in re.findall(r'href="/services/(\d+)">([\d-]+) ', html)]
    mine = sorted(entries, key=lambda e: e.activity_date, reverse=True)
    ids = {e.id for e in entries}
    assert [row for row in listed if row[0] in ids] == [(e.id, e.activity_date.isoformat()) for e in mine]
    assert [d for _i, d in listed] == sorted((d for _i, d in listed), reverse=True)
    assert "2025-05-27" not in [d for _i, d in listed]   # the other person's entry
    label = in_page(lambda: str(ACTIVITY_TYPE_LABELS[ActivityType(entries[0].type)]))
    assert f"{days[0].isoformat()} {label}</a> · {world.contract.title}</li>" in html


@pytest.mark.parametrize("who", ["manager", "procurement"])
def test_the_persons_page_counts_the_other_registers_with_the_person(client, login_as, world, count_queries, who):
    """Whether another organization serves the same person is read in the statement that reads the
    person: as many statements for a person served elsewhere as for one who is not."""
    login_as(who)
    counts = {}
    for name in ("shared", "elder"):
        url = f"/beneficiaries/{world.people[name].id}"
        client.get(url)
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        counts[name] = counted.statements

    assert len(counts["shared"]) == len(counts["elder"]), counts
    assert not [s for s in counts["shared"] if s.lstrip().startswith("SELECT count(DISTINCT")], counts["shared"]


# --- who sees whom ----------------------------------------------------------------------------

SEES = {"manager": "own", "worker": "own", "idle_worker": "own", "other_manager": "other", "other_worker": "other",
        "procurement": "all", "admin": "all", "auditor": "all"}


@pytest.mark.parametrize("who", list(SEES))
def test_the_register_lists_the_own_organization_or_everyone_for_the_bureau(client, login_as, world, who):
    login_as(who)

    response = client.get("/beneficiaries")

    assert response.status_code == 200
    assert (OWN_ONLY in response.text) == (SEES[who] in ("own", "all"))
    assert (OTHER_ONLY in response.text) == (SEES[who] in ("other", "all"))


@pytest.mark.parametrize("who", ["manager", "other_manager"])
def test_a_name_search_stays_inside_the_own_register(client, login_as, world, who):
    login_as(who)
    mine = world.people["shared" if who == "manager" else "other_shared"]
    theirs = world.people["other_shared" if who == "manager" else "shared"]

    response = client.get("/beneficiaries", query_string={"q": "陈玉珍"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert mine.id in _ids_linked(response.text)
    assert theirs.id not in _ids_linked(response.text)


@pytest.mark.parametrize("who", ["expert", "evaluator"])
@pytest.mark.parametrize("page", ["/beneficiaries", "/beneficiaries/new", "detail", "edit"])
def test_experts_and_evaluators_never_see_beneficiaries(client, login_as, world, who, page):
    login_as(who)
    person = world.people["elder"]
    url = {"detail": f"/beneficiaries/{person.id}", "edit": f"/beneficiaries/{person.id}/edit"}.get(page, page)

    response = client.get(url)

    assert response.status_code == 403
    assert person.name not in response.text


@pytest.mark.parametrize("page", ["/beneficiaries", "detail"])
def test_anonymous_visitors_are_sent_to_log_in(client, world, page):
    url = f"/beneficiaries/{world.people['elder'].id}" if page == "detail" else page
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


DETAIL = {"manager": 200, "worker": 200, "idle_worker": 200, "other_manager": 403, "other_worker": 403,
          "procurement": 200, "admin": 200, "auditor": 200, "expert": 403, "evaluator": 403}
EDIT = {"manager": 200, "worker": 200, "idle_worker": 200, "other_manager": 403, "other_worker": 403,
        "procurement": 403, "admin": 403, "auditor": 403, "expert": 403, "evaluator": 403}


@pytest.mark.parametrize("who", list(DETAIL))
def test_a_persons_page_is_for_the_own_organization_the_bureau_and_auditors(client, login_as, world, who):
    login_as(who)
    person = world.people["elder"]

    response = client.get(f"/beneficiaries/{person.id}")

    assert response.status_code == DETAIL[who]
    assert (person.name in response.text) == (DETAIL[who] == 200)


@pytest.mark.parametrize("who", list(EDIT))
def test_only_the_own_organizations_staff_edit_a_person(client, login_as, world, who):
    login_as(who)
    person = world.people["elder"]

    page = client.get(f"/beneficiaries/{person.id}/edit")
    saved = client.post(f"/beneficiaries/{person.id}/edit", data=_form(world, name="改名", birth_year="1948",
                                                                       version=str(person.version)))

    assert page.status_code == EDIT[who]
    assert saved.status_code == (303 if EDIT[who] == 200 else 403)
    assert (db.session.get(Beneficiary, person.id).name == "改名") == (EDIT[who] == 200)


def test_an_edit_from_a_stale_form_is_refused(client, login_as, world):
    login_as("manager")
    person = world.people["elder"]
    stale = str(person.version)
    assert client.post(f"/beneficiaries/{person.id}/edit",
                       data=_form(world, name="王秀英", birth_year="1948", version=stale)).status_code == 303

    response = client.post(f"/beneficiaries/{person.id}/edit",
                           data=_form(world, name="别的名字", birth_year="1948", version=stale))

    assert response.status_code == 409
    assert db.session.get(Beneficiary, person.id).name == "王秀英"


def test_an_edit_without_a_number_keeps_the_sealed_one(client, login_as, world):
    login_as("manager")
    person = world.people["elder"]
    sealed = person.id_number_sealed

    response = client.post(f"/beneficiaries/{person.id}/edit",
                           data=_form(world, name="王秀英", gender="female", birth_year="1948",
                                      version=str(person.version), categories=["elderly_alone", "disability"]))

    assert response.status_code == 303
    person = db.session.get(Beneficiary, person.id)
    assert person.id_number_sealed == sealed and person.categories == ["disability", "elderly_alone"]
    event = audit_events("beneficiary.updated", object_id=str(person.id))[-1]
    assert set(event.changes) == {"categories"}


PICKER = {"manager": 200, "worker": 200, "idle_worker": 403, "other_manager": 403, "other_worker": 403,
          "procurement": 403, "admin": 403, "auditor": 403, "expert": 403, "evaluator": 403}


@pytest.mark.parametrize("who", list(PICKER))
def test_the_participant_picker_is_for_those_who_record_on_the_contract(client, login_as, world, who):
    login_as(who)
    contract, person = world.contract, world.people["elder"]

    search = client.get(f"/contracts/{contract.id}/people", query_string={"q": "王"})
    chip = client.get(f"/contracts/{contract.id}/people/{person.id}/chip")

    assert (search.status_code, chip.status_code) == (PICKER[who], PICKER[who])
    assert (person.name in search.text) == (PICKER[who] == 200)


@pytest.mark.parametrize("who", ["manager", "worker"])
def test_the_picker_finds_only_the_contracts_own_register(client, login_as, world, who):
    login_as(who)

    response = client.get(f"/contracts/{world.contract.id}/people", query_string={"q": "陈"},
                          headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert _ids_linked(response.text) == {world.people["shared"].id}
    assert world.number("shared") not in response.text
    assert world.people["shared"].id_number_masked in response.text


def test_the_picker_reads_what_a_result_shows_and_nothing_more(client, login_as, world, count_queries):
    """Every match is sorted before the twelve results are cut: the sealed numbers are not read, no
    area is joined to the matches (the community's name is the kept choices'), and what a result
    shows needs no statement of its own."""
    login_as("worker")
    url = f"/contracts/{world.contract.id}/people?q=王"
    client.get(url, headers={"HX-Request": "true"})
    with count_queries() as counted:
        response = client.get(url, headers={"HX-Request": "true"})

    elder = world.people["elder"]
    assert elder.name in response.text and elder.register_code in response.text
    assert f"{elder.birth_year} · {elder.community.name} · {elder.id_number_masked}" in response.text
    (search,) = [s for s in counted.statements if "FROM beneficiary" in s]
    assert "sealed" not in search and "JOIN area" not in search
    assert not [s for s in counted.statements if s.lstrip().startswith("SELECT area.")]


def test_another_organizations_person_has_no_chip_here(client, login_as, world):
    login_as("manager")

    response = client.get(f"/contracts/{world.contract.id}/people/{world.people['other_only'].id}/chip")

    assert response.status_code == 404
    assert OTHER_ONLY not in response.text


def test_the_other_organization_cannot_pick_from_this_contract(client, login_as, world):
    login_as("other_worker")
    response = client.get(f"/contracts/{world.other_contract.id}/people", query_string={"q": "王"})
    assert response.status_code == 200
    assert OWN_ONLY not in response.text


def test_the_quick_add_fields_are_fetched_when_the_panel_opens(client, login_as, world):
    """The entry form carries the panel and the address of its fields, not the fields: those (with
    every community of the district) come when the panel is opened, ready to post."""
    login_as("worker")
    form = client.get(f"/contracts/{world.contract.id}/services/new").get_data(as_text=True)
    fields = client.get(f"/contracts/{world.contract.id}/people/quick", headers={"HX-Request": "true"})

    assert f'hx-get="/contracts/{world.contract.id}/people/quick"' in form
    assert 'name="new-name"' not in form and 'name="new-community_id"' not in form
    assert fields.status_code == 200
    html = fields.get_data(as_text=True)
    assert 'name="new-name"' in html and 'id="quick-add-error"' in html
    assert all(f'<option value="{c.id}"' in html for c in world.communities)
    assert f'hx-post="/contracts/{world.contract.id}/people/quick"' in html
    assert "<html" not in html                      # a fragment for the panel, not a page


def test_someone_new_is_added_from_the_activity_form_and_picked(client, login_as, world):
    login_as("worker")
    number = id_number(date(1951, 1, 1), 34)
    data = {f"new-{k}": v for k, v in _form(world, name="黄新来", id_number=number, birth_year="", **SENSITIVE).items()}

    response = client.post(f"/contracts/{world.contract.id}/people/quick", data=data,
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    person = db.session.execute(sa.select(Beneficiary).where(Beneficiary.name == "黄新来")).unique().scalar_one()
    assert person.organization_id == world.org.id
    assert f'name="participants" value="{person.id}"' in response.text
    assert number not in response.text


def test_a_quick_add_with_a_wrong_number_says_why_and_adds_nobody(client, login_as, world):
    login_as("worker")
    before = count(Beneficiary)
    data = {f"new-{k}": v for k, v in _form(world, name="黄新来", id_number="510107195101010349").items()}

    response = client.post(f"/contracts/{world.contract.id}/people/quick", data=data,
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#quick-add-error"
    assert in_page(lambda: services.identity_message("check")) in response.text
    assert count(Beneficiary) == before


# --- revealing a full number ------------------------------------------------------------------


def test_the_org_manager_reveals_a_number_and_it_is_audited(client, login_as, world):
    login_as("manager")
    person = world.people["elder"]

    response = client.post(f"/beneficiaries/{person.id}/reveal", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert world.number("elder") in response.text and world.phone("elder") in response.text
    assert response.headers["Cache-Control"] == "no-store"
    events = audit_events("beneficiary.identity_revealed", object_id=str(person.id))
    assert len(events) == 1
    assert events[0].actor_id == world.manager.id and events[0].object_type == "beneficiary"
    recorded = f"{events[0].changes} {events[0].actor_name} {events[0].object_id}"
    assert world.number("elder") not in recorded and world.phone("elder") not in recorded


def test_each_reveal_is_recorded(client, login_as, world):
    login_as("manager")
    person = world.people["elder"]

    for _ in range(2):
        assert client.post(f"/beneficiaries/{person.id}/reveal").status_code == 200

    assert len(audit_events("beneficiary.identity_revealed", object_id=str(person.id))) == 2


@pytest.mark.parametrize("who", ["worker", "idle_worker", "other_manager", "other_worker", "procurement", "admin",
                                 "auditor", "expert", "evaluator"])
def test_nobody_else_may_reveal_a_number(client, login_as, world, who):
    login_as(who)
    person = world.people["elder"]

    with unchanged(person):
        response = client.post(f"/beneficiaries/{person.id}/reveal")

    assert response.status_code == 403
    assert world.number("elder") not in response.text and world.phone("elder") not in response.text
    assert audit_events("beneficiary.identity_revealed") == []


def test_the_other_organizations_manager_cannot_reveal_their_twin_here(world):
    with unchanged(), pytest.raises(PermissionDenied):
        services.reveal_identity(world.users["other_manager"], world.people["shared"])


@pytest.mark.parametrize("who, shown", [("manager", True), ("worker", False), ("auditor", False),
                                        ("procurement", False)])
def test_the_reveal_button_is_shown_only_to_who_may_use_it(client, login_as, world, who, shown):
    login_as(who)
    person = world.people["elder"]

    response = client.get(f"/beneficiaries/{person.id}")

    assert (f"/beneficiaries/{person.id}/reveal" in response.text) == shown
    assert person.id_number_masked in response.text and person.phone_masked in response.text


# --- searching names ------------------------------------------------------------------------------


SEARCHED = {"王": ["李王", "王伟", "王伟东"], "王伟": ["王伟", "王伟东"], "伟东": ["王伟东"], "王伟东": ["王伟东"],
            "王东": [], "WEI": ["Zhang Wei"], "g w": ["Zhang Wei"], "%": ["百分%"], "_": []}


@pytest.mark.parametrize("typed", list(SEARCHED))
def test_a_name_search_finds_every_name_containing_the_text_and_nothing_else(world, typed):
    """One character, two (which trigram indexes cannot find), more, letter case, and LIKE's own
    wildcards taken literally: the same answers on SQLite and on PostgreSQL's n-gram index."""
    from svcproc.core import search

    for name in ("王伟", "王伟东", "李王", "Zhang Wei", "张三", "百分%"):
        add_person(world.manager, world.org.id, name, birth_year=1950, community=world.communities[0])

    found = db.session.execute(sa.select(Beneficiary.name).where(
        Beneficiary.organization_id == world.org.id, search.contains(Beneficiary.name, typed))
        .order_by(Beneficiary.name)).scalars().all()

    expected = sorted(SEARCHED[typed] + [p.name for p in world.people.values()
                                         if p.organization_id == world.org.id and typed.lower() in p.name.lower()])
    assert sorted(found) == expected


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_person_registered_at_the_same_moment_by_someone_else_is_answered_on_the_form(client, login_as, world,
                                                                                        monkeypatch, locale):
    """Two people register the same person at the same moment: the second one's duplicate check ran
    before the first committed, so the insert breaks the register's unique key. The form answers
    409 with what was typed and says so in the person's language; nothing is saved."""
    from svcproc.core import flow

    other = add_person(world.manager, world.org.id, "黄小明", number=id_number(date(1950, 4, 4), 33),
                       community=world.communities[0])
    def create_after_the_other_commit(actor, organization_id, **values):
        db.session.execute(copy_row(Beneficiary, other.id))
        db.session.flush()

    monkeypatch.setattr(services, "create_beneficiary", create_after_the_other_commit)
    login_as("manager")
    client.set_cookie("svcproc_lang", locale)
    before = count(Beneficiary)

    response = client.post("/beneficiaries/new", data=_form(world, name="黄晓明", birth_year="1950",
                                                            id_number=id_number(date(1950, 4, 4), 33)))

    assert response.status_code == 409
    assert in_page(flow.same_moment_message, locale) in response.text
    assert 'value="黄晓明"' in response.text
    assert count(Beneficiary) == before
