"""On a phone (390×844): the folded menu opens, and wide tables scroll inside their box, not the page."""
from __future__ import annotations

import pytest

from .helpers import login

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}


@pytest.fixture
def phone_page(new_browser_context):
    return new_browser_context(**PHONE).new_page()


def _page_overflow(page) -> int:
    """How many CSS pixels the document is wider than the screen (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_menu_starts_folded_and_opens(phone_page):
    page = phone_page
    login(page, "admin")
    menu = page.locator("nav.main-nav details.nav-menu")
    registry = menu.locator("details.menu-stage", has=page.locator('a[href="/admin/users"]'))
    users_link = menu.locator('a[href="/admin/users"]')
    assert menu.get_attribute("open") is None, "the menu should start folded on a phone"
    assert not users_link.is_visible()

    menu.locator(":scope > summary").tap()
    registry.locator(":scope > summary").tap()

    assert menu.get_attribute("open") is not None
    assert users_link.is_visible()
    assert page.locator("nav.main-nav .account button[type=submit]").is_visible(), "the open menu hides logging out"
    with page.expect_navigation():
        menu.locator('a[href="/registry/organizations"]').tap()
    assert page.url.endswith("/registry/organizations")
    assert _page_overflow(page) <= 0


def test_organizations_table_scrolls_inside_its_box(phone_page):
    page = phone_page
    login(page, "admin")
    page.goto("/registry/organizations")
    wrap = page.locator("#results .table-wrap")

    assert _page_overflow(page) <= 0, "the page itself scrolls sideways"
    sizes = wrap.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth})")
    assert sizes["scroll"] > sizes["client"], f"the table fits; nothing to scroll: {sizes}"
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert wrap.evaluate("el => el.scrollLeft") > 0, "the table box does not scroll"
    assert page.evaluate("window.scrollX") == 0
    # The first column (the link to each organization) stays reachable on screen.
    wrap.evaluate("el => { el.scrollLeft = 0; }")
    first_link = wrap.locator("tbody tr a").first
    box = first_link.bounding_box()
    assert box is not None and 0 <= box["x"] < 390


PDF = b"%PDF-1.4\n% svcproc e2e phone\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_an_organization_manager_bids_from_a_phone(phone_page, live_server):
    """orgmanager4's organization has not bid in the demo's open tender: it bids, then withdraws
    again so the open tender looks as the demo left it (but for the withdrawn bid)."""
    page = phone_page
    tender_id = live_server.ids["tender_open"]
    login(page, "orgmanager4")
    page.goto(f"/procurement/tenders/{tender_id}")
    assert _page_overflow(page) <= 0, "the tender page scrolls sideways"
    with page.expect_navigation():
        page.locator(f'main a.button[href$="/tenders/{tender_id}/bid"]').tap()
    assert _page_overflow(page) <= 0, "the bid form scrolls sideways"

    form = page.locator("main form")
    form.locator("#price").tap()
    form.locator("#price").fill("296000")
    form.locator("#documents").set_input_files(files=[{"name": "投标文件-手机.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])
    form.locator("#declaration_accepted").tap()
    assert form.locator("#declaration_accepted").is_checked()
    submit = form.locator("button[type=submit]")
    box = submit.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390, box
    with page.expect_navigation():
        submit.tap()

    assert "/receipt" in page.url, f"the bid was not accepted: {page.url}"
    digest = page.locator("code.digest")
    assert len(digest.inner_text().strip()) == 64
    assert page.locator("dl.facts").inner_text().count("296,000.00") == 1
    assert _page_overflow(page) <= 0, "the receipt (with its SHA-256 digests) scrolls sideways"

    with page.expect_navigation():
        page.locator('main form[action$="/withdraw"] button').tap()
    assert page.url.endswith(f"/procurement/tenders/{tender_id}")
    assert page.locator(f'main a.button[href$="/tenders/{tender_id}/bid"]').count() == 1


def test_an_expert_declares_and_scores_on_a_phone(phone_page, live_server):
    """expert3 sits on the opened tender's panel (see conftest) and has not declared yet."""
    page = phone_page
    tender_id = live_server.ids["tender_opened"]
    login(page, "expert3")
    page.goto(f"/procurement/tenders/{tender_id}")
    assert _page_overflow(page) <= 0, "the tender page scrolls sideways"
    with page.expect_navigation():
        page.locator(f'main a.button[href$="/tenders/{tender_id}/declare"]').tap()
    assert _page_overflow(page) <= 0, "the declaration page scrolls sideways"
    page.locator("main form #confirm").tap()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    assert page.url.endswith(f"/tenders/{tender_id}/score")
    page.wait_for_function("typeof window.htmx === 'object'")
    assert _page_overflow(page) <= 0, "the scoring page scrolls sideways"

    card = page.locator("section.bid-card").first
    total_id = card.locator("strong[id^=total-]").get_attribute("id")
    cells = card.locator("form.score-cell")
    given = 0
    for n in range(cells.count()):
        cell_id = cells.nth(n).get_attribute("id")
        points = page.locator(f"#{cell_id}-p")
        box = points.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, f"{cell_id} is off screen: {box}"
        points.tap()
        points.fill("8")
        _prefix, bid, criterion = cell_id.split("-")
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/score/{bid}/{criterion}")):
            page.locator(f"#{cell_id}-c").tap()  # tapping the comment field leaves the points: htmx saves
        given += 8
        page.wait_for_function("([id, value]) => Number(document.getElementById(id).textContent) === value",
                               arg=[total_id, given])
    assert _page_overflow(page) <= 0, "the scoring page scrolls sideways after the swaps"
    # The count of scores still to give stays in view while scrolling (sticky).
    assert page.locator("#missing").is_visible()
