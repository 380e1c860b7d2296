"""Lists narrow as you type or choose a filter, without a page load, and the address follows."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .helpers import REPORT, login

pytestmark = pytest.mark.e2e

ORGS = "/registry/organizations"
ALL_ORGS = 7          # six service organizations and the evaluation centre
SUSPENDED_ORGS = 1    # 和谐家园, suspended in the demo


def _wait_for_param(page, name: str, value: str) -> None:
    """Until the address bar's query has name=value (an absent parameter counts as empty)."""
    page.wait_for_function(
        "([name, value]) => (new URL(location.href).searchParams.get(name) || '') === value", arg=[name, value])


def _mark_document(page) -> None:
    """A flag on window that a full page load would wipe."""
    page.evaluate("window.__e2eSameDocument = true")


def _same_document(page) -> bool:
    return page.evaluate("window.__e2eSameDocument === true")


def _interactive_timing(page) -> dict:
    """Navigation timing plus where htmx came from, in ms since the navigation started."""
    return page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const scripts = [...document.scripts].map(s => s.src).filter(s => s.includes('htmx'));
        return {
            domInteractive: Math.round(nav.domInteractive),
            domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
            load: Math.round(nav.loadEventEnd),
            htmx: typeof window.htmx === 'object' && window.htmx !== null,
            htmxVersion: window.htmx ? window.htmx.version : null,
            fromFallback: scripts.some(s => s.includes('/static/vendor/htmx.min.js')),
            scripts: scripts,
        };
    }""")


def _open_orgs(page, path: str = ORGS) -> dict:
    started = time.monotonic()
    page.goto(path, wait_until="domcontentloaded")
    page.wait_for_function("typeof window.htmx === 'object'")
    timing = _interactive_timing(page)
    timing["wall"] = round((time.monotonic() - started) * 1000)
    return timing


def test_htmx_is_loaded_and_page_becomes_interactive_quickly(browser_page, live_server):
    """The page is usable at once with the CDN refused (as every browser test refuses it, see
    `set_up_context`): htmx comes from the local copy and nothing waits on the CDN."""
    page = browser_page
    login(page, "admin")
    failed = []
    page.on("requestfailed", lambda r: failed.append((r.url, r.failure)))

    timing = _open_orgs(page)

    assert timing["htmx"], "window.htmx is not defined: neither the CDN nor the local copy loaded"
    cdn = live_server.app.config.get("HTMX_CDN_URL") or ""
    cdn_failures = [f for f in failed if cdn and f[0] == cdn]
    source = "local fallback" if timing["fromFallback"] else "CDN"
    REPORT.append(
        f"{ORGS}: htmx {timing['htmxVersion']} from the {source}"
        f"{' (CDN request failed: ' + str(cdn_failures[0][1]) + ')' if cdn_failures else ''}; "
        f"DOM interactive {timing['domInteractive']} ms, DOMContentLoaded {timing['domContentLoaded']} ms, "
        f"htmx ready {timing['wall']} ms after goto"
    )
    assert cdn_failures or not cdn, f"the CDN's htmx was not asked for and refused: {failed}"
    assert timing["fromFallback"] == bool(cdn), timing
    # Not a benchmark: a page that needs seconds to become usable means the fallback waited on the CDN.
    assert timing["wall"] < 5000, f"the page took {timing['wall']} ms to become interactive: {timing}"


def test_local_htmx_copy_is_used_when_the_cdn_is_unreachable(browser_page, live_server):
    """Whatever this machine's network does, a refused CDN request must fall back to /static/vendor."""
    page = browser_page
    cdn = live_server.app.config.get("HTMX_CDN_URL")
    if not cdn:
        pytest.skip("HTMX_CDN_URL is empty: pages load the local copy directly")
    page.route(cdn, lambda route: route.abort("connectionrefused"))
    login(page, "admin")

    timing = _open_orgs(page)

    assert timing["htmx"] and timing["fromFallback"], timing
    REPORT.append(f"{ORGS} with the CDN refused outright: DOMContentLoaded {timing['domContentLoaded']} ms, "
                  f"htmx ready {timing['wall']} ms after goto")


def test_typing_in_the_search_box_narrows_the_table_without_reloading(browser_page):
    page = browser_page
    login(page, "admin")
    _open_orgs(page)
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(ALL_ORGS)
    _mark_document(page)

    page.locator("#q").press_sequentially("阳光", delay=50)

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("阳光社会工作服务中心")
    _wait_for_param(page, "q", "阳光")
    assert _same_document(page), "the search reloaded the page instead of swapping the table"
    assert page.locator("#q").evaluate("el => el === document.activeElement"), "focus left the search box"

    # The pushed address is a real page: opening it shows the same narrowed list.
    page.reload()
    expect(rows).to_have_count(1)
    assert page.locator("#q").input_value() == "阳光"


def test_choosing_a_status_filter_narrows_the_table_without_reloading(browser_page):
    page = browser_page
    login(page, "admin")
    _open_orgs(page)
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(ALL_ORGS)
    _mark_document(page)

    page.locator("#f-status").select_option("suspended")

    expect(rows).to_have_count(SUSPENDED_ORGS)
    expect(rows.first).to_contain_text("和谐家园")
    _wait_for_param(page, "status", "suspended")
    assert _same_document(page)

    page.locator("#f-status").select_option("")
    expect(rows).to_have_count(ALL_ORGS)
    _wait_for_param(page, "status", "")
    assert _same_document(page)


def test_choosing_a_community_on_the_plan_form_lists_its_waiting_needs_in_place(browser_page, live_server):
    """The plan form offers the waiting needs of the communities it serves: ticking one lists them
    under the form without a page load, nothing saved, the entries kept."""
    import sqlalchemy as sa

    from svcproc.extensions import db
    from svcproc.registry.models import Area

    with live_server.app.app_context():
        community = db.session.execute(sa.select(Area.name).where(Area.code == "510107002003")).scalar_one()
    page = browser_page
    login(page, "procurement")
    page.goto("/procurement/plans/new")
    page.wait_for_function("typeof window.htmx === 'object'")
    _mark_document(page)
    form = page.locator("main form.wide-form")
    form.locator("#title").fill("喘息服务试点项目")
    needs = form.locator("#plan-needs")
    expect(needs).not_to_contain_text("喘息服务")

    form.get_by_label(community, exact=True).check()

    expect(needs).to_contain_text("希望有喘息服务")
    assert _same_document(page)
    expect(form.locator("#title")).to_have_value("喘息服务试点项目")
    assert form.locator("button[type=submit]").count() == 1
