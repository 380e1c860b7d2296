"""Service logs on a phone (390×844): a social worker records a group session, and an organization's
manager reads one identity number in full.

The social worker (demo user `socialworker`, 周婷, assigned to the demo's contract in progress of
her organization) creates a group, fills the entry form by tapping, finds two participants by
typing their names (the htmx picker; a tapped result becomes a chip), adds a third person to the
register from the form ("Add someone new to the register"), and saves; the entry heads the service
log and its page lists the three people. The manager's register shows identity numbers masked; the
"show in full" button swaps the number in with htmx, and the audit trail records the reading.
No page scrolls sideways. Pages are in English (the language cookie).
"""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .helpers import REPORT, login

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}
MASKED = re.compile(r"^\d{3}\*{11}[\dX]{4}$")
FULL_NUMBER = re.compile(r"\b\d{17}[\dX]\b")
NEWCOMER = "黎淑芬"  # not in the demo's registers (its surnames list has no 黎)


@pytest.fixture
def phone_page(new_browser_context, live_server):
    context = new_browser_context(**PHONE)
    context.add_cookies([{"name": "svcproc_lang", "value": "en", "url": live_server.url}])
    return context.new_page()


def _page_overflow(page) -> int:
    """How many CSS pixels the document is wider than the screen (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _fits(page, what: str) -> None:
    assert _page_overflow(page) <= 0, f"{what} scrolls sideways on a phone"


def _tap(page, locator) -> None:
    with page.expect_navigation():
        locator.tap()


def _register(live_server, contract_id: int) -> dict:
    """From the contract's organization's register: two people whose names nobody else there
    has (so typing the name finds one), and an identity number nobody there has, for the newcomer."""
    from svcproc.contracts.models import Contract
    from svcproc.delivery import identity
    from svcproc.delivery.models import Beneficiary

    with live_server.db_session() as session:
        org_id = session.get(Contract, contract_id).organization_id
        unique = session.execute(
            sa.select(Beneficiary.name).where(Beneficiary.organization_id == org_id)
            .group_by(Beneficiary.name).having(sa.func.count() == 1).order_by(Beneficiary.name).limit(2)).scalars().all()
        taken = set(session.execute(sa.select(Beneficiary.id_match_key).where(
            Beneficiary.organization_id == org_id)).scalars())
        number = next(n for n in (identity.make(f"51010719460823{seq:03d}") for seq in range(900, 1000))
                      if identity.match_key(n) not in taken)
    return {"names": unique, "number": number}


def _pick(page, contract_id: int, name: str) -> None:
    """Type the name into the picker and tap the person it finds: a chip joins the chosen."""
    search = page.locator("#people-q")
    search.tap()
    with page.expect_response(lambda r: f"/contracts/{contract_id}/people?" in r.url and "q=" in r.url):
        search.fill(name)
    result = page.locator("#people-results button", has_text=name)
    expect(result).to_have_count(1)
    with page.expect_response(lambda r: "/chip" in r.url):
        result.tap()
    expect(page.locator("#chosen .chip", has_text=name)).to_have_count(1)


def test_a_social_worker_records_a_group_session_on_a_phone(phone_page, live_server):
    started = time.monotonic()
    page = phone_page
    contract_id = live_server.ids["contract_running"]
    register = _register(live_server, contract_id)
    assert len(register["names"]) == 2
    group = f"长者健康互助小组{int(time.time()) % 100000}"
    topic = "慢病自我管理：合理用药"

    login(page, "socialworker")
    page.goto("/contracts")
    _fits(page, "the contracts list")
    _tap(page, page.locator(f'#results a[href="/contracts/{contract_id}"]'))
    _fits(page, "the contract page")
    _tap(page, page.get_by_role("link", name="Service log"))
    _tap(page, page.get_by_role("link", name="Record a service"))
    assert page.url.endswith(f"/contracts/{contract_id}/services/new")
    _fits(page, "the entry form")

    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")

    form = page.locator("#activity-form")
    form.get_by_label("Kind of service").select_option("group_session")
    form.get_by_label("From", exact=True).fill("09:30")
    form.get_by_label("To", exact=True).fill("11:00")
    form.locator("#community_id").select_option(label="玉林北路社区")  # (the quick-add panel has its own)
    form.get_by_label("Place").fill("玉林北路社区活动室")
    expect(form.get_by_role("checkbox", name="周婷")).to_be_checked()  # she is the one recording

    # A new group for the session, created inside the entry: chosen at once, nothing typed is lost.
    new_group = form.locator("#new-group")
    new_group.locator("summary").tap()
    new_group.get_by_label("Group name").fill(group)
    with page.expect_response(lambda r: r.url.endswith(f"/contracts/{contract_id}/groups")) as created:
        new_group.get_by_role("button", name="Create and choose").tap()
    assert created.value.status == 200
    expect(form.locator("#group_id option:checked")).to_have_text(group)
    expect(form.get_by_label("Place")).to_have_value("玉林北路社区活动室")
    expect(form.get_by_label("From", exact=True)).to_have_value("09:30")
    assert page.evaluate("window.__e2eSameDocument === true"), "creating a group reloaded the page"

    for name in register["names"]:
        _pick(page, contract_id, name)
    # Picked twice stays once.
    _pick(page, contract_id, register["names"][0])

    quick = form.locator("details.quick-add:has(#quick-add)")
    quick.locator("summary").tap()
    quick.get_by_label("Full name").fill(NEWCOMER)
    quick.get_by_label("Gender").select_option("female")
    quick.get_by_label("Identity number").fill(register["number"])
    quick.get_by_label("Community").select_option(label="玉林北路社区")
    quick.get_by_label("Phone").fill("13912345678")
    quick.get_by_label("Consent given by").select_option("self")
    quick.get_by_label("How consent was given").select_option("written")
    # The number and phone are sensitive: the separate consent is a deliberate tick, with its purpose and date.
    quick.get_by_label("separately consented").check()
    quick.get_by_label("Purpose of the sensitive data").fill("核实身份并电话回访")
    quick.get_by_label("Date of the separate consent").fill(quick.get_by_label("Consent date").input_value())
    with page.expect_response(lambda r: r.url.endswith(f"/contracts/{contract_id}/people/quick")) as added:
        quick.get_by_role("button", name="Add and pick").tap()
    assert added.value.status == 200
    expect(page.locator("#chosen .chip[data-added]", has_text=NEWCOMER)).to_have_count(1)
    expect(page.locator("#chosen .chip")).to_have_count(3)
    assert page.evaluate("window.__e2eSameDocument === true"), "picking people reloaded the page"
    _fits(page, "the entry form with its chips")

    form.get_by_label("Session number").fill("1")
    form.get_by_label("Topic").fill(topic)
    save = form.get_by_role("button", name="Save", exact=True)
    box = save.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390, box
    _tap(page, save)

    assert page.url.endswith(f"/contracts/{contract_id}/services"), page.url
    expect(page.locator("#flashes .flash-success")).to_have_text("Service recorded.")
    _fits(page, "the service log")
    entry = page.locator("#results tbody tr").first  # the newest entry heads the log
    expect(entry).to_contain_text(f"Group session · {group} #1")
    expect(entry.locator("td.num").first).to_have_text("3")  # person-times
    expect(entry).to_contain_text("09:30–11:00")
    _tap(page, entry.locator("a").first)

    _fits(page, "the entry's page")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"{group} · session 1")
    expect(facts).to_contain_text("09:30–11:00 · 1.5 hours")
    expect(facts).to_contain_text("周婷")
    for name in [*register["names"], NEWCOMER]:
        expect(facts.get_by_role("link", name=name, exact=True)).to_have_count(1)
    expect(facts).to_contain_text(topic)
    REPORT.append(f"group session recorded on a phone: {time.monotonic() - started:.1f}s")


def test_the_manager_reads_one_identity_number_in_full(phone_page, live_server):
    from svcproc.audit.models import AuditEvent
    from svcproc.delivery import identity
    from svcproc.delivery.models import Beneficiary

    page = phone_page
    person_id = live_server.ids["beneficiary"]
    with live_server.db_session() as session:
        person = session.get(Beneficiary, person_id)
        name, number = person.name, identity.unseal_number(person.id_number_sealed)
        readings = session.execute(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "beneficiary.identity_revealed", AuditEvent.object_id == str(person_id))).scalar_one()

    login(page, "orgmanager")
    page.goto("/beneficiaries")
    _fits(page, "the register")
    codes = page.locator("#results tbody td code")
    assert codes.count() > 10
    shown = codes.all_inner_texts()
    assert all(MASKED.match(text) for text in shown if text), shown
    assert not FULL_NUMBER.search(page.content()), "the register shows a full identity number"

    page.wait_for_function("typeof window.htmx === 'object'")
    with page.expect_response(lambda r: "/beneficiaries?" in r.url and "q=" in r.url):
        page.get_by_label("Search").fill(name)
    # (Leaving the search box makes htmx search once more and push the URL: wait for the page itself.)
    with page.expect_navigation(url=f"**/beneficiaries/{person_id}"):
        page.locator(f'#results a[href="/beneficiaries/{person_id}"]').tap()
    _fits(page, "a beneficiary's page")
    revealed = page.locator("#revealed")
    expect(revealed).to_contain_text(identity.mask(number))
    assert number not in page.content()
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")
    with page.expect_response(lambda r: r.url.endswith(f"/beneficiaries/{person_id}/reveal")) as answer:
        page.get_by_role("button", name="Show in full (recorded in the audit trail)").tap()
    assert answer.value.status == 200
    assert answer.value.headers.get("cache-control") == "no-store"
    expect(revealed.locator("code")).to_have_text(number)
    expect(revealed).to_contain_text("recorded in the audit trail")
    assert page.evaluate("window.__e2eSameDocument === true"), "revealing reloaded the page"
    _fits(page, "a beneficiary's page with the number shown")
    with live_server.db_session() as session:
        after = session.execute(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "beneficiary.identity_revealed", AuditEvent.object_id == str(person_id))).scalar_one()
    assert after == readings + 1

    # Back on the register (and on the page again): masked as before.
    page.goto("/beneficiaries?q=" + name)
    expect(page.locator(f'#results a[href="/beneficiaries/{person_id}"]')).to_have_count(1)
    assert not FULL_NUMBER.search(page.content())
    page.goto(f"/beneficiaries/{person_id}")
    expect(page.locator("#revealed code")).to_have_text(identity.mask(number))
