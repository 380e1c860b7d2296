"""Money guarantees and fairness (DOMAIN.md "Rules of law"): the bid deposit, the small and micro
enterprise price deduction and the abnormally low bid — each rule by its refusal with nothing changed,
at its boundary, with its source named; the returns' last days counted across a real holiday."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask_babel import force_locale

from svcproc.core import workdays
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import guarantees, workflow
from svcproc.procurement.models import BidDeposit, TenderMethod, TenderStatus
from svcproc.procurement.scoring import BidInput, rank_bids
from svcproc.registry.models import OrgRating, OrgScale
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.files import pdf_upload
from tests.builders.procurement import CEILING_FEN, DAY, make_plan, new_tender, score_all, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, unchanged

S = TenderStatus
DEPOSIT_CAP = CEILING_FEN * 2 // 100          # ¥10,000.00 on the ¥500,000.00 ceiling
OTHER_ROLES = ("admin", "expert", "org_manager", "social_worker", "evaluator", "auditor")


@pytest.fixture(autouse=True)
def _english():
    with force_locale("en"):
        yield


def _values(**extra) -> dict:
    start = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
    return dict(title="项目", method=TenderMethod.PUBLIC_TENDER, ceiling_fen=CEILING_FEN, min_rating="none",
                price_weight=Decimal(20), description="", publicity_days=7,
                clarification_deadline=start + 10 * DAY, bid_deadline=start + 21 * DAY,
                opening_at=start + 21 * DAY + timedelta(hours=1), **extra)


# --- the bid deposit set on the tender ---------------------------------------------------------------


@pytest.mark.parametrize("deposit_fen, allowed", [
    (None, True), (1, True), (DEPOSIT_CAP, True), (DEPOSIT_CAP + 1, False), (0, False), (-100, False)])
def test_a_tender_asks_a_deposit_of_at_most_two_percent_of_its_budget(clock, staff, deposit_fen, allowed):
    clock.set(datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc))
    plan = make_plan(staff, budget_fen=CEILING_FEN)
    if allowed:
        tender = workflow.create_tender(staff, plan, **_values(deposit_fen=deposit_fen))
        assert tender.deposit_fen == deposit_fen
        return
    with unchanged(plan), pytest.raises(ValidationError) as refused:
        workflow.create_tender(staff, plan, **_values(deposit_fen=deposit_fen))
    assert refused.value.field == "deposit"
    if deposit_fen > 0:
        assert "《政府采购法实施条例》第三十三条" in refused.value.message and "¥10,000.00" in refused.value.message


def test_raising_a_drafts_deposit_above_the_cap_changes_nothing(clock, staff):
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), deposit_fen=DEPOSIT_CAP)
    values = {k: getattr(tender, k) for k in workflow.TENDER_FIELDS} | {"deposit_fen": DEPOSIT_CAP + 1}

    with unchanged(tender), pytest.raises(ValidationError, match="第三十三条"):
        workflow.update_tender(staff, tender, **values)


def test_lowering_the_ceiling_under_the_deposit_is_refused_too(clock, staff):
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), deposit_fen=DEPOSIT_CAP)
    values = {k: getattr(tender, k) for k in workflow.TENDER_FIELDS} | {"ceiling_fen": CEILING_FEN - 50}

    with unchanged(tender), pytest.raises(ValidationError, match="第三十三条"):
        workflow.update_tender(staff, tender, **values)


# --- the deduction set on the tender -----------------------------------------------------------------


@pytest.mark.parametrize("percent, allowed", [(10, True), (15, True), (20, True), (9, False), (21, False),
                                              (0, False), (Decimal("12.5"), False)])
def test_the_deduction_for_small_and_micro_enterprises_is_ten_to_twenty_percent(clock, staff, percent, allowed):
    clock.set(datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc))
    plan = make_plan(staff, budget_fen=CEILING_FEN)
    if allowed:
        assert workflow.create_tender(staff, plan, **_values(sme_deduction_percent=percent)).sme_deduction_percent == percent
        return
    with unchanged(plan), pytest.raises(ValidationError) as refused:
        workflow.create_tender(staff, plan, **_values(sme_deduction_percent=percent))
    assert refused.value.field == "sme_deduction_percent" and "财库〔2020〕46号" in refused.value.message


def test_a_new_tender_takes_the_default_deduction(clock, staff, app):
    clock.set(datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc))
    tender = workflow.create_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), **_values())
    assert tender.sme_deduction_percent == app.config["SME_DEDUCTION_DEFAULT"] == 10


def test_the_deduction_range_is_a_setting(clock, staff, app, monkeypatch):
    monkeypatch.setitem(app.config, "SME_DEDUCTION_RANGE", (12, 18))
    assert guarantees.deduction_problem(12) is None and guarantees.deduction_problem(18) is None
    assert "12 to 18" in guarantees.deduction_problem(10)


# --- recording deposits -----------------------------------------------------------------------------


@pytest.fixture
def opened(clock):
    """A public tender asking the full 2 % deposit, opened, no deposit recorded yet."""
    return tender_in(S.OPENED, clock, deposit_fen=DEPOSIT_CAP)


def _deadline_day(tender) -> date:
    return workdays.local_date(tender.bid_deadline)


def test_the_ranking_is_refused_naming_the_bids_without_a_deposit(opened):
    setup = opened
    score_all(setup)
    guarantees.record_deposit(setup.staff, setup.bids[0], amount_fen=DEPOSIT_CAP, form="transfer",
                              received_on=_deadline_day(setup.tender))

    with unchanged(setup.tender, *setup.bids), pytest.raises(DomainError) as refused:
        workflow.finish_scoring(setup.staff, setup.tender)
    message = refused.value.message
    assert setup.orgs[1].name in message and setup.orgs[2].name in message and setup.orgs[0].name not in message
    assert "第三十三条" in message


def test_with_every_deposit_recorded_the_bids_are_ranked(opened):
    setup = opened
    for bid in setup.bids:
        guarantees.record_deposit(setup.staff, bid, amount_fen=DEPOSIT_CAP, form="guarantee_letter",
                                  received_on=_deadline_day(setup.tender))
    score_all(setup)

    workflow.finish_scoring(setup.staff, setup.tender)

    assert setup.tender.status == S.SCORED and all(b.rank for b in setup.bids)
    [event] = audit_events("bid.deposit_recorded", object_id=str(setup.bids[0].id))
    assert event.changes["form"] == [None, "guarantee_letter"]


def test_a_bid_without_its_deposit_ruled_invalid_lets_the_others_be_ranked(opened):
    setup = opened
    for bid in setup.bids[:2]:
        guarantees.record_deposit(setup.staff, bid, amount_fen=DEPOSIT_CAP, form="transfer",
                                  received_on=_deadline_day(setup.tender))
    workflow.rule_bid_invalid(setup.staff, setup.bids[2], "未按招标文件要求缴纳投标保证金。")
    score_all(setup)

    workflow.finish_scoring(setup.staff, setup.tender)

    # A public tender needs three valid bids: the tender fails, for the want of a deposit.
    assert setup.tender.status == S.FAILED


@pytest.mark.parametrize("change, match", [
    (dict(amount_fen=DEPOSIT_CAP - 1), "does not count as paid"),
    (dict(form="cash"), "how the deposit was paid"),
    (dict(received_on="deadline+1"), "by the bid deadline"),
    (dict(received_on="tomorrow"), "future"),
])
def test_a_deposit_short_late_or_of_no_known_form_is_refused(opened, clock, change, match):
    setup = opened
    bid = setup.bids[0]
    values = dict(amount_fen=DEPOSIT_CAP, form="transfer", received_on=_deadline_day(setup.tender)) | change
    if values["received_on"] == "deadline+1":
        clock.advance(days=2)  # recorded two days after the opening, arrived the day after the deadline
        values["received_on"] = _deadline_day(setup.tender) + DAY
    elif values["received_on"] == "tomorrow":
        values["received_on"] = workdays.local_date(clock.now) + DAY
    deposits = count(BidDeposit)

    with unchanged(bid), pytest.raises(ValidationError, match=match):
        guarantees.record_deposit(setup.staff, bid, **values)
    assert count(BidDeposit) == deposits


def test_a_deposit_is_recorded_once_and_only_where_one_is_asked(clock, opened):
    setup = opened
    bid = setup.bids[0]
    guarantees.record_deposit(setup.staff, bid, amount_fen=DEPOSIT_CAP, form="transfer",
                              received_on=_deadline_day(setup.tender))
    with unchanged(bid), pytest.raises(DomainError, match="already recorded"):
        guarantees.record_deposit(setup.staff, bid, amount_fen=DEPOSIT_CAP, form="transfer",
                                  received_on=_deadline_day(setup.tender))

    plain = tender_in(S.OPENED, clock)
    with unchanged(plain.bids[0]), pytest.raises(DomainError, match="asks no bid deposit"):
        guarantees.record_deposit(plain.staff, plain.bids[0], amount_fen=1, form="transfer",
                                  received_on=_deadline_day(plain.tender))


@pytest.mark.parametrize("who", OTHER_ROLES)
def test_only_procurement_staff_record_a_deposit(opened, who):
    setup = opened
    bid = setup.bids[0]
    actor = setup.managers[0] if who == "org_manager" else user_for_role(Role(who))
    deposits = count(BidDeposit)

    with unchanged(bid), pytest.raises(PermissionDenied):
        guarantees.record_deposit(actor, bid, amount_fen=DEPOSIT_CAP, form="transfer",
                                  received_on=_deadline_day(setup.tender))
    assert count(BidDeposit) == deposits


def test_no_deposit_is_recorded_before_the_opening(clock):
    setup = tender_in(S.BIDDING_CLOSED, clock, deposit_fen=DEPOSIT_CAP)
    with unchanged(setup.bids[0]), pytest.raises(DomainError):
        guarantees.record_deposit(setup.staff, setup.bids[0], amount_fen=DEPOSIT_CAP, form="transfer",
                                  received_on=_deadline_day(setup.tender))


# --- returning deposits: the last days across National Day 2025 ---------------------------------------

# National Day and Mid-Autumn 2025: 1-8 October off, Saturday 11 October a working day.
AWARD_MOMENT = datetime(2025, 9, 30, 2, 0, tzinfo=timezone.utc)  # Tuesday 30 September, 10:00 local


@pytest.fixture
def awarded_before_national_day(clock):
    clock.set(datetime(2025, 7, 1, 2, 0, tzinfo=timezone.utc))
    setup = tender_in(S.IN_PUBLICITY, clock, deposit_fen=DEPOSIT_CAP)
    assert setup.tender.publicity_ends_at < AWARD_MOMENT
    clock.set(AWARD_MOMENT)
    workflow.confirm_award(setup.staff, setup.tender)
    return setup


def test_the_other_bidders_deposits_are_due_five_working_days_after_the_award_notice(awarded_before_national_day):
    setup = awarded_before_national_day
    losers = [b for b in setup.bids if b.id != setup.tender.awarded_bid_id]

    # Thu 9, Fri 10, Sat 11 (worked), Mon 13, Tue 14 October.
    assert [guarantees.deposit_due(b.deposit)[0] for b in losers] == [date(2025, 10, 14)] * 2


def test_the_winners_deposit_waits_for_the_contract_and_is_due_five_working_days_after_signing(
        awarded_before_national_day, clock):
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import CONTENTS, schedule_rows

    setup = awarded_before_national_day
    winner = setup.tender.awarded_bid
    assert guarantees.deposit_due(winner.deposit)[0] is None
    with unchanged(winner), pytest.raises(DomainError, match="contract is signed"):
        guarantees.return_deposit(setup.staff, winner.deposit, returned_on=date(2025, 9, 30))

    clock.set(datetime(2025, 10, 9, 2, 0, tzinfo=timezone.utc))
    start, end = date(2025, 10, 15), date(2026, 10, 14)
    contract = contracts.create_contract(setup.staff, setup.tender, start_date=start, end_date=end, **CONTENTS)
    contracts.set_milestones(setup.staff, contract, schedule_rows(start, end))
    contracts.sign_contract(setup.staff, contract, date(2025, 10, 9))

    # Fri 10, Sat 11 (worked), Mon 13, Tue 14, Wed 15 October.
    assert guarantees.deposit_due(winner.deposit)[0] == date(2025, 10, 15)


def test_a_deposit_returned_is_recorded_once_with_its_last_day(awarded_before_national_day, clock):
    setup = awarded_before_national_day
    loser = next(b for b in setup.bids if b.id != setup.tender.awarded_bid_id)
    clock.set(datetime(2025, 10, 15, 2, 0, tzinfo=timezone.utc))

    guarantees.return_deposit(setup.staff, loser.deposit, returned_on=date(2025, 10, 15))

    assert loser.deposit.returned_on == date(2025, 10, 15)
    [event] = audit_events("bid.deposit_returned", object_id=str(loser.id))
    assert event.changes["due_on"] == [None, "2025-10-14"] and event.changes["late"] == [None, True]
    with unchanged(loser.deposit), pytest.raises(DomainError, match="already returned"):
        guarantees.return_deposit(setup.staff, loser.deposit, returned_on=date(2025, 10, 15))


def test_a_deposit_is_not_returned_before_the_award_nor_dated_before_its_receipt(clock):
    setup = tender_in(S.SCORED, clock, deposit_fen=DEPOSIT_CAP)
    deposit = setup.bids[0].deposit
    with unchanged(deposit), pytest.raises(DomainError, match="award notice"):
        guarantees.return_deposit(setup.staff, deposit, returned_on=workdays.local_date(clock.now))

    workflow.cancel_tender(setup.staff, setup.tender, "预算调整，项目暂停。")
    with unchanged(deposit), pytest.raises(ValidationError, match="after it was received"):
        guarantees.return_deposit(setup.staff, deposit, returned_on=deposit.received_on - DAY)
    # A cancelled tender returns every deposit within five working days of its end (财政部令第87号第二十九条).
    due, why = guarantees.deposit_due(deposit)
    assert due == workdays.add_working_days(workdays.local_date(setup.tender.status_changed_at), 5)
    assert "第二十九条" in why


@pytest.mark.parametrize("who", OTHER_ROLES)
def test_only_procurement_staff_record_a_return(awarded_before_national_day, who):
    setup = awarded_before_national_day
    loser = next(b for b in setup.bids if b.id != setup.tender.awarded_bid_id)
    actor = setup.managers[setup.bids.index(loser)] if who == "org_manager" else user_for_role(Role(who))
    with unchanged(loser.deposit), pytest.raises(PermissionDenied):
        guarantees.return_deposit(actor, loser.deposit, returned_on=date(2025, 9, 30))


# --- the small and micro enterprise deduction ---------------------------------------------------------


def test_the_scoring_formula_compares_the_evaluated_prices():
    bids = [BidInput(1, 40_000_000, (Decimal(60),)), BidInput(2, 42_000_000, (Decimal(60),), 1, 37_800_000)]

    results = {r.bid_id: r for r in rank_bids(bids, Decimal(20))}

    assert results[2].price == Decimal("20.00") and results[2].rank == 1
    assert results[1].price == Decimal("18.90") and results[1].rank == 2


def test_the_evaluated_price_is_rounded_to_the_fen():
    assert guarantees.evaluated_price(1_001, 10) == 901   # 900.9 -> 901
    assert guarantees.evaluated_price(1_005, 10) == 905   # 904.5 -> 905 (half up)
    assert guarantees.evaluated_price(1_005, None) == 1_005


def _orgs(*scales):
    return [OrganizationFactory(rating=OrgRating.A4, scale=scale) for scale in scales]


def _even_points(expert_index, bid_index, criterion_index):
    return (Decimal(40), Decimal(20))[criterion_index]


@pytest.mark.parametrize("scale, wins", [(OrgScale.SMALL, True), (OrgScale.MICRO, True), (OrgScale.MEDIUM, False),
                                         (OrgScale.UNSTATED, False)])
def test_the_deduction_changes_the_ranking_but_not_the_contract_amount(clock, scale, wins):
    """Equal non-price scores: the price decides. ¥420,000 from a small enterprise is evaluated at
    ¥378,000 (10 %) and beats ¥400,000; the contract is signed at ¥420,000."""
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import CONTENTS

    setup = tender_in(S.AWARDED, clock, orgs=_orgs(OrgScale.UNSTATED, scale, OrgScale.LARGE),
                      prices=[45_000_000, 42_000_000, 40_000_000], points=_even_points)
    small = setup.bids[1]

    assert small.deduction_percent == (10 if wins else None)
    assert small.evaluated_price_fen == (37_800_000 if wins else 42_000_000)
    assert (setup.tender.awarded_bid_id == small.id) is wins
    if wins:
        assert small.price_score == Decimal("20.00") and setup.bids[2].price_score == Decimal("18.90")
        clock.advance(days=1)
        today = workdays.local_date(clock.now)
        contract = contracts.create_contract(setup.staff, setup.tender, start_date=today,
                                             end_date=today + timedelta(days=300), **CONTENTS)
        assert contract.amount_fen == contract.original_amount_fen == 42_000_000


@pytest.mark.parametrize("method", [TenderMethod.INQUIRY, TenderMethod.COMPETITIVE_NEGOTIATION])
def test_lowest_price_methods_compare_the_evaluated_prices(clock, method):
    setup = tender_in(S.SCORED, clock, method=method, orgs=_orgs(OrgScale.LARGE, OrgScale.MICRO, OrgScale.LARGE),
                      prices=[45_000_000, 42_000_000, 40_000_000], sme_deduction_percent=20)

    assert setup.bids[1].evaluated_price_fen == 33_600_000
    assert [b.rank for b in setup.bids] == [3, 1, 2]


def test_a_single_source_bid_takes_no_deduction(clock):
    setup = tender_in(S.SCORED, clock, method=TenderMethod.SINGLE_SOURCE, orgs=_orgs(OrgScale.SMALL),
                      prices=[40_000_000], experts=[UserFactory(role=Role.EXPERT)], quick=True)
    assert setup.bids[0].deduction_percent is None and setup.bids[0].evaluated_price_fen == 40_000_000


# --- abnormally low bids ------------------------------------------------------------------------------

# Mean of 40, 37 and 28 (x ¥10,000) is 35; 80 % of it is 28: exactly 28 is not abnormally low.
AT_THRESHOLD = [40_000_000, 37_000_000, 28_000_000]
BELOW = [40_000_000, 37_000_000, 27_999_999]


@pytest.mark.parametrize("prices, low", [(AT_THRESHOLD, False), (BELOW, True)])
def test_a_bid_below_eighty_percent_of_the_mean_is_abnormally_low(clock, prices, low):
    setup = tender_in(S.OPENED, clock, prices=prices)
    assert guarantees.abnormally_low(workflow.scorable_bids(setup.tender)) == ([setup.bids[2]] if low else [])


def test_the_threshold_is_a_setting(clock, app, monkeypatch):
    setup = tender_in(S.OPENED, clock, prices=AT_THRESHOLD)
    monkeypatch.setitem(app.config, "ABNORMALLY_LOW_PERCENT_OF_MEAN", 81)
    assert guarantees.abnormally_low(workflow.scorable_bids(setup.tender)) == [setup.bids[2]]


@pytest.fixture
def low(clock):
    """Opened, scored by every expert, the third bid abnormally low and not yet explained."""
    setup = tender_in(S.OPENED, clock, prices=BELOW)
    score_all(setup)
    return setup


def test_the_ranking_is_refused_naming_the_bids_awaiting_an_explanation(low):
    with unchanged(low.tender, *low.bids), pytest.raises(DomainError) as refused:
        workflow.finish_scoring(low.staff, low.tender)
    assert low.orgs[2].name in refused.value.message and low.orgs[0].name not in refused.value.message
    assert "财政部令第87号第六十条" in refused.value.message


def test_an_explanation_accepted_by_the_panel_lets_the_bid_be_ranked(low):
    bid = low.bids[2]
    guarantees.explain_low_bid(low.managers[2], bid, "本机构有志愿者团队与街道场地支持，人力成本较低。",
                               pdf_upload("成本说明.pdf", "cost"))
    with unchanged(low.tender), pytest.raises(DomainError, match="第六十条"):
        workflow.finish_scoring(low.staff, low.tender)  # explained, not yet accepted

    guarantees.accept_low_bid_explanation(low.experts[0], bid)
    workflow.finish_scoring(low.staff, low.tender)

    assert low.tender.status == S.SCORED and bid.rank is not None and bid.low_price_file is not None
    assert [e.action for e in audit_events(object_type="bid", object_id=str(bid.id))][-2:] == [
        "bid.low_price_explained", "bid.low_price_accepted"]


def test_a_bid_whose_price_is_not_explained_is_ruled_invalid_with_the_reason(low):
    bid = low.bids[2]

    guarantees.reject_low_bid(low.staff, bid, "未能说明报价合理性。")

    assert bid.valid is False and "未能说明报价合理性" in bid.invalid_reason and "第六十条" in bid.invalid_reason
    [event] = audit_events("bid.low_price_rejected", object_id=str(bid.id))
    assert event.changes["valid"] == [None, False]


def test_the_panel_accepts_only_an_explanation_given(low):
    bid = low.bids[2]
    with unchanged(bid), pytest.raises(DomainError, match="not explained the price"):
        guarantees.accept_low_bid_explanation(low.staff, bid)
    with unchanged(bid), pytest.raises(ValidationError, match="reason"):
        guarantees.reject_low_bid(low.staff, bid, "  ")


def test_only_an_abnormally_low_bid_is_explained_or_ruled_on(low):
    bid = low.bids[0]
    with unchanged(bid), pytest.raises(DomainError, match="No explanation"):
        guarantees.explain_low_bid(low.managers[0], bid, "我方报价合理，成本测算见附件。")
    with unchanged(bid), pytest.raises(DomainError, match="No explanation"):
        guarantees.reject_low_bid(low.staff, bid, "报价过低。")


def test_a_short_explanation_is_refused(low):
    bid = low.bids[2]
    with unchanged(bid), pytest.raises(ValidationError, match="Explain in writing"):
        guarantees.explain_low_bid(low.managers[2], bid, "成本低")


@pytest.mark.parametrize("who", ["admin", "expert", "other_manager", "procurement", "social_worker", "evaluator",
                                 "auditor"])
def test_only_the_bidders_own_manager_explains(low, who):
    bid = low.bids[2]
    actor = {"expert": low.experts[0], "other_manager": low.managers[0]}.get(who) or user_for_role(Role(who))
    with unchanged(bid), pytest.raises(PermissionDenied):
        guarantees.explain_low_bid(actor, bid, "本机构有志愿者团队与街道场地支持，人力成本较低。")


@pytest.mark.parametrize("who", ["admin", "org_manager", "social_worker", "evaluator", "auditor", "outside_expert"])
def test_only_the_panel_or_procurement_staff_rule_on_a_low_bid(low, who):
    bid = low.bids[2]
    guarantees.explain_low_bid(low.managers[2], bid, "本机构有志愿者团队与街道场地支持，人力成本较低。")
    actor = {"org_manager": low.managers[2], "outside_expert": UserFactory(role=Role.EXPERT)}.get(who) \
        or user_for_role(Role(who))
    with unchanged(bid), pytest.raises(PermissionDenied):
        guarantees.accept_low_bid_explanation(actor, bid)
    with unchanged(bid), pytest.raises(PermissionDenied):
        guarantees.reject_low_bid(actor, bid, "报价过低。")
