"""axe-core on every page built so far, in both languages: no serious or critical violation.

Moderate and minor findings don't fail the run; they are listed under "e2e timings" at the end.
"""
from __future__ import annotations

from collections import Counter

import pytest

from .helpers import AXE_JS, REPORT, html_lang, login, set_up_context

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
    ("admin", "/audit/verify"),
    ("admin", "/account/password"),
    ("admin", "/registry/organizations/999999"),
    # An organization manager sees their own organization's page without the bureau's controls.
    ("orgmanager", "/registry/organizations/{org}"),
    # Procurement, public side: notices, a tender notice with its award, the need form and tracking.
    ("anonymous", "/notices"),
    ("anonymous", "/notices/tenders/{tender_awarded}"),
    ("anonymous", "/needs/new"),
    ("anonymous", "/needs/track?code={need_receipt}"),
    # The bureau: needs, plans, tenders in each stage, the forms and the opening record.
    ("procurement", "/procurement/needs"),
    ("procurement", "/procurement/needs/{need_submitted}"),
    ("procurement", "/procurement/plans"),
    ("procurement", "/procurement/plans/{plan}"),
    ("procurement", "/procurement/plans/new"),
    ("procurement", "/procurement/plans/{plan}/tenders/new"),
    ("procurement", "/procurement/tenders"),
    ("procurement", "/procurement/tenders/{tender_draft}"),
    ("procurement", "/procurement/tenders/{tender_draft}/edit"),
    ("procurement", "/procurement/tenders/{tender_opened}"),
    ("procurement", "/procurement/tenders/{tender_opened}/opening"),
    ("procurement", "/procurement/tenders/{tender_publicity}"),
    # Bidders: the open tender with a bid of one's own and without, the bid form, the receipt,
    # the objection form of the tender in publicity.
    ("orgmanager", "/procurement/tenders/{tender_open}"),
    ("orgmanager", "/procurement/bids/{bid_open_orgmanager}/receipt"),
    ("orgmanager", "/procurement/my-bids"),
    ("orgmanager", "/procurement/tenders/{tender_publicity}/objections/new"),
    ("orgmanager4", "/procurement/tenders/{tender_open}"),
    ("orgmanager4", "/procurement/tenders/{tender_open}/bid"),
    # Experts on the opened tender's panel: before the declaration, and scoring.
    ("expert", "/procurement/tenders/{tender_opened}"),
    ("expert", "/procurement/tenders/{tender_opened}/declare"),
    ("expert2", "/procurement/tenders/{tender_opened}/score"),
    # Contracts: the bureau's list (with the award waiting for its contract), the new-contract and
    # edit forms with the payment schedule, a draft and a contract in progress (its milestone to
    # review) as the bureau, the same contract as its organization (upload forms), the amendment form.
    ("procurement", "/contracts"),
    ("procurement", "/contracts/new?tender={tender_awaiting}"),
    ("procurement", "/contracts/{contract_draft}"),
    ("procurement", "/contracts/{contract_draft}/edit"),
    ("procurement", "/contracts/{contract_running}"),
    ("procurement", "/contracts/{contract_running}/amend"),
    ("procurement", "/reminders"),
    ("orgmanager", "/contracts"),
    ("orgmanager", "/contracts/{contract_running}"),
    ("orgmanager", "/reminders"),
    ("anonymous", "/notices/contracts"),
    ("anonymous", "/notices/contracts/{contract_running}"),
    # Service delivery: the register, the service log and its forms, progress with its SVG charts,
    # ledger imports, workers on the contract, red flags (the district's and one contract's).
    ("orgmanager", "/beneficiaries"),
    ("orgmanager", "/beneficiaries/{beneficiary}"),
    ("orgmanager", "/beneficiaries/new"),
    ("orgmanager", "/beneficiaries/{beneficiary}/edit"),
    ("auditor", "/beneficiaries"),
    ("orgmanager", "/contracts/{contract_running}/services"),
    ("socialworker", "/contracts/{contract_running}/services/new"),
    ("orgmanager", "/services/{activity_corrected}"),
    ("orgmanager", "/services/{activity_corrected}/edit"),
    ("procurement", "/contracts/{contract_running}/progress"),
    ("orgmanager", "/contracts/{contract_running}/imports"),
    ("orgmanager", "/imports/{import_batch}"),
    ("orgmanager", "/contracts/{contract_running}/workers"),
    ("auditor", "/red-flags"),
    ("orgmanager", "/contracts/{contract_running}/red-flags"),
    # Evaluations: the list and the new-evaluation form; a round being prepared (parties, evaluators
    # and survey forms), one being scored and a finalized one with its findings and rectification
    # (the bureau's review forms, the organization's response forms, the administrator's reopen
    # form); the summary with its charts; rectification items; an evaluator's list, conflict
    # declaration and scoring page ({scorer}: the demo's evaluator still scoring); the indicator
    # templates with a published and a draft version and the editor.
    ("procurement", "/evaluations/"),
    ("procurement", "/evaluations/contracts/{contract_evaluated}/new"),
    ("procurement", "/evaluations/rounds/{round_planned}"),
    ("procurement", "/evaluations/rounds/{round_scoring}"),
    ("procurement", "/evaluations/rounds/{round_finalized}"),
    ("procurement", "/evaluations/rounds/{round_finalized}/summary"),
    ("procurement", "/evaluations/rectification"),
    ("orgmanager2", "/evaluations/rounds/{round_finalized}"),
    ("orgmanager2", "/evaluations/rectification"),
    ("admin", "/evaluations/rounds/{round_finalized}"),
    ("evalflow2", "/evaluations/"),
    ("evalflow2", "/evaluations/rounds/{round_planned}"),
    ("evalflow2", "/evaluations/rounds/{round_planned}/declare"),
    ("{scorer}", "/evaluations/rounds/{round_scoring}"),
    ("{scorer}", "/evaluations/rounds/{round_scoring}/score"),
    ("{scorer}", "/evaluations/rounds/{round_scoring}/summary"),
    ("admin", "/evaluations/templates"),
    ("admin", "/evaluations/templates/new"),
    ("admin", "/evaluations/templates/{template_default}"),
    ("admin", "/evaluations/template-versions/{version_default}"),
    ("admin", "/evaluations/template-versions/{version_draft}"),
    ("admin", "/evaluations/template-versions/{version_draft}/edit"),
    # Reports: the auditor's desk (an auditor's home), a contract's and an organization's reports,
    # and the public verification page, blank and for an unknown code.
    ("auditor", "/"),
    ("auditor", "/desk"),
    ("auditor", "/reports/assessment/{contract_running}"),
    ("procurement", "/reports/organization/{org}"),
    ("anonymous", "/verify"),
    ("anonymous", "/verify/0000-0000-0000-0000"),
]
# Pages that answer with an error status on purpose, besides the 404s.
EXPECTED_STATUS = {"/evaluations/rounds/{round_scoring}/summary": 409}  # no scores before finalization

MINOR_FINDINGS: Counter = Counter()


@pytest.fixture(scope="module")
def axe_page(chromium_browser, live_server):
    """One page per person, logged in once and shared by the module's tests; the language cookie
    is set before each use (the cookie, not the switch, so no account's saved language changes).
    axe-core is injected into every document the page loads."""
    pages, contexts = {}, []

    def get(lang: str, who: str):
        if who not in pages:
            context = chromium_browser.new_context(base_url=live_server.url, bypass_csp=True)
            set_up_context(context, live_server)
            context.add_init_script(path=str(AXE_JS))
            contexts.append(context)
            page = context.new_page()
            if who != "anonymous":
                login(page, who)
            pages[who] = page
        pages[who].context.add_cookies([{"name": "svcproc_lang", "value": lang, "url": live_server.url}])
        return pages[who]

    yield get
    for context in contexts:
        context.close()
    if MINOR_FINDINGS:
        REPORT.append("axe moderate/minor findings (not failing): "
                      + ", ".join(f"{rule} ×{n}" for rule, n in MINOR_FINDINGS.most_common()))


def run_axe(page) -> list[dict]:
    if not page.evaluate("typeof window.axe === 'object'"):
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


def _url(live_server, path: str) -> str:
    ids = live_server.ids
    return path.format_map({**ids, "org": ids["org_yangguang"], "user": ids["user_orgmanager"]})


def _who(live_server, who: str) -> str:
    """A user name, or a placeholder for one the live server fixture found ({scorer})."""
    return who.format_map(live_server.ids)


@pytest.mark.parametrize("lang", list(LANGS))
@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who}:{path}" for who, path in PAGES])
def test_page_has_no_serious_accessibility_violations(axe_page, live_server, lang, who, path):
    who = _who(live_server, who)
    page = axe_page(lang, who)
    url = _url(live_server, path)

    response = page.goto(url)

    assert html_lang(page) == LANGS[lang]
    if path != "/no-such-page" and not path.endswith("/999999"):
        expected = EXPECTED_STATUS.get(path, 200)
        assert response.status == expected, f"{url} as {who} answered {response.status}"
    assert_no_serious_violations(page, f"{url} ({lang}, {who})")


@pytest.mark.parametrize("lang", list(LANGS))
def test_form_errors_have_no_serious_accessibility_violations(axe_page, live_server, lang):
    """The states a person meets after a mistake: a refused login, a status form and a score cell
    swapped in by htmx with their errors."""
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

    # A score above the criterion's maximum: htmx swaps the cell back with its error (nothing saved).
    page = axe_page(lang, "expert2")
    page.goto(f"/procurement/tenders/{live_server.ids['tender_opened']}/score")
    page.wait_for_function("typeof window.htmx === 'object'")
    cell = page.locator("section.bid-card").nth(1).locator("form.score-cell").first
    cell_id = cell.get_attribute("id")
    with page.expect_response(lambda r: r.request.method == "POST" and "/score/" in r.url) as answer:
        page.locator(f"#{cell_id}-p").fill("999")
        page.locator(f"#{cell_id}-p").press("Tab")
    assert answer.value.status == 422
    page.locator(f"#{cell_id}-err").wait_for()
    assert_no_serious_violations(page, f"scoring page with a refused score swapped in ({lang})")


@pytest.mark.parametrize("lang", list(LANGS))
def test_contract_and_service_log_states_have_no_serious_accessibility_violations(axe_page, live_server, lang):
    """What htmx and a refused save leave on the contract and service-log pages: the schedule
    refused (tranches not adding up to 100), the participant picker with its results, a picked
    person and the quick-add panel's error, and an identity number shown in full."""
    ids = live_server.ids
    page = axe_page(lang, "procurement")
    page.goto(f"/contracts/{ids['contract_draft']}/edit")
    page.locator("#milestone-rows [name=milestone_percent]").first.fill("10")
    with page.expect_navigation() as refused:
        page.locator("main form.wide-form button[type=submit]").click()
    assert refused.value.status == 422
    assert page.locator("main form .error[role=alert]").count() == 1
    assert_no_serious_violations(page, f"contract edit form with the schedule refused ({lang})")

    page = axe_page(lang, "socialworker")
    page.goto(f"/contracts/{ids['contract_running']}/services/new")
    page.wait_for_function("typeof window.htmx === 'object'")
    with page.expect_response(lambda r: "/people?" in r.url):
        page.locator("#people-q").fill("王")
    results = page.locator("#people-results button")
    results.first.wait_for()
    with page.expect_response(lambda r: "/chip" in r.url):
        results.first.click()
    page.locator("#chosen .chip").first.wait_for()
    page.locator("details.quick-add:has(#quick-add) summary").click()
    page.locator("#quick-add button").wait_for()          # the panel's fields, fetched as it opens
    with page.expect_response(lambda r: r.url.endswith("/people/quick") and r.request.method == "POST") as answer:
        page.locator("#quick-add button").click()
    assert answer.value.status == 422
    page.locator("#quick-add-error .error").wait_for()
    assert_no_serious_violations(page, f"entry form with picker results, a chip and the quick-add error ({lang})")

    page = axe_page(lang, "orgmanager")
    page.goto(f"/beneficiaries/{ids['beneficiary']}")
    page.wait_for_function("typeof window.htmx === 'object'")
    with page.expect_response(lambda r: r.url.endswith("/reveal")):
        page.locator("#revealed + form button").click()
    page.locator("#revealed .muted").wait_for()
    assert_no_serious_violations(page, f"beneficiary page with the identity number shown ({lang})")


@pytest.mark.parametrize("lang", list(LANGS))
def test_evaluation_states_have_no_serious_accessibility_violations(axe_page, live_server, lang):
    """What a refused save leaves on the evaluation pages: a round being prepared with the parties
    refused (weights not adding up to 100) and with the survey form refused, and a score above full
    marks swapped back into the scoring page by htmx. Nothing is saved by any of them."""
    ids = live_server.ids
    page = axe_page(lang, "procurement")
    page.goto(f"/evaluations/rounds/{ids['round_planned']}")
    parties = page.locator('form[action$="/parties"]')
    parties.locator("[name=party_weight]").first.fill("10")
    with page.expect_navigation() as refused:
        parties.locator("button[type=submit]").click()
    assert refused.value.status == 422
    page.locator("#party-err").wait_for()
    assert_no_serious_violations(page, f"round being prepared with the parties refused ({lang})")

    page.goto(f"/evaluations/rounds/{ids['round_planned']}")
    page.locator('form[action$="/surveys"]').evaluate("form => form.closest('details').open = true")
    with page.expect_navigation() as refused:
        page.locator('form[action$="/surveys"] button[type=submit]').click()
    assert refused.value.status == 422
    page.locator('form[action$="/surveys"] .error').first.wait_for()
    assert_no_serious_violations(page, f"round being prepared with the survey refused ({lang})")

    page = axe_page(lang, ids["scorer"])
    page.goto(f"/evaluations/rounds/{ids['round_scoring']}/score")
    page.wait_for_function("typeof window.htmx === 'object'")
    cell = page.locator("form.score-cell").first
    cell_id = cell.get_attribute("id")
    with page.expect_response(lambda r: r.request.method == "POST" and "/score/" in r.url) as answer:
        page.locator(f"#{cell_id}-p").fill("999")
        page.locator(f"#{cell_id}-p").press("Tab")
    assert answer.value.status == 422
    page.locator(f"#{cell_id}-err").wait_for()
    assert_no_serious_violations(page, f"evaluation scoring page with a refused score swapped in ({lang})")
