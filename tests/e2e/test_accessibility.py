"""axe-core on every page built so far, in both languages: no serious or critical violation.

Moderate and minor findings don't fail the run; they are listed under "e2e timings" at the end.
"""
from __future__ import annotations

from collections import Counter

import pytest

from .helpers import AXE_JS, DEFAULT_TIMEOUT_MS, REPORT, html_lang, login

pytestmark = pytest.mark.e2e

FAILING_IMPACTS = {"serious", "critical"}
LANGS = {"zh_CN": "zh-CN", "en": "en"}

# (who, path); {org}, {worker}, {user} are demo ids filled in by the live server fixture.
PAGES = [
    ("anonymous", "/"),
    ("anonymous", "/login"),
    ("anonymous", "/no-such-page"),
    ("admin", "/"),
    ("admin", "/registry/areas"),
    ("admin", "/registry/areas/new"),
    ("admin", "/registry/organizations"),
    ("admin", "/registry/organizations/{org}"),
    ("admin", "/registry/organizations/{org}/edit"),
    ("admin", "/registry/organizations/new"),
    ("admin", "/registry/workers"),
    ("admin", "/registry/workers/new"),
    ("admin", "/registry/workers/{worker}/edit"),
    ("admin", "/admin/users"),
    ("admin", "/admin/users/new"),
    ("admin", "/admin/users/{user}/edit"),
    ("admin", "/audit"),
    ("admin", "/account/password"),
    ("admin", "/registry/organizations/999999"),
    # An organization manager sees their own organization's page without the bureau's controls.
    ("orgmanager", "/registry/organizations/{org}"),
]

MINOR_FINDINGS: Counter = Counter()


@pytest.fixture(scope="module")
def axe_page(chromium_browser, live_server):
    """One page per (language, person), logged in once and shared by the module's tests."""
    pages, contexts = {}, []

    def get(lang: str, who: str):
        if (lang, who) not in pages:
            context = chromium_browser.new_context(base_url=live_server.url, bypass_csp=True)
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            contexts.append(context)
            # The cookie, not the switch, so no account's saved language changes.
            context.add_cookies([{"name": "svcproc_lang", "value": lang, "url": live_server.url}])
            page = context.new_page()
            if who != "anonymous":
                login(page, who)
            pages[lang, who] = page
        return pages[lang, who]

    yield get
    for context in contexts:
        context.close()
    if MINOR_FINDINGS:
        REPORT.append("axe moderate/minor findings (not failing): "
                      + ", ".join(f"{rule} ×{n}" for rule, n in MINOR_FINDINGS.most_common()))


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), impact: n.impact,
                                      summary: n.failureSummary})),
        }));
    }""")


def assert_no_serious_violations(page, where: str) -> None:
    violations = run_axe(page)
    serious = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    for v in violations:
        if v["impact"] not in FAILING_IMPACTS:
            MINOR_FINDINGS[f"{v['id']} ({v['impact']})"] += len(v["nodes"])
    if serious:
        lines = [f"{len(serious)} serious/critical axe violation(s) on {where}:"]
        for v in serious:
            lines.append(f"- {v['id']} [{v['impact']}] {v['help']}")
            for node in v["nodes"]:
                # failureSummary is "Fix any of the following:" then one check per line.
                checks = [c.strip() for c in (node["summary"] or "").splitlines()[1:] if c.strip()]
                lines.append(f"    {node['target']}: {'; '.join(checks)}")
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.mark.parametrize("lang", list(LANGS))
@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who}:{path}" for who, path in PAGES])
def test_page_has_no_serious_accessibility_violations(axe_page, live_server, lang, who, path):
    page = axe_page(lang, who)
    ids = live_server.ids
    url = path.format(org=ids["org_yangguang"], worker=ids["worker"], user=ids["user_orgmanager"])

    page.goto(url)

    assert html_lang(page) == LANGS[lang]
    assert_no_serious_violations(page, f"{url} ({lang}, {who})")


@pytest.mark.parametrize("lang", list(LANGS))
def test_form_errors_have_no_serious_accessibility_violations(axe_page, live_server, lang):
    """The states a person meets after a mistake: a refused login, a status form swapped in by htmx."""
    page = axe_page(lang, "anonymous")
    page.goto("/login")
    page.locator("main form [name=username]").fill("nobody")
    page.locator("main form [name=password]").fill("wrong-password-1")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main .flash-error").count() == 1
    assert_no_serious_violations(page, f"/login after a refused login ({lang})")

    page = axe_page(lang, "admin")
    page.goto(f"/registry/organizations/{live_server.ids['org_yangguang']}")
    page.wait_for_function("typeof window.htmx === 'object'")
    page.locator("#status-form select[name=status]").select_option("suspended")
    with page.expect_response(lambda r: r.url.endswith("/status")):
        page.locator("#status-form button[type=submit]").click()
    page.locator("#reason-err").wait_for()
    assert_no_serious_violations(page, f"organization page with the status error swapped in ({lang})")
