"""A resident raises a need without an account, keeps the receipt code and follows the need with it,
from another browser too, until the bureau's answer shows."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import login

pytestmark = pytest.mark.e2e

DESCRIPTION = "锦里社区双职工家庭较多，孩子放学后无人看护，希望开设四点半课堂和暑期托管。"
PHONE = "13900007777"
CODE = re.compile(r"^[A-Z0-9]{6,16}$")


def _english_page(new_browser_context, live_server):
    context = new_browser_context()
    context.add_cookies([{"name": "svcproc_lang", "value": "en", "url": live_server.url}])
    return context.new_page()


def test_a_resident_submits_a_need_and_follows_it_with_the_receipt_code(new_browser_context, live_server):
    page = _english_page(new_browser_context, live_server)
    page.goto("/")
    with page.expect_navigation():
        page.locator('footer a[href="/needs/new"]').click()
    form = page.locator("main form[method=post]")

    # Sent empty: the form comes back with what is missing, nothing is stored.
    with page.expect_navigation() as refused:
        form.get_by_role("button", name="Submit the need").click()
    assert refused.value.status == 422
    expect(form.locator("#description")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#description-err")).not_to_be_empty()

    community = form.locator("#community_id")
    value = community.locator("option", has_text="锦里社区").get_attribute("value")
    community.select_option(value)
    form.locator("#category").select_option("children")
    form.locator("#description").fill(DESCRIPTION)
    form.locator("#contact_name").fill("张女士")
    form.locator("#contact_phone").fill(PHONE)
    with page.expect_navigation():
        form.get_by_role("button", name="Submit the need").click()

    assert "/needs/track?code=" in page.url
    code = page.url.rsplit("=", 1)[1]
    assert CODE.match(code), code
    expect(page.locator("#flashes .flash-success")).to_contain_text(code)
    facts = page.locator("main dl.facts")
    expect(facts.locator("code")).to_have_text(code)
    expect(facts).to_contain_text("锦里社区")
    expect(facts).to_contain_text("Received")
    # The contact details are for the bureau only, never on the public page.
    assert PHONE not in page.content() and "张女士" not in page.content()

    # Another browser, later: typing the code (in lower case) finds the same need.
    other = _english_page(new_browser_context, live_server)
    other.goto("/needs/track")
    other.locator("#code").fill(code.lower())
    with other.expect_navigation():
        other.get_by_role("button", name="Look up").click()
    expect(other.locator("main dl.facts code")).to_have_text(code)
    expect(other.locator("main dl.facts")).to_contain_text("Received")
    # A wrong code says so.
    other.locator("#code").fill("NOSUCHCODE")
    with other.expect_navigation() as missing:
        other.get_by_role("button", name="Look up").click()
    assert missing.value.status == 404
    expect(other.locator("main [role=alert]")).to_contain_text("No need has this receipt code")

    # The bureau finds it by its code and answers it; the resident's page shows the answer.
    staff = _english_page(new_browser_context, live_server)
    login(staff, "procurement")
    staff.goto("/procurement/needs")
    staff.wait_for_function("typeof window.htmx === 'object'")
    staff.locator("#q").fill(code)
    rows = staff.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    with staff.expect_navigation():
        rows.first.locator("a").first.click()
    expect(staff.locator("main dl.facts")).to_contain_text(PHONE)
    staff.locator("#address-note").fill("社区已联合锦里小学开设四点半课堂，每周一至周五16:30—18:00。")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Mark addressed").click()
    expect(staff.locator("#flashes .flash-success")).to_contain_text(code)

    other.goto(f"/needs/track?code={code}")
    facts = other.locator("main dl.facts")
    expect(facts).to_contain_text("Addressed")
    expect(facts).to_contain_text("四点半课堂")
