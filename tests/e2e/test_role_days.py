"""Each role's day, page by page: from the home page's work queues to the pages where the work is
done, at desktop and phone width, in both languages.

test_home_queues checks the home page itself; here the walk goes on. On the home page and on every
page its queues lead to (the first row of each queue, the auditor's risk links), at phone width
nothing scrolls sideways (wide tables scroll inside their own box) and every control in a form is
at least 44 px high; at both widths axe finds nothing serious or critical.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .helpers import REPORT, SCREENS, html_lang
from .test_accessibility import assert_no_serious_violations

pytestmark = pytest.mark.e2e

LANGS = {"zh_CN": "zh-CN", "en": "en"}
# The demo's people, one per role (see svcproc/demo); each has work waiting on the home page.
ROLES = ["procurement", "expert", "orgmanager", "socialworker", "evaluator", "admin", "auditor"]
# At most this many action pages per walk, so the run stays within a few minutes.
MAX_STOPS = 4
TOUCH_MIN_PX = 44
# What a thumb has to hit: the controls of a page's forms, its action bars and the home page's
# queues. A checkbox or radio button counts by its label (tapping the label ticks it).
TAPPABLE = ("main form button, main form input:not([type=hidden]), main form select, main form a.button, "
            "main form summary, main .actions a, main .actions button, main .queue-panel a")

PAGES_SEEN: set[tuple[str, str]] = set()


@pytest.fixture(scope="module", autouse=True)
def _report_pages_walked():
    yield
    REPORT.append(f"role days: {len(PAGES_SEEN)} distinct pages walked")


def _sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _small_targets(page) -> list[str]:
    """Visible form controls and action links shorter than the touch minimum, described."""
    return page.evaluate("""([selector, minimum]) => {
        const small = [];
        for (let el of document.querySelectorAll(selector)) {
            if (el.type === 'checkbox' || el.type === 'radio') {
                el = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)) || el;
            }
            const box = el.getBoundingClientRect();
            if (!box.width || !box.height) continue;            // hidden (folded, display: none)
            if (getComputedStyle(el).visibility === 'hidden') continue;
            if (box.height + 0.5 < minimum) {
                const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40);
                small.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className.split(' ').join('.') : ''}`
                           + ` "${text}" ${Math.round(box.height)}px`);
            }
        }
        return small;
    }""", [TAPPABLE, TOUCH_MIN_PX])


def _tables_spilling(page) -> list[str]:
    """Tables wider than the screen that no box of their own scrolls (they would be cut off)."""
    return page.evaluate("""() => [...document.querySelectorAll('main table')].filter(table => {
        if (table.getBoundingClientRect().right <= document.documentElement.clientWidth) return false;
        for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) return false;
        }
        return true;
    }).map(table => table.id || table.className || table.querySelector('th')?.innerText || 'table')""")


def _check(page, screen: str, where: str) -> None:
    if screen == "phone":
        overflow = _sideways_overflow(page)
        assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow}px"
        spilling = _tables_spilling(page)
        assert not spilling, f"{where}: tables wider than the screen outside a scrolling box: {spilling}"
        small = _small_targets(page)
        assert not small, f"{where}: controls under {TOUCH_MIN_PX}px high: {small}"
    assert_no_serious_violations(page, where)


def _stops(page) -> list[str]:
    """Where the home page sends the person: the first row of each queue, the risk links."""
    hrefs = page.evaluate("""() => [
        ...[...document.querySelectorAll('.queue-rows')].map(list => list.querySelector('a')),
        ...document.querySelectorAll('.chart-links a, .risk-figures a'),
    ].filter(Boolean).map(a => a.getAttribute('href'))""")
    seen, stops = set(), []
    for href in hrefs:
        path = urlsplit(href).path
        if path not in seen:
            seen.add(path)
            stops.append(href)
    return stops[:MAX_STOPS]


@pytest.mark.parametrize("lang", list(LANGS))
@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("who", ROLES)
def test_a_roles_day_from_the_home_page(role_pages, who, screen, lang):
    page = role_pages(who, screen, lang)

    page.goto("/")
    assert html_lang(page) == LANGS[lang]
    _check(page, screen, f"{who}'s home ({screen}, {lang})")
    stops = _stops(page)
    assert stops, f"{who}: the home page leads nowhere"

    for href in stops:
        response = page.goto(href)
        assert response is not None and response.status == 200, f"{who}: {href} answered {response and response.status}"
        PAGES_SEEN.add((who, urlsplit(href).path))
        _check(page, screen, f"{href} as {who} ({screen}, {lang})")


PDF = b"%PDF-1.4\n% svcproc e2e role day\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.parametrize("lang", list(LANGS))
def test_a_refused_bid_on_a_phone_keeps_the_price_and_the_file(role_pages, live_server, lang):
    """orgmanager4 has not bid in the open tender: a bid sent without the declaration comes back
    with the price filled in and the attached file held; ticking the declaration is all that is left
    to do. The bid is withdrawn again so the tender looks as the demo left it."""
    page = role_pages("orgmanager4", "phone", lang)
    tender_id = live_server.ids["tender_open"]
    page.goto(f"/procurement/tenders/{tender_id}/bid")
    form = page.locator("main form")
    form.locator("#price").fill("296000")
    form.locator("#documents").set_input_files(files=[{"name": "投标文件-手机.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])
    with page.expect_navigation() as refused:
        form.locator("button[type=submit]").tap()

    assert refused.value.status == 422
    assert form.locator("#price").input_value() == "296000"
    held = page.locator("#held-files")
    assert held.is_visible() and "投标文件-手机.pdf" in held.inner_text()
    assert form.locator("#declaration_accepted-err").is_visible()
    _check(page, "phone", f"the refused bid form ({lang})")

    form.locator("#declaration_accepted").tap()
    with page.expect_navigation():
        form.locator("button[type=submit]").tap()
    assert "/receipt" in page.url, f"the bid was not accepted: {page.url}"
    assert "投标文件-手机.pdf" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.locator('main form[action$="/withdraw"] button').tap()
    assert page.url.endswith(f"/procurement/tenders/{tender_id}")
