"""Each role's day starts on its home page: at desktop and phone width, in both languages, the work
queue (the auditor's risk overview) comes first, the page does not scroll sideways, the first row's
link opens the page where the work is done, and axe finds nothing serious."""
from __future__ import annotations

import pytest

from .test_accessibility import FAILING_IMPACTS, assert_no_serious_violations

pytestmark = pytest.mark.e2e

LANGS = ("zh_CN", "en")

# Who, and what their home page must offer (a CSS selector inside the panels).
ROLES = {
    "procurement": "#panel-procurement-h",
    "expert": "#queue-declare-h",
    "orgmanager": "#panel-bids-h",
    "socialworker": "#queue-record-h",
    "evaluator": "#panel-rounds-h",
    "admin": "#panel-templates-h",
    "auditor": "#panel-risk-h",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize("who", list(ROLES))
def test_the_home_page_opens_on_the_persons_queue(role_pages, who, screen, lang):
    page = role_pages(who, screen, lang)

    page.goto("/")

    panel = page.locator(ROLES[who])
    assert panel.count() == 1, f"{who}: {ROLES[who]} missing from the home page"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{who} ({screen}): the page scrolls sideways by {overflow}px"
    assert_no_serious_violations(page, f"{who}'s home ({screen}, {lang})")
    first = page.locator(".queue-rows a, .chart-links a").first
    if first.count():
        href = first.get_attribute("href")
        response = page.goto(href)
        assert response is not None and response.status == 200, f"{who}: {href} answered {response and response.status}"
