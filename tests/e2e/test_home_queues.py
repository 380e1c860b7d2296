"""Each role's day starts on its home page: at desktop and phone width, in both languages, the work
queue (the auditor's risk overview) comes first, the page does not scroll sideways, the first row's
link opens the page where the work is done, and axe finds nothing serious."""
from __future__ import annotations

import pytest

from .helpers import AXE_JS, login
from .test_accessibility import FAILING_IMPACTS, assert_no_serious_violations

pytestmark = pytest.mark.e2e

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
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


@pytest.fixture(scope="module")
def role_pages(chromium_browser, live_server):
    """One logged-in page per (person, screen), shared by the module's tests."""
    pages, contexts = {}, []

    def get(who: str, screen: str, lang: str):
        key = (who, screen)
        if key not in pages:
            context = chromium_browser.new_context(base_url=live_server.url, bypass_csp=True,
                                                   **(PHONE if screen == "phone" else DESKTOP))
            context.add_init_script(path=str(AXE_JS))
            contexts.append(context)
            page = context.new_page()
            login(page, who)
            pages[key] = page
        pages[key].context.add_cookies([{"name": "svcproc_lang", "value": lang, "url": live_server.url}])
        return pages[key]

    yield get
    for context in contexts:
        context.close()


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
