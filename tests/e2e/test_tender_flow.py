"""One tender from the plan to the public award notice, through the real pages only.

The bureau plans, drafts (adding a criterion with htmx; the bid deadline 22 days away, beyond a
public tender's 20), draws the panel of five at random from the expert pool, uploads the tender
documents and publishes; three organizations bid with sealed PDFs (one withdraws and bids again);
the clock moves past the deadline and the opening; the bureau opens the bids, five experts declare
and score cell by cell on the htmx scoring page; the award is proposed and published; a losing
bidder objects, which blocks the award until the bureau answers; after the publicity period the
award is confirmed and the public notice names the winner and the price.

The live server runs in this process, so moving `svcproc.core.clock` here moves the server's "now".
Every page is in English (the language cookie) so the assertions can read the page's words.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from .helpers import REPORT, login

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n% svcproc e2e\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DIGEST = re.compile(r"^[0-9a-f]{64}$")

# The demo's expert pool: every one of them sits on a public tender's panel of five.
FULL_NAMES = {"expert": "张明华", "expert2": "李文静", "expert3": "赵立新", "expert4": "王志远", "expert5": "郑雅琴"}
ORGS = {"orgmanager": "成都市武侯区阳光社会工作服务中心",
        "orgmanager2": "成都市武侯区同心社会工作服务中心",
        "orgmanager3": "成都市武侯区锦绣社会工作服务中心"}
# The draft's four default criteria (30/25/15/10) become 25/25/15/10, plus one added with htmx
# (5 points): 80 points besides the price weight of 20.
CRITERIA_WEIGHTS = [25, 25, 15, 10, 5]
PRICES = {"orgmanager": "270000", "orgmanager2": "255000", "orgmanager3": "265000"}
RESUBMITTED_PRICE = "262000"  # orgmanager3 withdraws and bids again, lower
# Points per criterion each expert gives each bidder; expert2 is half a point stricter on the first.
POINTS = {"orgmanager": ["23", "22", "14", "9", "4"],
          "orgmanager2": ["20", "20", "12", "8", "4"],
          "orgmanager3": ["19", "19", "11", "8", "3"]}
WINNER = "orgmanager"  # best non-price score, and the price score cannot make up the difference
LOSER = "orgmanager2"


def _points_of(expert: str, bidder: str) -> list[str]:
    points = list(POINTS[bidder])
    if expert == "expert2":
        points[0] = str(Decimal(points[0]) - Decimal("0.5"))
    return points


def _person(new_browser_context, live_server, username: str | None):
    """A browser of its own for one person, in English, logged in unless username is None."""
    context = new_browser_context()
    context.add_cookies([{"name": "svcproc_lang", "value": "en", "url": live_server.url}])
    page = context.new_page()
    if username:
        login(page, username)
    return page


def _flash(page, category: str = "success"):
    return page.locator(f"#flashes .flash-{category}")


def _status_badge(page):
    return page.locator(".page-head .badge").first


def _step(page, action: str):
    """A 'Next step' button on the tender page (a small form posting to /do/<action>)."""
    return page.locator(f'form[action$="/do/{action}"] button[type=submit]')


def _confirm_if_asked(page) -> None:
    """An irreversible step first asks (the confirmation dialog): say yes."""
    dialog = page.locator("#confirm-dialog[open]")
    if dialog.count():
        dialog.locator("#confirm-yes").click()


def _click_step(page, action: str, status: str) -> None:
    with page.expect_navigation():
        _step(page, action).click()
        _confirm_if_asked(page)
    expect(_status_badge(page)).to_have_class(re.compile(rf"\bbadge-{status}\b"))


def _local_input(moment: datetime) -> str:
    from svcproc.core import clock

    return clock.to_local(moment).strftime("%Y-%m-%dT%H:%M")


def _from_input(text: str) -> datetime:
    from svcproc.core import clock

    return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)


def _money_text(yuan: str) -> str:
    return f"¥{int(yuan):,}.00"


# --- the steps --------------------------------------------------------------------------------


def _create_plan(page, title: str) -> int:
    page.goto("/procurement/plans")
    with page.expect_navigation():
        page.locator('main a.button[href$="/plans/new"]').click()
    form = page.locator("main form.wide-form")
    form.locator("#title").fill(title)
    form.locator("#category").select_option("elderly")
    form.locator("#budget").fill("300,000")
    form.locator("#description").fill("为玉林东路社区独居、高龄老人提供助餐配送与上门探访服务。")
    form.get_by_label("玉林东路社区", exact=True).check()
    form.locator("#target_cases").fill("20")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text(title)
    expect(page.locator("main h1")).to_have_text(title)
    return int(re.search(r"/plans/(\d+)$", page.url).group(1))


def _draft_tender(page, plan_id: int, dates: dict[str, str]) -> int:
    page.goto(f"/procurement/plans/{plan_id}")
    with page.expect_navigation():
        page.locator(f'main a.button[href$="/plans/{plan_id}/tenders/new"]').click()
    page.wait_for_function("typeof window.htmx === 'object'")
    form = page.locator("main form.wide-form")
    form.locator("#method").select_option("public_tender")
    form.locator("#min_rating").select_option("3A")
    expect(form.locator("#ceiling")).to_have_value("300000.00")  # what is left of the plan's budget
    form.locator("#ceiling").fill("280000")
    form.locator("#publicity_days").fill("5")
    for name, value in dates.items():
        form.locator(f"#{name}").fill(value)
    form.locator("#description").fill("服务内容：助餐配送、上门探访、紧急联络。\n服务期限：合同签订之日起12个月。")
    expect(form.locator("#price_weight")).to_have_value("20")

    rows = form.locator("#criteria-rows tr")
    expect(rows).to_have_count(4)
    rows.nth(0).locator("[name=criterion_weight]").fill(str(CRITERIA_WEIGHTS[0]))
    add = form.get_by_role("button", name="Add a criterion")
    page.evaluate("window.__e2eSameDocument = true")
    for _ in range(2):
        with page.expect_response(lambda r: r.url.endswith("/procurement/tenders/criteria-row")):
            add.click()
    expect(rows).to_have_count(6)
    # The second new row is not wanted: removed on the page, without a round trip.
    rows.nth(5).get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(5)
    new_row = rows.nth(4)
    new_row.get_by_label("Criterion").click()  # a real click: the field must be on screen, not clipped
    new_row.get_by_label("Criterion").fill("社区资源链接能力")
    new_row.get_by_label("Points").fill(str(CRITERIA_WEIGHTS[4]))
    new_row.get_by_label("Scoring guide").fill("志愿者、慈善资源的动员与整合")
    assert page.evaluate("window.__e2eSameDocument === true"), "adding a criterion reloaded the page"

    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("drafted")
    expect(_status_badge(page)).to_have_class(re.compile(r"\bbadge-draft\b"))
    criteria = page.locator("main table.list").first.locator("tbody tr")
    expect(criteria).to_have_count(6)  # five criteria and the price
    expect(criteria.nth(4)).to_contain_text("社区资源链接能力")

    # The draft reopens with what was saved, and saves again unchanged.
    with page.expect_navigation():
        page.locator('main a.button[href$="/edit"]').click()
    form = page.locator("main form.wide-form")
    expect(form.locator("#price_weight")).to_have_value("20")
    expect(form.locator("#criteria-rows [name=criterion_weight]")).to_have_count(5)
    weights = [form.locator("#criteria-rows [name=criterion_weight]").nth(i).input_value() for i in range(5)]
    assert weights == [str(w) for w in CRITERIA_WEIGHTS], weights
    expect(form.locator("#bid_deadline")).to_have_value(dates["bid_deadline"])
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("saved")
    return int(re.search(r"/tenders/(\d+)$", page.url).group(1))


def _staff_and_publish(page) -> None:
    # A public tender's panel: five experts drawn at random from the plan's category's pool (here all
    # five of the demo's experts), the draw recorded in the audit trail.
    panel_form = page.locator('form[action$="/experts"]')
    panel_form.get_by_label("Experts to draw").fill(str(len(FULL_NAMES)))
    with page.expect_navigation():
        panel_form.get_by_role("button", name="Draw at random").click()
    panel = page.locator("ul.panel-list li")
    expect(panel).to_have_count(len(FULL_NAMES))
    for full_name in FULL_NAMES.values():
        expect(page.locator("ul.panel-list")).to_contain_text(full_name)

    upload = page.locator('form[action$="/documents"]')
    upload.locator("#title").fill("招标文件")
    upload.locator("#file").set_input_files(files=[{"name": "招标文件.pdf", "mimeType": "application/pdf",
                                                    "buffer": PDF}])
    with page.expect_navigation():
        upload.get_by_role("button", name="Upload").click()
    expect(_flash(page)).to_have_text("Document added.")
    expect(page.get_by_role("link", name="招标文件")).to_be_visible()

    expect(_step(page, "publish")).to_be_enabled()
    # Publishing cannot be undone: the page says so first, and cancelling changes nothing.
    _step(page, "publish").click()
    dialog = page.locator("#confirm-dialog[open]")
    expect(dialog).to_contain_text("only by a published amendment")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(_status_badge(page)).to_have_class(re.compile(r"\bbadge-draft\b"))
    _click_step(page, "publish", "published")


def _submit_bid(page, tender_id: int, price: str, filename: str, new: bool = False) -> dict:
    page.goto(f"/procurement/tenders/{tender_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Submit a new bid" if new else "Submit a bid").click()
    form = page.locator("main form")
    form.locator("#price").fill(price)
    form.locator("#documents").set_input_files(files=[{"name": filename, "mimeType": "application/pdf",
                                                       "buffer": PDF + filename.encode()}])
    form.locator("#declaration_accepted").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Seal and submit the bid").click()
    expect(_flash(page)).to_contain_text("Bid submitted")
    expect(page.locator("main h1")).to_have_text("Bid receipt")
    receipt = page.locator("dl.facts")
    expect(receipt).to_contain_text(_money_text(price))
    expect(receipt).to_contain_text(filename)
    digest = receipt.locator("code.digest").inner_text().strip()
    assert DIGEST.match(digest), f"the receipt shows no SHA-256 digest: {digest!r}"
    return {"digest": digest, "receipt": receipt.locator("dd code").first.inner_text().strip(), "url": page.url}


def _withdraw(page, receipt_url: str) -> None:
    page.goto(receipt_url)
    with page.expect_navigation():
        page.get_by_role("button", name="Withdraw the bid").click()
    expect(_flash(page)).to_contain_text("Bid withdrawn")
    expect(page.get_by_role("link", name="Submit a new bid")).to_be_visible()


def _saves(cell_id: str):
    """Matches the htmx POST that saves one cell: form id cell-<bid>-<criterion>."""
    _prefix, bid, criterion = cell_id.split("-")
    return lambda r: r.request.method == "POST" and r.url.endswith(f"/score/{bid}/{criterion}")


def _score_all(page, tender_id: int, expert: str, try_a_wrong_value: bool) -> None:
    page.goto(f"/procurement/tenders/{tender_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Declare conflicts of interest").click()
    form = page.locator("main form")
    expect(form.locator("input[name=related]")).to_have_count(3)  # the three bidders, none ticked
    form.locator("#confirm").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Submit the declaration").click()
    expect(_flash(page)).to_contain_text("Declaration recorded")
    assert page.url.endswith(f"/tenders/{tender_id}/score")
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")

    cards = page.locator("section.bid-card")
    expect(cards).to_have_count(3)
    missing = page.locator("#missing")
    expect(missing).to_contain_text("15 scores still to give")
    bidder_by_name = {name: username for username, name in ORGS.items()}
    for i in range(3):
        card = cards.nth(i)
        bidder = bidder_by_name[card.locator("h2").inner_text().strip()]
        total = card.locator("strong[id^=total-]")
        total_id = total.get_attribute("id")
        cells = card.locator("form.score-cell")
        expect(cells).to_have_count(len(CRITERIA_WEIGHTS))
        running = Decimal(0)
        for n, points in enumerate(_points_of(expert, bidder)):
            cell_id = cells.nth(n).get_attribute("id")
            box = page.locator(f"#{cell_id}-p")
            if try_a_wrong_value and i == 0 and n == 0:
                # Above the criterion's maximum: the cell comes back with its error, nothing is saved.
                with page.expect_response(_saves(cell_id)) as answer:
                    box.fill("99")
                    box.press("Tab")
                assert answer.value.status == 422
                expect(page.locator(f"#{cell_id} .error")).to_contain_text(f"between 0 and {CRITERIA_WEIGHTS[0]} points")
                expect(page.locator(f"#{cell_id}-p")).to_have_attribute("aria-invalid", "true")
                _expect_number(page, total_id, Decimal(0))
            with page.expect_response(_saves(cell_id)) as answer:
                box.fill(points)
                box.press("Tab")  # leaving the field fires `change`: htmx saves the cell
            assert answer.value.status == 200, f"saving {cell_id} answered {answer.value.status}"
            running += Decimal(points)
            _expect_number(page, total_id, running)  # the bid's total, swapped in out of band
        assert running == sum(Decimal(p) for p in _points_of(expert, bidder))
    expect(missing).to_have_text("All scores given: you can submit.")
    assert page.evaluate("window.__e2eSameDocument === true"), "scoring reloaded the page"

    with page.expect_navigation():
        page.get_by_role("button", name="Submit my scores").click()
        _confirm_if_asked(page)
    expect(_flash(page)).to_have_text("Your scores are submitted.")
    expect(page.locator("form.score-cell input[name=points]:not([disabled])")).to_have_count(0)


def _expect_number(page, element_id: str, value: Decimal) -> None:
    page.wait_for_function("([id, value]) => Number(document.getElementById(id).textContent) === value",
                           arg=[element_id, float(value)])


# --- the test ---------------------------------------------------------------------------------


def test_tender_runs_from_publication_to_award(new_browser_context, live_server):
    from svcproc.core import clock

    started = time.monotonic()
    title = f"玉林东路社区长者助餐服务项目 {int(time.time())}"
    now = datetime.now(timezone.utc)
    dates = {"clarification_deadline": _local_input(now + timedelta(days=2)),
             "bid_deadline": _local_input(now + timedelta(days=22)),
             "opening_at": _local_input(now + timedelta(days=22, hours=1))}
    opening = _from_input(dates["opening_at"])

    staff = _person(new_browser_context, live_server, "procurement")
    plan_id = _create_plan(staff, title)
    tender_id = _draft_tender(staff, plan_id, dates)
    _staff_and_publish(staff)
    tender_url = f"/procurement/tenders/{tender_id}"

    # Bidding: three sealed bids with a PDF each; orgmanager3 withdraws and bids again.
    bidders = {username: _person(new_browser_context, live_server, username) for username in ORGS}
    receipts = {username: _submit_bid(page, tender_id, PRICES[username], f"{username}-投标文件.pdf")
                for username, page in bidders.items()}
    _withdraw(bidders["orgmanager3"], receipts["orgmanager3"]["url"])
    staff.goto(tender_url)
    expect(staff.locator("main")).not_to_contain_text("bids received")
    first = receipts["orgmanager3"]
    receipts["orgmanager3"] = _submit_bid(bidders["orgmanager3"], tender_id, RESUBMITTED_PRICE,
                                          "orgmanager3-投标文件-修订.pdf", new=True)
    assert receipts["orgmanager3"]["digest"] != first["digest"]
    assert receipts["orgmanager3"]["receipt"] != first["receipt"]

    # Sealed until the opening: the bureau learns neither how many bids, nor a price or a bidder.
    staff.goto(tender_url)
    expect(staff.locator("main")).to_contain_text("nobody, the bureau included, learns whether or how many bids")
    expect(staff.locator("main")).to_contain_text("Bidding is open until the deadline.")
    html = staff.content()
    for price in [*PRICES.values(), RESUBMITTED_PRICE]:
        assert f"{int(price):,}" not in html and price not in html, f"the price {price} shows before the opening"
    for name in ORGS.values():
        assert name not in html, f"{name} shows as a bidder before the opening"
    expect(staff.get_by_role("link", name="Opening record")).to_have_count(0)

    try:
        # --- past the deadline and the opening time -----------------------------------------
        clock.freeze(opening + timedelta(minutes=10))
        staff.goto(tender_url)
        _click_step(staff, "close", "bidding_closed")
        _click_step(staff, "open", "opened")
        with staff.expect_navigation():
            staff.get_by_role("link", name="Opening record").click()
        rows = staff.locator("main table.list tbody tr")
        expect(rows).to_have_count(3)
        for username, name in ORGS.items():
            row = rows.filter(has_text=name)
            price = RESUBMITTED_PRICE if username == "orgmanager3" else PRICES[username]
            expect(row).to_contain_text(_money_text(price))
            expect(row).to_contain_text("matches receipt")
            expect(row.locator("code.digest")).to_have_text(receipts[username]["digest"])
            expect(row).to_contain_text(receipts[username]["receipt"])

        # --- the panel ------------------------------------------------------------------------
        for n, expert in enumerate(FULL_NAMES):
            _score_all(_person(new_browser_context, live_server, expert), tender_id, expert, try_a_wrong_value=n == 0)

        staff.goto(tender_url)
        expect(staff.locator("ul.panel-list")).not_to_contain_text("Declaration pending")
        _click_step(staff, "finish-scoring", "scored")
        ranking = staff.locator("main table.list").filter(has_text="Price score").locator("tbody tr")
        expect(ranking).to_have_count(3)
        expect(ranking.nth(0)).to_contain_text(ORGS[WINNER])
        expect(ranking.nth(0)).to_contain_text(_money_text(PRICES[WINNER]))
        _click_step(staff, "propose", "award_proposed")
        _click_step(staff, "publicity", "in_publicity")

        # --- publicity: a losing bidder objects ----------------------------------------------
        loser = bidders[LOSER]
        loser.goto(tender_url)
        expect(loser.locator("main")).to_contain_text(ORGS[WINNER])  # the published ranking
        with loser.expect_navigation():
            loser.get_by_role("link", name="File an objection").click()
        loser.locator("#reasons").fill("我单位认为中标候选人的服务方案评分偏高，与招标文件评分细则不符，请予复核。")
        with loser.expect_navigation():
            loser.get_by_role("button", name="File the objection").click()
        expect(_flash(loser)).to_contain_text("Objection filed")

        staff.goto(tender_url)
        confirm = _step(staff, "confirm")
        expect(confirm).to_be_disabled()
        expect(staff.locator('form[action$="/do/confirm"]')).to_contain_text("1 objection(s) or complaint(s) block the award.")

        # Publicity over, but the objection is still open: still no award, and the server says why
        # even when the button is forced.
        # (five working days: two calendar weeks reach past any weekend and holiday in between)
        clock.freeze(clock.now() + timedelta(days=14, hours=1))
        staff.goto(tender_url)
        expect(confirm).to_be_disabled()
        expect(staff.locator('form[action$="/do/confirm"]')).to_contain_text("1 objection(s) or complaint(s) block the award.")
        with staff.expect_navigation() as refused:
            staff.locator('form[action$="/do/confirm"]').evaluate("form => form.submit()")
        assert refused.value.status == 409
        expect(staff.locator("main")).to_contain_text("The award waits for every objection and complaint to be settled")

        staff.goto(tender_url)
        answer = staff.locator('form[action*="/objections/"][action$="/answer"]')
        answer.locator("select[name=decision]").select_option("dismissed")
        answer.locator("textarea[name=answer]").fill("经复核，评分符合招标文件评分细则，质疑不成立。")
        with staff.expect_navigation():
            answer.get_by_role("button", name="Answer").click()
        expect(_flash(staff)).to_have_text("Objection answered.")
        expect(staff.locator("main ul.qa .badge-dismissed")).to_have_count(1)
        expect(_step(staff, "confirm")).to_be_enabled()
        _click_step(staff, "confirm", "awarded")
        expect(_flash(staff)).to_have_text("Award confirmed.")
    finally:
        clock.freeze(None)

    # --- the public notice, logged out ------------------------------------------------------
    public = _person(new_browser_context, live_server, None)
    public.goto(f"/notices/tenders/{tender_id}")
    award = public.locator("section.callout", has=public.locator("#award-h"))
    expect(award.locator("#award-h")).to_contain_text("Award result")
    expect(award).to_contain_text(ORGS[WINNER])
    expect(award).to_contain_text(_money_text(PRICES[WINNER]))
    public.goto("/notices?kind=awards")
    expect(public.locator(".notice-list li", has_text=title)).to_contain_text(
        f"Awarded to {ORGS[WINNER]} at {_money_text(PRICES[WINNER])}")

    REPORT.append(f"tender flow (plan to public award, 8 browsers): {time.monotonic() - started:.1f}s")
