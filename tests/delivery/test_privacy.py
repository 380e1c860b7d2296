"""Full identity numbers and phones never leave the server, except in the audited reveal.

A world with everything that can show people is built once: registers in two organizations, a
corrected activity with evidence, a case, a group session, a duplicate (so a red flag), ledger
imports (one with row errors naming numbers), a job, a reveal and an edited phone in the audit
trail. Then every GET page of the app, its htmx fragment and the CSV exports are fetched by each
person who may see people, and by the outsiders, who must not even see names.
"""
from __future__ import annotations

import re
from datetime import date, time

import pytest

from svcproc.core import jobs
from svcproc.delivery import ledger, services
from svcproc.delivery.models import ActivityType, Beneficiary, ImportBatch
from svcproc.extensions import db
from tests.builders.delivery import (OTHER_PEOPLE, PEOPLE, World, build_world, csv_bytes, id_number, ledger_row,
                                     upload)
from tests.builders.files import pdf_upload
from tests.helpers import every_get_url, login, readable_text

pytestmark = pytest.mark.usefixtures("shared_connection")

UNREGISTERED = id_number(date(1947, 2, 3), 77)               # valid, on nobody's register
MISTYPED = UNREGISTERED[:17] + ("1" if UNREGISTERED[17] != "1" else "2")  # wrong check character
NEW_PHONE = "13512340987"
NAMES = sorted({v[0] for v in {**PEOPLE, **OTHER_PEOPLE}.values()} | {"赵德明"})


def _secrets() -> list[str]:
    numbers = [World.number(k) for k in (*PEOPLE, *OTHER_PEOPLE)] + [UNREGISTERED, MISTYPED]
    phones = [p for p in (World.phone(k) for k in (*PEOPLE, *OTHER_PEOPLE)) if p] + [NEW_PHONE]
    return sorted(set(numbers + [n.lower() for n in numbers] + phones))


def _build(clock) -> dict:
    ids = build_world(clock)
    w = World(ids)
    people, manager = w.people, w.manager
    first = services.record_activity(manager, w.contract, w.event(
        participants=[people["elder"], people["second"], people["child"], people["shared"]]),
        uploads=[pdf_upload("签到表.pdf")])
    services.correct_activity(manager, first, w.event(
        participants=[people["elder"], people["second"], people["child"], people["shared"]], head_count=12),
        "签到表复核后更正人数。")
    w.record(type=ActivityType.CASE_WORK, participants=[people["third"]], head_count=0, start_time=time(14, 0),
             end_time=time(15, 0), topic="个案跟进")
    group = services.create_group(manager, w.contract, "独居老人互助小组", 6, [people["elder"], people["shared"]])
    w.record(type=ActivityType.GROUP_SESSION, group=group, session_number=1, head_count=0,
             participants=[people["elder"], people["shared"]], start_time=time(15, 30), end_time=time(16, 30),
             workers=[w.workers["second_worker"]])
    for _ in range(2):  # entered twice: a red flag
        w.record(activity_date=date(2025, 6, 11), topic="入户走访")
    services.record_activity(w.users["other_manager"], w.other_contract, w.event(
        workers=[w.workers["other_worker"]], participants=[people["other_shared"], people["other_only"]]))
    bad = ledger.create_batch(manager, w.contract, upload(csv_bytes([
        ledger_row(people=f"{w.number('elder')};{UNREGISTERED}"), ledger_row(people=MISTYPED)]), "有错误的台账.csv"))
    ledger.run_check(manager, bad)
    good = ledger.create_batch(manager, w.contract, upload(csv_bytes([
        ledger_row(day="2025-06-03", people=f"{w.number('elder')};{w.number('second')}")]), "台账.csv"))
    ledger.run_check(manager, good)
    checked = ledger.create_batch(manager, w.contract, upload(csv_bytes([
        ledger_row(day="2025-06-04", people=w.number("third"))]), "待确认台账.csv"))
    ledger.run_check(manager, checked)
    ledger.run_import(manager, good)
    services.reveal_identity(manager, people["elder"])
    second = people["second"]
    services.update_beneficiary(manager, second, name=second.name, gender=second.gender, id_number="",
                                birth_year=second.birth_year, community=second.community, categories=[],
                                phone=NEW_PHONE, consent_by=second.consent_by, guardian_name="",
                                consent_method=second.consent_method, consent_on=second.consent_on)
    job = jobs.create_job("ledger_check", {"batch_id": checked.id}, manager)
    tender = w.contract.tender
    return {**ids, "values": {
        "contract_id": w.contract.id, "beneficiary_id": people["shared"].id, "activity_id": first.id,
        "evidence_id": first.evidence[0].id, "batch_id": bad.id, "job_id": job.id, "kind": "csv",
        "milestone_id": w.contract.milestones[0].id, "deliverable_id": 1, "tender_id": tender.id,
        "document_id": tender.documents[0].id, "bid_id": tender.bids[0].id if hasattr(tender, "bids") else 1,
        "plan_id": tender.plan_id, "need_id": 1, "user_id": manager.id, "area_id": w.communities[0].id,
        "org_id": w.org.id, "worker_id": w.worker.id, "locale": "en"},
        "batches": [bad.id, good.id, checked.id]}


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


# Pages of procurement, accounts and the area register never touch beneficiaries (the procurement
# secrecy tests walk those); everything else is walked.
NO_PEOPLE = ("/procurement", "/admin/users", "/account", "/login", "/needs", "/healthz", "/registry/areas",
             "/notices/tenders", "/contracts/milestone-row")


def _urls(app, built, prefixes=None) -> list[str]:
    urls = [u for u in every_get_url(app, built["values"]) if not u.startswith(NO_PEOPLE)]
    extra = [f"/imports/{b}" for b in built["batches"]] + [
        f"/beneficiaries/{i}" for i in built["people"].values()] + [
        f"/beneficiaries/{i}/edit" for i in built["people"].values()] + [
        "/beneficiaries?q=陈", "/audit?object_type=beneficiary", "/red-flags?state=all",
        f"/contracts/{built['contract']}/people?q=王", f"/contracts/{built['contract']}/people?q=陈",
        f"/contracts/{built['contract']}/imports/template.xlsx"]
    urls = sorted(set(urls + extra))
    if prefixes:
        urls = [u for u in urls if u.startswith(prefixes)]
    return urls


FRAGMENTS = ("/beneficiaries?", "/red-flags", "/jobs", "/audit?")   # pages that answer htmx with a fragment


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


# The administrator reads what auditors read (procurement.read and audit.read): the auditor stands for both.
@pytest.mark.parametrize("who", ["manager", "worker", "procurement", "auditor"])
def test_no_page_or_export_shows_a_full_number_or_phone(app, client, built, world, who):
    assert login(client, world.users[who]).status_code == 303
    secrets = _secrets()
    seen = {}

    for url in _urls(app, built):
        # Fragments too, where a page answers htmx with one.
        fragment = url.startswith(FRAGMENTS) or url in ("/beneficiaries", "/audit") or re.fullmatch(r"/contracts/\d+/services", url)
        for headers in ({}, {"HX-Request": "true"}) if fragment else ({},):
            response = client.get(url, headers=headers)
            assert response.status_code < 500, f"{who} GET {url}"
            body = response.get_data()
            text = readable_text(response)  # a report PDF or an audit package is read, not byte-scanned
            leaks = _leaks(text, secrets) + _leaks(body.decode("utf-16", "replace"), secrets)
            assert not leaks, f"{who} GET {url} {headers}: {leaks}"
            seen[url] = response.status_code

    # The walk did reach the pages that show people.
    person = f"/beneficiaries/{built['people']['shared']}"
    activity = f"/services/{built['values']['activity_id']}"
    assert seen["/beneficiaries"] == seen[person] == seen[activity] == 200
    if who == "auditor":
        assert seen["/audit/export.csv"] == 200


def test_the_pages_show_the_masked_forms(client, world, built):
    login(client, world.manager)
    elder = db.session.get(Beneficiary, built["people"]["elder"])

    listing = client.get("/beneficiaries").text
    page = client.get(f"/beneficiaries/{elder.id}").text

    for text in (listing, page):
        assert elder.id_number_masked in text and elder.phone_masked in text
    assert elder.id_number_masked == world.number("elder")[:3] + "*" * 11 + world.number("elder")[-4:]


def test_import_errors_name_numbers_masked(world, built):
    batch = db.session.get(ImportBatch, built["batches"][0])

    messages = " ".join(e["message"] for e in batch.errors)

    assert batch.error_count == 2
    assert UNREGISTERED[:3] + "*" * 11 + UNREGISTERED[-4:] in messages
    assert not _leaks(str(batch.errors) + str(batch.preview), _secrets())


def test_the_audit_export_carries_no_number_even_after_a_reveal(client, world, built):
    login(client, world.users["auditor"])

    export = client.get("/audit/export.csv").get_data().decode("utf-8")

    assert "beneficiary.identity_revealed" in export
    assert "beneficiary.updated" in export
    assert not _leaks(export, _secrets())


@pytest.mark.parametrize("who", ["other_manager", "other_worker", "expert", "evaluator", None])
def test_outsiders_see_no_names_of_the_organizations_people(app, client, built, world, who):
    if who:
        assert login(client, world.users[who]).status_code == 303
    own_names = sorted({v[0] for v in PEOPLE.values()} - {v[0] for v in OTHER_PEOPLE.values()} | {"赵德明"})

    for url in _urls(app, built, prefixes=("/beneficiaries", "/contracts", "/services", "/imports", "/jobs",
                                            "/notices", "/red-flags", "/registry/organizations", "/audit")) + ["/"]:
        if who in ("other_manager", "other_worker") and url.startswith(f"/contracts/{built['other_contract']}"):
            continue
        text = client.get(url).get_data().decode("utf-8", "replace")
        assert not _leaks(text, _secrets()), f"{who} GET {url}"
        assert not _leaks(text, own_names), f"{who} GET {url}: {_leaks(text, own_names)}"
