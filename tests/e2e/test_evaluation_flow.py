"""A final evaluation from the contract page to its summary, through the real pages only.

The bureau starts the final evaluation on the contract's page, names two scoring parties (a total
of 90 is refused first, with the typed rows kept), assigns one evaluator to each, enters a
satisfaction survey and opens scoring, which freezes the output scores from the contract's service
log and the satisfaction score from the survey. Two evaluators, each in a browser of their own,
declare no conflict and work through the htmx scoring page, typing points and a comment per
indicator: after every field the total, the first-level subtotal and the count of what is missing
change without a reload; a value above full marks comes back inline with its error and the typed
value. The second evaluator never sees the first one's comments (list, round page, scoring page,
summary, CSV export) until the bureau finalizes. The summary then shows the total, the grade, a
column per party, the tree and a chart per first-level indicator, and the total is the one worked
out by hand below.

The contract (orgmanager2's, its log known: EVALUATED and EVENTS) and the two evaluator accounts
are built by evaluation_world. Every page is in English (the language cookie) so the assertions can
read the page's words; the names typed in are Chinese, as in the bureau.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from .evaluation_world import EVALUATED, EVALUATION_ORG, EVALUATORS, EVENT_HEAD_COUNT, EVENTS
from .helpers import REPORT, login

pytestmark = pytest.mark.e2e

TITLE = f"{EVALUATED['title']}末期评估"
PARTIES = (("第三方", Decimal(70)), ("区民政局", Decimal(30)))
FIRST, SECOND = EVALUATORS  # 郑晓岚 scores for 第三方, 冯国强 for 区民政局
SURVEY = dict(group="服务对象", surveyed=40, satisfied=34)  # 85 % against the contract's 90 %

# The evaluator-scored indicators of the shipped template: (key, name, full marks, first evaluator's
# points and comment, second evaluator's points and comment).
SCORES = [
    ("management.plan", "项目方案与执行计划", 5, "4.5", "需求评估扎实，活动设计与目标对应。", "4", "方案可行，部分活动进度滞后。"),
    ("management.team", "团队配置与督导", 5, "4", "持证社工配置合理，督导记录完整。", "5", "团队稳定，督导按月开展。"),
    ("management.records", "服务台账与档案管理", 5, "4", "台账及时，个别签到表缺签名。", "3.5", "档案归档不够规范。"),
    ("management.risk", "制度建设与风险管理", 5, "4.5", "安全预案完备，信息保护到位。", "4", "投诉处理流程需公示。"),
    ("outcome.needs", "服务对象需求改善", 10, "9", "前后测显示心理状况明显改善。", "8.5", "成效证据以过程记录为主。"),
    ("outcome.community", "社区参与与互助网络", 8, "7", "互助小组已能自主开展活动。", "7.5", "居民参与积极，骨干稳定。"),
    ("outcome.resources", "资源链接与社会影响", 7, "6", "链接社区卫生服务中心资源。", "5", "对外宣传偏少。"),
    ("satisfaction.community", "社区及相关方满意度", 5, "4.5", "居委会评价较高。", "5", "街道对项目高度认可。"),
    ("finance.budget", "预算执行", 5, "4.5", "预算执行进度与计划相符。", "4", "活动物资支出略高。"),
    ("finance.compliance", "财务合规", 5, "5", "票据规范，专款专用。", "4.5", "个别票据缺少明细。"),
]
FIRST_COMMENTS = [row[4] for row in SCORES]

# Computed when scoring opens (the default bands: at least 100 % of the target full marks, 80–100 %
# two thirds, 60–80 % one third): 4 events of 4 → 6; 4 × 20 = 80 person-times of 100 → 80 % → 4;
# cases, group sessions and people have targets of zero, asked for nothing → full marks 6 each;
# satisfaction 34 of 40 = 85 %, against 90 % → 94 % → two thirds of 10 → 6.67.
COMPUTED = {"output.cases": Decimal("6.00"), "output.groups": Decimal("6.00"), "output.events": Decimal("6.00"),
            "output.person_times": Decimal("4.00"), "output.people": Decimal("6.00"),
            "satisfaction.beneficiaries": Decimal("6.67")}
FIRST_LEVEL = {"management": ("项目管理", 20), "output": ("服务产出", 30), "outcome": ("服务成效", 25),
               "satisfaction": ("满意度", 15), "finance": ("财务管理", 10)}


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _expected() -> tuple[dict[str, Decimal], Decimal]:
    """By hand: one evaluator per party, so a party's mean is its evaluator's points; each leaf is
    0.7 × 第三方 + 0.3 × 区民政局; the rest is computed; first-level sums and the total."""
    (_n1, w1), (_n2, w2) = PARTIES
    leaves = {key: _q2((w1 * Decimal(p1) + w2 * Decimal(p2)) / 100) for key, _name, _w, p1, _c1, p2, _c2 in SCORES}
    leaves.update(COMPUTED)
    first = {top: sum((v for k, v in leaves.items() if k.split(".")[0] == top), Decimal(0)) for top in FIRST_LEVEL}
    return first, sum(first.values(), Decimal(0))


def _person(new_browser_context, live_server, username: str):
    """A browser of its own for one person, in English, logged in."""
    context = new_browser_context()
    context.add_cookies([{"name": "svcproc_lang", "value": "en", "url": live_server.url}])
    page = context.new_page()
    login(page, username)
    return page


def _flash(page):
    return page.locator("#flashes .flash-success")


def _click(page, locator) -> None:
    with page.expect_navigation():
        locator.click()
        dialog = page.locator("#confirm-dialog[open]")  # an irreversible step asks first: say yes
        if dialog.count():
            dialog.locator("#confirm-yes").click()


def _expect_number(page, element_id: str, value: Decimal) -> None:
    page.wait_for_function("([id, value]) => Number(document.getElementById(id).textContent) === value",
                           arg=[element_id, float(value)])


# --- the bureau -------------------------------------------------------------------------------


def _create_round(page, contract_id: int) -> str:
    from svcproc.contracts.workflow import today

    page.goto(f"/contracts/{contract_id}")
    _click(page, page.get_by_role("link", name="New evaluation"))
    form = page.locator("main form")
    form.get_by_label("Kind").select_option("final")
    form.get_by_label("Title").fill(TITLE)
    expect(form.get_by_label("Indicator template")).to_have_value(re.compile(r"^\d+$"))  # the shipped template
    form.get_by_label("Evaluation organization").select_option(label=EVALUATION_ORG)
    form.get_by_label("Evaluation starts").fill(today().isoformat())
    form.get_by_label("Evaluation ends").fill((today() + timedelta(days=2)).isoformat())
    _click(page, form.get_by_role("button", name="Create the evaluation"))
    expect(_flash(page)).to_have_text("Evaluation created. Name the scoring parties and assign evaluators.")
    expect(page.locator("main h1")).to_contain_text(TITLE)
    match = re.search(r"/evaluations/rounds/(\d+)$", page.url)
    assert match, f"creating the evaluation did not lead to its page: {page.url}"
    return f"/evaluations/rounds/{match.group(1)}"


def _prepare(page) -> None:
    """Parties (first 70 + 20, refused), the two evaluators, the survey, and scoring opened."""
    parties = page.locator('form[action$="/parties"]')
    (name1, weight1), (name2, _weight2) = PARTIES
    parties.get_by_label("Party 1 name").fill(name1)
    parties.get_by_label("Party 1 weight").fill(str(weight1))
    parties.get_by_label("Party 2 name").fill(name2)
    parties.get_by_label("Party 2 weight").fill("20")
    with page.expect_navigation() as refused:
        parties.get_by_role("button", name="Save the parties").click()
    assert refused.value.status == 422
    expect(page.locator("#party-err")).to_have_text("The parties' weights add up to 90, not 100.")
    expect(parties.get_by_label("Party 2 name")).to_have_value(name2)  # what was typed is kept
    parties.get_by_label("Party 2 weight").fill(str(PARTIES[1][1]))
    _click(page, parties.get_by_role("button", name="Save the parties"))
    expect(_flash(page)).to_have_text("Scoring parties saved.")
    expect(parties.get_by_label("Party 1 name")).to_have_value(name1)  # the saved parties, still editable
    expect(parties.get_by_label("Party 2 weight")).to_have_value("30")

    for username, (party, weight) in zip(EVALUATORS, PARTIES):
        assign = page.locator('form[action$="/evaluators"]')
        full_name = EVALUATORS[username]
        assign.get_by_label("Evaluator", exact=True).select_option(
            label=f"{full_name} · {EVALUATION_ORG}" if username == FIRST else full_name)
        assign.get_by_label("Party", exact=True).select_option(label=f"{party} ({weight})")
        _click(page, assign.get_by_role("button", name="Assign"))
        expect(_flash(page)).to_have_text("Evaluator assigned.")
    rows = page.locator("#evaluators tbody tr")
    expect(rows).to_have_count(2)
    for n, (username, (party, _weight)) in enumerate(zip(EVALUATORS, PARTIES)):
        expect(rows.nth(n)).to_contain_text(EVALUATORS[username])
        expect(rows.nth(n)).to_contain_text(party)
        expect(rows.nth(n)).to_contain_text("Not yet made")

    page.locator("#surveys summary", has_text="Enter the counts of a group").click()
    survey = page.locator('form[action$="/surveys"]')
    survey.get_by_label("Group of respondents").fill(SURVEY["group"])
    survey.get_by_label("Satisfied", exact=True).fill(str(SURVEY["satisfied"]))
    survey.get_by_label("Surveyed", exact=True).fill(str(SURVEY["surveyed"]))
    _click(page, survey.get_by_role("button", name="Record"))
    expect(_flash(page)).to_have_text("Survey responses recorded.")
    cells = page.locator("#surveys tbody tr").locator("td")
    expect(cells.nth(0)).to_have_text("服务对象满意度")
    expect(cells.nth(1)).to_have_text(SURVEY["group"])
    expect(cells.nth(2)).to_have_text(str(SURVEY["satisfied"]))
    expect(cells.nth(3)).to_have_text(str(SURVEY["surveyed"]))

    _click(page, page.get_by_role("button", name="Open scoring"))
    expect(_flash(page)).to_have_text(
        "Scoring is open. Output and satisfaction scores are frozen from the logs and surveys.")
    expect(page.locator(".page-head .badge").first).to_have_class(re.compile(r"\bbadge-scoring\b"))
    computed = page.locator("#computed tbody tr")
    expect(computed.filter(has_text="服务人次")).to_contain_text(f"{EVENTS * EVENT_HEAD_COUNT} (80.0 %)")
    expect(computed.filter(has_text="服务人次")).to_contain_text("4.00 / 6")
    expect(computed.filter(has_text="社区活动场次")).to_contain_text("6.00 / 6")
    expect(computed.filter(has_text="服务对象满意度")).to_contain_text("34 / 40 (85.0 %)")
    expect(computed.filter(has_text="服务对象满意度")).to_contain_text("6.67 / 10")


# --- the evaluators ---------------------------------------------------------------------------


def _declare(page) -> None:
    page.goto("/evaluations/")
    _click(page, page.locator("#results tr", has_text=TITLE).get_by_role("link", name="Declare conflicts"))
    expect(page.locator("main h1")).to_have_text("Conflict declaration")
    expect(page.get_by_label("I am related to the evaluated organization", exact=False)).not_to_be_checked()
    _click(page, page.get_by_role("button", name="Make the declaration"))
    expect(_flash(page)).to_have_text("Declaration recorded.")
    assert re.search(r"/evaluations/rounds/\d+/score$", page.url), page.url


def _saves(key: str):
    return lambda r: r.request.method == "POST" and r.url.endswith(f"/score/{key}")


def _score_all(page, second: bool, try_a_wrong_value: bool) -> None:
    """Points then a comment for every indicator; after each field, the live figures."""
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")
    missing = page.locator("#missing")
    expect(missing).to_have_text(f"{len(SCORES)} indicators still need points and a comment")
    total = sum(COMPUTED.values(), Decimal(0))
    _expect_number(page, "score-total", total)
    subtotals = {top: sum((v for k, v in COMPUTED.items() if k.startswith(top + ".")), Decimal(0))
                 for top in FIRST_LEVEL}
    for done, (key, name, full, p1, c1, p2, c2) in enumerate(SCORES, start=1):
        points, comment = (p2, c2) if second else (p1, c1)
        top, lid = key.split(".")[0], key.replace(".", "-")
        box = page.get_by_label(f"{name} (0–{full})", exact=True)
        expect(box).to_have_value("")  # nobody's points are shown here but one's own
        if try_a_wrong_value and done == 1:
            with page.expect_response(_saves(key)) as answer:
                box.fill(str(full + 1))
                box.press("Tab")
            assert answer.value.status == 422
            expect(page.locator(f"#leaf-{lid} .error")).to_have_text(f"Give {name} between 0 and {full} points.")
            expect(box).to_have_value(str(full + 1))  # the typed value stays, marked invalid
            expect(box).to_have_attribute("aria-invalid", "true")
            _expect_number(page, "score-total", total)  # nothing saved
        with page.expect_response(_saves(key)) as answer:
            box.fill(points)
            box.press("Tab")  # leaving the field fires `change`: htmx saves the indicator
        assert answer.value.status == 200, f"saving {key} answered {answer.value.status}"
        total += Decimal(points)
        subtotals[top] += Decimal(points)
        _expect_number(page, "score-total", total)          # swapped in out of band
        _expect_number(page, f"sub-{top}", subtotals[top])
        expect(page.locator(f"#leaf-{lid}-err")).to_have_text("")
        expect(missing).to_contain_text(f"{len(SCORES) - done + 1} indicator")  # a comment is still due

        note = page.get_by_label(f"Comment on {name}")
        with page.expect_response(_saves(key)) as answer:
            note.fill(comment)
            note.press("Tab")
        assert answer.value.status == 200, f"saving the comment on {key} answered {answer.value.status}"
        if done < len(SCORES):
            expect(missing).to_contain_text(f"{len(SCORES) - done} indicator")
        _expect_number(page, "score-total", total)
        expect(box).to_have_value(points)
    expect(missing).to_have_text("Every indicator is scored: you can submit.")
    assert page.evaluate("window.__e2eSameDocument === true"), "scoring reloaded the page"

    _click(page, page.get_by_role("button", name="Submit my scores"))
    expect(_flash(page)).to_have_text("Your scores are submitted.")
    expect(page.locator("form.score-cell input[name=points]:not([disabled])")).to_have_count(0)


def _sees_no_comment_of_the_first(page, round_url: str) -> None:
    """Every page and export the second evaluator can open, before finalization."""
    for path in ("/evaluations/", round_url, f"{round_url}/score", f"{round_url}/summary"):
        response = page.goto(path)
        html = page.content()
        for comment in FIRST_COMMENTS:
            assert comment not in html, f"{path} shows the first evaluator's comment {comment!r} ({response.status})"
    csv = page.request.get(f"{round_url}/scores.csv")
    assert csv.status == 409, f"the score export answered {csv.status} before finalization"
    assert not any(comment in csv.text() for comment in FIRST_COMMENTS)


# --- the test ---------------------------------------------------------------------------------


def test_final_evaluation_with_two_parties_and_two_evaluators(new_browser_context, live_server):
    started = time.monotonic()
    first_level, expected_total = _expected()
    assert expected_total == Decimal("87.07")  # 52.40 from the evaluators, 28 from the log, 6.67 from the survey

    staff = _person(new_browser_context, live_server, "procurement")
    round_url = _create_round(staff, live_server.ids["contract_evaluated"])
    _prepare(staff)
    with live_server.db_session() as session:
        from svcproc.evaluations.models import EvaluationRound

        round_ = session.get(EvaluationRound, int(round_url.rsplit("/", 1)[1]))
        assert {k: Decimal(v["points"]) for k, v in round_.computed.items()} == COMPUTED
    prepared = time.monotonic()

    first = _person(new_browser_context, live_server, FIRST)
    _declare(first)
    _score_all(first, second=False, try_a_wrong_value=True)

    second = _person(new_browser_context, live_server, SECOND)
    _declare(second)
    _sees_no_comment_of_the_first(second, round_url)
    second.goto(f"{round_url}/score")
    _score_all(second, second=True, try_a_wrong_value=False)
    _sees_no_comment_of_the_first(second, round_url)
    staff.goto(round_url)  # the bureau does not see the scores either
    assert not any(comment in staff.content() for comment in FIRST_COMMENTS)
    scored = time.monotonic()

    # --- finalized ----------------------------------------------------------------------------
    expect(staff.locator("#evaluators tbody tr").filter(has_text=re.compile(r"Submitted \d{4}-"))).to_have_count(2)
    _click(staff, staff.get_by_role("button", name="Finalize"))
    expect(_flash(staff)).to_have_text(f"The evaluation is finalized: {expected_total} points, Good.")
    figures = staff.locator(".money-figures")
    expect(figures).to_contain_text(f"Score{expected_total}")
    expect(figures).to_contain_text("GradeGood")
    expect(staff.get_by_role("button", name="Finalize")).to_have_count(0)

    _click(staff, staff.get_by_role("link", name="Scores and how they were reached"))
    expect(staff.locator("main h1")).to_have_text(f"Scores of {TITLE}")
    figures = staff.locator(".money-figures")
    expect(figures).to_contain_text(f"Score{expected_total} / 100")
    expect(figures).to_contain_text("GradeGood")
    expect(figures).to_contain_text("Parties第三方 70 · 区民政局 30")
    table = staff.locator("table.tree-scores")
    expect(table.locator("thead th")).to_have_text(["Indicator", "Full marks", "第三方", "区民政局", "Points scored", "Source"])
    for key, name, _full, p1, _c1, p2, _c2 in SCORES:
        cells = table.locator("tbody tr", has=staff.locator("th", has_text=re.compile(f"^{name}$"))).locator("td")
        final = _q2((PARTIES[0][1] * Decimal(p1) + PARTIES[1][1] * Decimal(p2)) / 100)
        expect(cells.nth(1)).to_have_text(f"{Decimal(p1):.2f}")   # 第三方: its evaluator's points
        expect(cells.nth(2)).to_have_text(f"{Decimal(p2):.2f}")   # 区民政局
        expect(cells.nth(3)).to_have_text(f"{final.normalize():f}")
    events = table.locator("tbody tr", has=staff.locator("th", has_text="服务人次")).locator("td")
    expect(events.nth(4)).to_contain_text("Service log: 80 against 100")
    expect(table.locator("tfoot")).to_contain_text(f"Total100{expected_total}Good")
    # The charts: the overview, and one per first-level indicator with its points against full marks.
    expect(staff.locator("main svg.chart[role=img]")).to_have_count(1 + len(FIRST_LEVEL))
    captions = staff.locator("main figure figcaption")
    expect(captions).to_have_text([f"{name} {first_level[top].normalize():f} / {full}"
                                   for top, (name, full) in FIRST_LEVEL.items()])
    # Every score traces to its evaluator, now that the evaluation is final.
    expect(staff.locator("main details", has_text=EVALUATORS[FIRST])).to_contain_text(FIRST_COMMENTS[0])

    with live_server.db_session() as session:
        from svcproc.evaluations.models import EvaluationRound

        round_ = session.get(EvaluationRound, int(round_url.rsplit("/", 1)[1]))
        assert (round_.total, round_.grade) == (expected_total, "good")
    REPORT.append(f"evaluation flow (final evaluation, 2 parties, 2 evaluators, 3 browsers): "
                  f"{time.monotonic() - started:.1f}s (set-up {prepared - started:.1f}s, "
                  f"scoring {scored - prepared:.1f}s, finalizing and summary {time.monotonic() - scored:.1f}s)")
