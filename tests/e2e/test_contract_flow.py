"""One contract from the award to its first paid milestone, through the real pages only.

The bureau finds the award waiting for its contract, draws the contract up (the contents MOF Order
No. 102 art. 23 requires), sets the payment schedule (rows added with htmx; tranches that do not add
up to 100 are refused first), records the signing and, with the clock moved to the start of the
term, starts the service. The organization's manager uploads a PDF and submits the first milestone;
the bureau returns it with a comment, which the manager reads, adds a file and submits again; the
bureau accepts and records the payment. The contract page then shows the payment in the timeline,
amounts as ¥ with thousands separators and the paid share on the progress bar; the public contract
notice, read logged out, shows the contract. On the way, a second procurement browser that opened
the draft before the schedule was saved tries to save too: 409, its typed values kept.

The award (a single-source tender of orgmanager's organization) is built by conftest; the live
server runs in this process, so moving `svcproc.core.clock` here moves the server's "now".
Every page is in English (the language cookie) so the assertions can read the page's words.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from .contract_world import AWAITING
from .helpers import REPORT, login

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n% svcproc e2e contract\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ORG = "成都市武侯区阳光社会工作服务中心"  # orgmanager's organization, which won the award
CONTENTS = {
    "quantity": "助餐配送每日不少于120份，上门探访每月不少于200人次。",
    "quality": "配送准时率不低于95%，服务对象满意度不低于90%。",
    "settlement": "按付款计划分两期支付，每期在成果验收合格后15个工作日内支付。",
    "rights_obligations": "采购人负责监督、验收与付款；服务机构按合同提供服务、如实记录服务台账。",
    "breach_liability": "未达到约定绩效目标的，按比例扣减服务费；严重违约的，采购人有权解除合同。",
}
# (title, due: days after the start or "end", required deliverables, tranche %)
SCHEDULE = [("项目启动：服务方案与需求评估", 30, "服务方案、需求评估报告", "40"),
            ("末期评估与项目总结", "end", "总结报告、服务台账", "60")]
FIRST_TRANCHE = "¥114,600.00"  # 40 % of ¥286,500.00
RETURN_COMMENT = "需求评估报告缺少服务对象签名，请补充签到表后重新提交。"


def _person(new_browser_context, live_server, username: str | None):
    """A browser of its own for one person, in English, logged in unless username is None."""
    context = new_browser_context()
    context.add_cookies([{"name": "svcproc_lang", "value": "en", "url": live_server.url}])
    page = context.new_page()
    if username:
        login(page, username)
    return page


def _flash(page):
    return page.locator("#flashes .flash-success")


def _badge(page):
    return page.locator(".page-head .badge").first


def _milestone(page, title: str):
    return page.locator("li.tl-milestone", has_text=title)


def _morning(day):
    from svcproc.core import clock

    return datetime.combine(day, datetime.min.time(), tzinfo=clock.LOCAL_TZ) + timedelta(hours=9)


def _click(page, locator) -> None:
    with page.expect_navigation():
        locator.click()
        dialog = page.locator("#confirm-dialog[open]")  # an irreversible step asks first: say yes
        if dialog.count():
            dialog.locator("#confirm-yes").click()


def _draw_up(page, start, end) -> int:
    page.goto("/contracts")
    waiting = page.locator("section.callout li", has_text=AWAITING["title"])
    expect(waiting).to_contain_text(f"{ORG} ¥286,500.00")
    _click(page, waiting.get_by_role("link", name="Draw up the contract"))
    form = page.locator("main form.wide-form")
    expect(form.locator("#title")).to_have_value(AWAITING["title"])
    expect(form.locator("#service_content")).to_have_value(re.compile(AWAITING["title"]))  # the tender's
    expect(form.locator("#target_cases")).to_have_value("40")  # the plan's targets
    form.locator("#start_date").fill(start.isoformat())
    form.locator("#end_date").fill(end.isoformat())
    for name, text in CONTENTS.items():
        form.locator(f"#{name}").fill(text)
    _click(page, form.get_by_role("button", name="Save"))
    expect(_flash(page)).to_contain_text("drafted. Set its payment schedule next.")
    match = re.search(r"/contracts/(\d+)/edit$", page.url)
    assert match, f"drawing up the contract did not lead to its schedule: {page.url}"
    return int(match.group(1))


def _set_schedule(page, start, end) -> None:
    """Two rows added with htmx (on the same page), filled; first with tranches adding up to 90."""
    page.wait_for_function("typeof window.htmx === 'object'")
    page.evaluate("window.__e2eSameDocument = true")
    rows = page.locator("#milestone-rows tr")
    expect(rows).to_have_count(0)
    for _ in SCHEDULE:
        with page.expect_response(lambda r: r.url.endswith("/contracts/milestone-row")):
            page.get_by_role("button", name="Add a milestone").click()
    expect(rows).to_have_count(len(SCHEDULE))
    assert page.evaluate("window.__e2eSameDocument === true"), "adding a milestone reloaded the page"
    for row, (title, due, required, _percent) in zip((rows.nth(i) for i in range(len(SCHEDULE))), SCHEDULE):
        row.get_by_label("Milestone").click()  # a real click: the field must be on screen, not clipped
        row.get_by_label("Milestone").fill(title)
        row.get_by_label("Due").fill((end if due == "end" else start + timedelta(days=due)).isoformat())
        row.get_by_label("Required deliverables").fill(required)
    rows.nth(0).get_by_label("Tranche %").fill(SCHEDULE[0][3])
    rows.nth(1).get_by_label("Tranche %").fill("50")

    with page.expect_navigation() as refused:
        page.locator("main form.wide-form").get_by_role("button", name="Save").click()
    assert refused.value.status == 422
    expect(page.locator("main form .error[role=alert]")).to_contain_text("now they add up to 90 %")
    expect(rows).to_have_count(len(SCHEDULE))  # what was typed is kept
    expect(rows.nth(0).get_by_label("Milestone")).to_have_value(SCHEDULE[0][0])
    rows.nth(1).get_by_label("Tranche %").fill(SCHEDULE[1][3])
    _click(page, page.locator("main form.wide-form").get_by_role("button", name="Save"))
    expect(_flash(page)).to_contain_text("saved.")
    expect(_badge(page)).to_have_class(re.compile(r"\bbadge-draft\b"))
    expect(page.locator("li.tl-milestone")).to_have_count(len(SCHEDULE))
    expect(_milestone(page, SCHEDULE[0][0])).to_contain_text(f"Tranche 40 % = {FIRST_TRANCHE}")


def _upload(page, title: str, kind: str, filename: str) -> None:
    milestone = _milestone(page, title)
    milestone.get_by_label("Kind").select_option(kind)
    milestone.locator("input[type=file]").set_input_files(files=[{"name": filename, "mimeType": "application/pdf",
                                                                  "buffer": PDF + filename.encode()}])
    _click(page, milestone.get_by_role("button", name="Upload"))
    expect(_flash(page)).to_have_text("1 file uploaded.")
    expect(_milestone(page, title).get_by_role("link", name=filename)).to_be_visible()


def _submit(page, title: str) -> None:
    _click(page, _milestone(page, title).get_by_role("button", name="Submit for acceptance"))
    expect(_flash(page)).to_have_text("Milestone submitted for acceptance.")
    expect(_milestone(page, title).locator(".badge-submitted")).to_be_visible()


def _review(page, title: str, decision: str, comment: str) -> None:
    milestone = _milestone(page, title)
    milestone.get_by_label("Decision").select_option(decision)
    milestone.get_by_label("Comments").fill(comment)
    _click(page, milestone.get_by_role("button", name="Record the decision"))


def test_contract_runs_from_the_award_to_a_paid_milestone(new_browser_context, live_server):
    from svcproc.core import clock

    started = time.monotonic()
    today = clock.to_local(clock.now()).date()
    start, end = today + timedelta(days=5), today + timedelta(days=5 + 364)
    first = SCHEDULE[0][0]

    staff = _person(new_browser_context, live_server, "procurement")
    contract_id = _draw_up(staff, start, end)
    contract_url = f"/contracts/{contract_id}"

    # A colleague opens the same draft before the schedule is saved ...
    rival = _person(new_browser_context, live_server, "procurement")
    rival.goto(f"{contract_url}/edit")
    _set_schedule(staff, start, end)
    # ... and saves afterwards: refused as stale, with what they typed still in the form.
    rival_quality = "配送准时率不低于98%。"
    rival.locator("#quality").fill(rival_quality)
    with rival.expect_navigation() as stale:
        rival.locator("main form.wide-form").get_by_role("button", name="Save").click()
    assert stale.value.status == 409
    expect(rival.locator("main .flash-error[role=alert]")).to_contain_text(
        "Someone else saved this record after you opened it. Your entries are kept below")
    expect(rival.locator("#quality")).to_have_value(rival_quality)
    expect(rival.locator("#start_date")).to_have_value(start.isoformat())
    staff.reload()
    expect(staff.locator("dl.facts").last).to_contain_text(CONTENTS["quality"])  # the first save stands

    sign = staff.locator('form[action$="/sign"]')
    sign.get_by_label("Signed on").fill(today.isoformat())
    _click(staff, sign.get_by_role("button", name="Record the signing"))
    expect(_flash(staff)).to_have_text("Contract signed; its notice is now public.")
    expect(_badge(staff)).to_have_class(re.compile(r"\bbadge-signed\b"))

    previous = clock.frozen()
    try:
        # --- the term begins ---------------------------------------------------------------------
        clock.freeze(_morning(start))
        staff.reload()
        _click(staff, staff.get_by_role("button", name="Start the service"))
        expect(_flash(staff)).to_have_text("Service started.")
        expect(_badge(staff)).to_have_class(re.compile(r"\bbadge-in_progress\b"))

        manager = _person(new_browser_context, live_server, "orgmanager")
        manager.goto(contract_url)
        expect(manager.get_by_role("button", name="Start the service")).to_have_count(0)  # the bureau's
        _upload(manager, first, "plan", "服务方案与需求评估报告.pdf")
        _submit(manager, first)

        staff.reload()
        _review(staff, first, "return", RETURN_COMMENT)
        expect(_flash(staff)).to_have_text("Milestone returned with your comments.")
        expect(_milestone(staff, first).locator(".badge-returned")).to_be_visible()

        manager.reload()
        expect(_milestone(manager, first).locator(".review-comment")).to_have_text(f"Bureau's comments: {RETURN_COMMENT}")
        _upload(manager, first, "sign_in_sheet", "需求评估签到表.pdf")
        _submit(manager, first)

        # Reviewed and paid a few days after the milestone fell due.
        paid_on = start + timedelta(days=SCHEDULE[0][1] + 3)
        clock.freeze(_morning(paid_on))
        staff.reload()
        _review(staff, first, "accept", "成果齐全，验收合格。")
        expect(_flash(staff)).to_have_text("Milestone accepted.")
        payment = _milestone(staff, first).locator('form[action$="/payments"]')
        expect(payment.get_by_label("Amount (yuan)")).to_have_value("114600.00")  # the tranche still unpaid
        expect(payment.get_by_label("Paid on")).to_have_value(paid_on.isoformat())  # the app's today
        payment.get_by_label("Voucher number").fill("PZ-E2E-0001")
        _click(staff, payment.get_by_role("button", name="Record the payment"))
        expect(_flash(staff)).to_have_text("Payment recorded.")
    finally:
        clock.freeze(previous)

    # --- the contract page: payment in the timeline, money, progress bar ------------------------
    staff.goto(contract_url)
    expect(_milestone(staff, first).locator(".badge-paid")).to_be_visible()
    paid_row = staff.locator("li.tl-payment")
    expect(paid_row).to_have_count(1)
    expect(paid_row).to_contain_text(f"Payment {FIRST_TRANCHE}")
    expect(paid_row).to_contain_text(f"{paid_on.isoformat()} · voucher PZ-E2E-0001 · {first}")
    # In date order: the payment follows the milestone it pays and comes before the next one.
    expect(staff.locator("ol.timeline > li").nth(1)).to_have_class(re.compile(r"\btl-payment\b"))
    figures = staff.locator(".money-figures")
    expect(figures).to_contain_text("Contract amount¥286,500.00")
    expect(figures).to_contain_text(f"Paid{FIRST_TRANCHE}")
    expect(figures).to_contain_text("Outstanding¥171,900.00")
    bar = staff.locator(".money-summary [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "40.0")
    expect(bar.locator(".progress-bar")).to_have_attribute("style", re.compile(r"width: 40\.0%"))
    expect(staff.locator(".money-summary")).to_contain_text("40.0 % paid")

    # --- the public contract notice, logged out -------------------------------------------------
    public = _person(new_browser_context, live_server, None)
    public.goto("/notices/contracts")
    notice = public.locator(".notice-list li", has_text=AWAITING["title"])
    expect(notice).to_contain_text(f"{ORG} · ¥286,500.00 · signed {today.isoformat()}")
    _click(public, notice.get_by_role("link", name=AWAITING["title"]))
    assert public.url.endswith(f"/notices/contracts/{contract_id}")
    facts = public.locator("main")  # the notice's facts, the purchaser's contact beside them
    expect(facts).to_contain_text(ORG)
    expect(facts).to_contain_text("¥286,500.00")
    expect(facts).to_contain_text(f"{start.isoformat()} – {end.isoformat()}")
    expect(facts).to_contain_text("In progress")
    expect(public.locator("main")).to_contain_text(f"{first} · {(start + timedelta(days=30)).isoformat()} · 40 % ({FIRST_TRANCHE})")

    REPORT.append(f"contract flow (award to paid milestone and public notice, 4 browsers): "
                  f"{time.monotonic() - started:.1f}s")
