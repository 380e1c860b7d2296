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
    users_link = menu.locator('a[href="/admin/users"]')
    assert menu.get_attribute("open") is None, "the menu should start folded on a phone"
    assert not users_link.is_visible()

    menu.locator("summary").tap()

    assert menu.get_attribute("open") is not None
    assert users_link.is_visible()
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
