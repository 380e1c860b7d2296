"""Tender rules: dates, weights, price-weight bounds, ceiling within the plan's budget, cancelling,
and failing (流标) when too few valid bids remain."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from svcproc.accounts.models import User
from svcproc.core import clock as app_clock
from svcproc.core.errors import DomainError, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import workflow
from svcproc.procurement.models import Bid, Clarification, TenderMethod, TenderStatus
from tests.builders.accounts import UserFactory
from tests.builders.files import pdf_upload
from tests.builders.procurement import (CEILING_FEN, DAY, make_plan, new_tender, score_all, submit_bid, tender_dates,
                                        tender_in)
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, unchanged

S = TenderStatus
M = TenderMethod


@pytest.fixture
def plan(staff):
    return make_plan(staff, budget_fen=CEILING_FEN)


def _values(**changes) -> dict:
    values = dict(title="玉林街道独居老人关爱服务项目", method=M.PUBLIC_TENDER, ceiling_fen=30_000_000,
                  min_rating="none", price_weight=Decimal(20), description="", publicity_days=7,
                  **tender_dates(app_clock.now()))
    values.update(changes)
    return values


def test_staff_draft_a_tender(clock, staff, plan):
    tender = workflow.create_tender(staff, plan, **_values())

    assert (tender.status, tender.status_changed_at, tender.created_at) == (S.DRAFT, clock.now, clock.now)
    assert tender.number == "2025-ZB-001"
    [event] = audit_events("tender.created")
    assert event.changes["ceiling_fen"] == [None, 30_000_000]


# --- dates --------------------------------------------------------------------------------------


def tender_staff(tender) -> User:
    return db.session.get(User, tender.created_by_id)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=1)], ids=["at", "after"])
def test_publishing_is_refused_once_the_clarification_deadline_has_passed(clock, offset):
    tender = tender_in(S.DRAFT, clock).tender
    clock.set(tender.clarification_deadline + offset)

    with unchanged(tender), pytest.raises(DomainError):
        workflow.publish_tender(tender_staff(tender), tender)


@pytest.mark.parametrize("offset", [timedelta(minutes=-1), timedelta(seconds=-1)])
def test_bidding_cannot_close_before_the_deadline(clock, offset):
    tender = tender_in(S.PUBLISHED, clock).tender
    clock.set(tender.bid_deadline + offset)

    with unchanged(tender), pytest.raises(DomainError):
        workflow.close_bidding(tender_staff(tender), tender)


@pytest.mark.parametrize("status, when", [
    (S.PUBLISHED, "before-deadline"), (S.PUBLISHED, "between-deadline-and-opening"),
    (S.BIDDING_CLOSED, "between-deadline-and-opening"),
])
def test_bids_cannot_be_opened_before_the_deadline_and_the_opening_time(clock, status, when):
    tender = tender_in(status, clock).tender
    clock.set(tender.bid_deadline - timedelta(minutes=1) if when == "before-deadline"
              else tender.opening_at - timedelta(minutes=1))

    with unchanged(tender, *tender.bids), pytest.raises(DomainError):
        workflow.open_bids(tender_staff(tender), tender)

    assert all(b.price_fen is None for b in tender.bids)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(days=1)], ids=["at", "after"])
def test_bids_are_refused_from_the_deadline_on(clock, offset):
    setup = tender_in(S.PUBLISHED, clock)
    late = OrganizationFactory()
    manager = UserFactory(role=Role.ORG_MANAGER, organization=late)
    clock.set(setup.tender.bid_deadline + offset)

    with unchanged(setup.tender), pytest.raises(DomainError):
        submit_bid(manager, setup.tender, 30_000_000)

    assert count(Bid) == 3


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=1)], ids=["at", "after"])
def test_questions_are_refused_from_the_clarification_deadline_on(clock, offset):
    setup = tender_in(S.PUBLISHED, clock)
    clock.set(setup.tender.clarification_deadline + offset)

    with unchanged(setup.tender), pytest.raises(DomainError):
        workflow.ask_question(setup.managers[0], setup.tender, "服务人员是否需要全部持证？")


def test_a_question_before_the_clarification_deadline_is_taken(clock):
    setup = tender_in(S.PUBLISHED, clock)
    clock.set(setup.tender.clarification_deadline - timedelta(minutes=1))

    item = workflow.ask_question(setup.managers[1], setup.tender, "服务人员是否需要全部持证？")

    assert (item.organization_id, item.asked_at, item.answered_at) == (setup.orgs[1].id, clock.now, None)
    [event] = audit_events("clarification.asked")
    assert event.changes == {"tender_id": [None, setup.tender.id]}  # not who asked


def test_answers_stop_at_the_bid_deadline(clock):
    setup = tender_in(S.PUBLISHED, clock)
    item = workflow.ask_question(setup.managers[0], setup.tender, "服务人员是否需要全部持证？")
    clock.set(setup.tender.bid_deadline)

    with unchanged(item), pytest.raises(DomainError):
        workflow.answer_question(setup.staff, item, "需要。")


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("criteria, price_weight", [
    pytest.param((("方案", Decimal(50)), ("团队", Decimal(20))), Decimal(20), id="90"),
    pytest.param((("方案", Decimal(50)), ("团队", Decimal(40))), Decimal(20), id="110"),
    pytest.param((("方案", Decimal("49.99")), ("团队", Decimal(30))), Decimal(20), id="99.99"),
    pytest.param((), Decimal(20), id="no-criteria"),
])
def test_publishing_needs_weights_adding_up_to_100(clock, staff, plan, criteria, price_weight):
    tender = new_tender(staff, plan, criteria=criteria, price_weight=price_weight)

    with unchanged(tender), pytest.raises(DomainError):
        workflow.publish_tender(staff, tender)


def test_weights_adding_up_to_100_publish(clock, staff, plan):
    tender = new_tender(staff, plan, criteria=(("方案", Decimal("49.5")), ("团队", Decimal("30.5"))))

    workflow.publish_tender(staff, tender)

    assert (tender.status, tender.publish_at, tender.status_changed_at) == (S.PUBLISHED, clock.now, clock.now)


@pytest.mark.parametrize("rows", [
    pytest.param([{"name": "", "weight": "30"}], id="no-name"),
    pytest.param([{"name": "方案", "weight": "0"}], id="zero"),
    pytest.param([{"name": "方案", "weight": "-5"}], id="negative"),
    pytest.param([{"name": "方案", "weight": "12.345"}], id="three-decimals"),
    pytest.param([{"name": "方案", "weight": "abc"}], id="not-a-number"),
])
def test_a_bad_criterion_is_refused(staff, plan, rows):
    tender = new_tender(staff, plan)

    with unchanged(tender, *tender.criteria), pytest.raises(ValidationError):
        workflow.set_criteria(staff, tender, rows)


def test_criteria_change_only_while_drafting(clock):
    setup = tender_in(S.PUBLISHED, clock)

    with unchanged(setup.tender, *setup.tender.criteria), pytest.raises(DomainError):
        workflow.set_criteria(setup.staff, setup.tender, [{"name": "方案", "weight": "80"}])


# --- price weight by method ---------------------------------------------------------------------


BOUNDED = [M.PUBLIC_TENDER, M.COMPETITIVE_CONSULTATION]


@pytest.mark.parametrize("method", list(M))
@pytest.mark.parametrize("weight", ["9.99", "10", "30", "30.01", "0", "100", "100.01"])
def test_price_weight_bounds_by_method(staff, plan, method, weight):
    weight = Decimal(weight)
    if method in BOUNDED:
        allowed = Decimal(10) <= weight <= Decimal(30)
    else:
        allowed = Decimal(0) < weight <= Decimal(100)

    if allowed:
        tender = workflow.create_tender(staff, plan, **_values(method=method, price_weight=weight))
        assert tender.price_weight == weight
    else:
        with unchanged(), pytest.raises(ValidationError) as refused:
            workflow.create_tender(staff, plan, **_values(method=method, price_weight=weight))
        assert refused.value.field == "price_weight"


def test_the_bounds_also_hold_when_a_draft_is_edited(staff, plan):
    tender = new_tender(staff, plan)

    with unchanged(tender), pytest.raises(ValidationError):
        workflow.update_tender(staff, tender, **_values(price_weight=Decimal(35)))


# --- ceiling within the plan's budget -----------------------------------------------------------


@pytest.mark.parametrize("second, allowed", [(20_000_000, True), (20_000_001, False), (0, False), (-1, False)])
def test_the_ceiling_fits_in_what_is_left_of_the_budget(staff, plan, second, allowed):
    workflow.create_tender(staff, plan, **_values(ceiling_fen=30_000_000))

    if allowed:
        assert workflow.create_tender(staff, plan, **_values(ceiling_fen=second)).ceiling_fen == second
    else:
        with unchanged(plan), pytest.raises(ValidationError) as refused:
            workflow.create_tender(staff, plan, **_values(ceiling_fen=second))
        assert refused.value.field == "ceiling"


def test_two_tenders_drafted_in_one_go_still_fit_the_budget(staff, plan):
    workflow.create_tender(staff, plan, **_values(ceiling_fen=30_000_000))

    with unchanged(plan), pytest.raises(ValidationError):
        workflow.create_tender(staff, plan, **_values(ceiling_fen=30_000_000))


@pytest.mark.parametrize("ended", [S.CANCELLED, S.FAILED])
def test_a_cancelled_or_failed_tender_frees_its_ceiling(clock, staff, ended):
    setup = tender_in(ended, clock, staff=staff)

    tender = workflow.create_tender(staff, setup.plan, **_values(ceiling_fen=CEILING_FEN))

    assert tender.ceiling_fen == setup.plan.budget_fen


def test_an_edited_draft_does_not_count_against_itself(staff, plan):
    tender = new_tender(staff, plan, ceiling_fen=30_000_000)

    workflow.update_tender(staff, tender, **_values(ceiling_fen=CEILING_FEN))

    assert tender.ceiling_fen == CEILING_FEN


# --- cancelling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_needs_a_reason(clock, reason):
    setup = tender_in(S.PUBLISHED, clock)

    with unchanged(setup.tender), pytest.raises(ValidationError):
        workflow.cancel_tender(setup.staff, setup.tender, reason)


def test_a_cancelled_tender_keeps_its_reason(clock):
    setup = tender_in(S.PUBLISHED, clock)

    workflow.cancel_tender(setup.staff, setup.tender, "  预算调整。 ")

    assert (setup.tender.status, setup.tender.status_reason) == (S.CANCELLED, "预算调整。")
    assert audit_events("tender.cancelled")[0].changes["reason"] == [None, "预算调整。"]


def test_cancelling_with_an_objection_of_another_tender_is_404(client, clock, login_as):
    """An objection id from another tender must not mark that tender's objection resolved."""
    mine = tender_in(S.PUBLISHED, clock)
    other = tender_in(S.IN_PUBLICITY, clock)
    objection = workflow.file_objection(other.managers[1], other.tender, "中标候选人资质不符合要求，请复核。", [])
    workflow.answer_objection(other.staff, objection, upheld=True, answer="质疑成立。")
    login_as(mine.staff)

    with unchanged(mine.tender, objection):
        response = client.post(f"/procurement/tenders/{mine.tender.id}/cancel",
                               data={"reason": "预算调整。", "objection": str(objection.id)})

    assert response.status_code == 404
    assert workflow.blocking_objections(other.tender) == [objection]


# --- too few valid bids -------------------------------------------------------------------------


def _open(setup, clock):
    clock.set(setup.tender.opening_at + timedelta(minutes=5))
    workflow.open_bids(setup.staff, setup.tender)


@pytest.mark.parametrize("method, bids, status", [
    (M.PUBLIC_TENDER, 2, S.FAILED), (M.PUBLIC_TENDER, 3, S.OPENED),
    (M.COMPETITIVE_CONSULTATION, 1, S.FAILED), (M.COMPETITIVE_CONSULTATION, 2, S.OPENED),
    (M.COMPETITIVE_NEGOTIATION, 1, S.FAILED), (M.INQUIRY, 2, S.FAILED), (M.INQUIRY, 3, S.OPENED),
    (M.SINGLE_SOURCE, 0, S.FAILED), (M.SINGLE_SOURCE, 1, S.OPENED),
])
def test_the_opening_fails_the_tender_with_too_few_bids(clock, method, bids, status):
    weight = Decimal(20)
    setup = tender_in(S.PUBLISHED, clock, method=method, prices=[40_000_000 - i for i in range(bids)],
                      price_weight=weight)

    _open(setup, clock)

    assert setup.tender.status == status
    assert setup.tender.status_changed_at == clock.now
    assert setup.tender.opened_at == clock.now
    if status == S.FAILED:
        assert str(bids) in setup.tender.status_reason
        assert [e.action for e in audit_events() if e.action.startswith("tender.")][-2:] == [
            "tender.opened", "tender.failed"]


def test_withdrawn_bids_do_not_count_at_the_opening(clock):
    setup = tender_in(S.PUBLISHED, clock)
    workflow.withdraw_bid(setup.managers[0], setup.bids[0])

    _open(setup, clock)

    assert setup.tender.status == S.FAILED
    assert setup.bids[0].price_fen is None  # a withdrawn bid is never unsealed


@pytest.mark.parametrize("minimum, status", [(3, S.FAILED), (2, S.OPENED)])
def test_the_minimum_at_the_opening_is_configurable(app, monkeypatch, clock, minimum, status):
    monkeypatch.setitem(app.config["MIN_VALID_BIDS"], "public_tender", minimum)
    setup = tender_in(S.PUBLISHED, clock, prices=[40_000_000, 41_000_000])

    _open(setup, clock)

    assert setup.tender.status == status


@pytest.mark.parametrize("minimum, status", [(3, S.FAILED), (2, S.SCORED)])
def test_finishing_the_scoring_fails_the_tender_when_a_ruled_invalid_bid_leaves_too_few(
        app, monkeypatch, clock, minimum, status):
    monkeypatch.setitem(app.config["MIN_VALID_BIDS"], "public_tender", minimum)
    setup = tender_in(S.OPENED, clock)
    workflow.rule_bid_invalid(setup.staff, setup.bids[2], "未按要求提供社工资格证书。")
    clock.set(setup.tender.opening_at + DAY)
    score_all(setup)

    workflow.finish_scoring(setup.staff, setup.tender)

    assert setup.tender.status == status
    assert setup.bids[2].valid is False
    if status == S.FAILED:
        assert "2" in setup.tender.status_reason
        assert setup.bids[0].rank is None
    else:
        assert [b.rank for b in setup.bids] == [1, 2, None]


def test_a_failed_tender_is_final(clock):
    setup = tender_in(S.FAILED, clock)

    with unchanged(setup.tender), pytest.raises(DomainError):
        workflow.cancel_tender(setup.staff, setup.tender, "改为重新招标。")


# --- documents ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status, offset, allowed", [
    (S.DRAFT, timedelta(0), True), (S.PUBLISHED, -timedelta(minutes=1), True),
    (S.PUBLISHED, timedelta(0), False), (S.OPENED, timedelta(days=1), False),
])
def test_tender_documents_change_until_the_bid_deadline(clock, status, offset, allowed):
    setup = tender_in(status, clock)
    if status == S.PUBLISHED:
        clock.set(setup.tender.bid_deadline + offset)

    if allowed:
        document = workflow.add_tender_document(setup.staff, setup.tender, pdf_upload("补充文件.pdf"), "补充文件")
        assert document.title == "补充文件"
    else:
        with unchanged(setup.tender), pytest.raises(DomainError):
            workflow.add_tender_document(setup.staff, setup.tender, pdf_upload("补充文件.pdf"), "补充文件")


def test_only_published_tenders_take_bids_and_questions_from_the_web(client, clock, login_as, staff, plan):
    tender = new_tender(staff, plan)
    manager = UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory())
    login_as(manager)

    with unchanged(tender):
        form = client.get(f"/procurement/tenders/{tender.id}/bid")
        question = client.post(f"/procurement/tenders/{tender.id}/questions", data={"question": "是否需要持证？"})
        page = client.get(f"/procurement/tenders/{tender.id}")

    assert (form.status_code, question.status_code, page.status_code) == (403, 403, 403)
    assert count(Clarification) == 0


def test_the_export_takes_as_many_statements_for_many_tenders_as_for_few(client, clock, login_as, staff,
                                                                        count_queries):
    """The bids counted, the winner and its price come with each tender in the one statement: a
    tender's bids are not read in turn (a district's export once took two thousand statements)."""
    tender_in(S.AWARDED, clock)
    login_as(staff)
    with count_queries() as few:
        first = client.get("/procurement/tenders/export.csv").get_data(as_text=True)
    for status in (S.AWARDED, S.OPENED, S.AWARDED, "published"):
        tender_in(status, clock)

    with count_queries() as many:
        rows = client.get("/procurement/tenders/export.csv").get_data(as_text=True).splitlines()

    assert len(rows) == len(first.splitlines()) + 4
    assert many.count == few.count, many.statements


def test_the_export_lists_every_tender_and_neutralises_formulas(client, clock, login_as, staff, plan):
    """A title typed like a spreadsheet formula reaches Excel as text, not as something it runs."""
    workflow.create_tender(staff, plan, **_values(title="=HYPERLINK(\"http://evil.example\")", ceiling_fen=1_000_000))
    awarded = tender_in(S.AWARDED, clock)
    login_as(staff)

    response = client.get("/procurement/tenders/export.csv")

    header, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert header[:4] == ["number", "title", "method", "status"]
    assert rows[0][1] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[-1][3] == "awarded" and rows[-1][7] == awarded.tender.awarded_bid.organization.name
