"""The rules of law a tender is held to (DOMAIN.md "Rules of law"): each by its refusal, with nothing
changed, at its boundary, and with its source named in the message."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import experts as expert_pool
from svcproc.procurement import workflow
from svcproc.procurement.models import AffiliationKind, ServiceCategory, TenderMethod, TenderStatus
from svcproc.registry.models import OrgStatus
from svcproc.registry.workflow import set_organization_status
from tests.builders.accounts import UserFactory
from tests.builders.procurement import (CEILING_FEN, DAY, make_plan, make_ready, new_tender, panel_with, score_all,
                                        tender_in)
from tests.helpers import audit_events, count, unchanged

S = TenderStatus
M = TenderMethod
# 10:00 in Shanghai on Thursday 1 January 2026 (New Year's Day); the periods below count from here.
NEW_YEAR = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)


def _local(year, month, day, hour=9, minute=30) -> datetime:
    return datetime(year, month, day, hour - 8, minute, tzinfo=timezone.utc)


def _dates(deadline: datetime) -> dict:
    return dict(clarification_deadline=deadline - 2 * DAY, bid_deadline=deadline,
                opening_at=deadline + timedelta(hours=1))


# --- bidding periods -----------------------------------------------------------------------------


@pytest.mark.parametrize("method, deadline, allowed, source", [
    # Public tender: 20 days from the documents (1 Jan) -> 21 Jan at the earliest.
    (M.PUBLIC_TENDER, _local(2026, 1, 21), True, "政府采购法》第三十五条"),
    (M.PUBLIC_TENDER, _local(2026, 1, 20, 23, 59), False, "政府采购法》第三十五条"),
    # Consultation: 10 days -> 11 Jan.
    (M.COMPETITIVE_CONSULTATION, _local(2026, 1, 11), True, "财库〔2014〕214号"),
    (M.COMPETITIVE_CONSULTATION, _local(2026, 1, 10), False, "财库〔2014〕214号"),
    # Inquiry and negotiation: 3 working days; New Year (1-3 Jan) off, Sunday 4 Jan a working day:
    # Sun 4, Mon 5, Tue 6.
    (M.INQUIRY, _local(2026, 1, 6), True, "财政部令第74号"),
    (M.INQUIRY, _local(2026, 1, 5), False, "财政部令第74号"),
    (M.COMPETITIVE_NEGOTIATION, _local(2026, 1, 6), True, "财政部令第74号"),
    (M.COMPETITIVE_NEGOTIATION, _local(2026, 1, 5, 17), False, "财政部令第74号"),
])
def test_the_bid_deadline_keeps_the_minimum_period_from_the_documents(clock, staff, method, deadline, allowed,
                                                                      source):
    clock.set(NEW_YEAR)
    plan = make_plan(staff, budget_fen=CEILING_FEN)
    values = dict(title="项目", method=method, ceiling_fen=CEILING_FEN, min_rating="none", price_weight=Decimal(20),
                  description="", publicity_days=7, **_dates(deadline))
    if allowed:
        tender = workflow.create_tender(staff, plan, **values)
        assert tender.bid_deadline == deadline
        return
    with unchanged(plan), pytest.raises(ValidationError) as refused:
        workflow.create_tender(staff, plan, **values)
    assert refused.value.field == "bid_deadline" and source in refused.value.message


@pytest.mark.parametrize("days_later, allowed", [(1, True), (2, False)])
def test_the_period_counts_from_the_publication(clock, staff, days_later, allowed):
    """A draft left lying loses its days: drafted with its deadline 21 days ahead, it can go out the
    next day (20 days left) but not the day after (19)."""
    clock.set(NEW_YEAR)
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN))
    clock.advance(days=days_later)

    if allowed:
        workflow.publish_tender(staff, tender)
        assert tender.status == S.PUBLISHED
        return
    with unchanged(tender), pytest.raises(DomainError) as refused:
        workflow.publish_tender(staff, tender)
    assert "第三十五条" in refused.value.message and tender.status == S.DRAFT


# --- documents and panel before publication ------------------------------------------------------


def test_a_tender_is_not_published_without_documents(clock, staff):
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), ready=False)
    for expert in panel_with():
        workflow.assign_expert(staff, tender, expert)

    with unchanged(tender), pytest.raises(DomainError) as refused:
        workflow.publish_tender(staff, tender)

    assert refused.value.message == _("Add the tender documents before publishing: the notice issues them to bidders.")
    assert tender.status == S.DRAFT


@pytest.mark.parametrize("method, ceiling_fen, size, allowed", [
    (M.PUBLIC_TENDER, CEILING_FEN, 3, False), (M.PUBLIC_TENDER, CEILING_FEN, 4, False),
    (M.PUBLIC_TENDER, CEILING_FEN, 5, True), (M.PUBLIC_TENDER, CEILING_FEN, 6, False),
    (M.PUBLIC_TENDER, 10_000_000 * 100 - 1, 5, True), (M.PUBLIC_TENDER, 10_000_000 * 100, 5, False),
    (M.PUBLIC_TENDER, 10_000_000 * 100, 7, True),
    (M.COMPETITIVE_CONSULTATION, CEILING_FEN, 2, False), (M.COMPETITIVE_CONSULTATION, CEILING_FEN, 3, True),
    (M.COMPETITIVE_NEGOTIATION, CEILING_FEN, 4, False), (M.INQUIRY, CEILING_FEN, 3, True),
    (M.INQUIRY, CEILING_FEN, 0, False),
])
def test_the_panel_is_odd_and_large_enough_for_the_method_and_budget(clock, staff, method, ceiling_fen, size,
                                                                     allowed):
    plan = make_plan(staff, budget_fen=max(ceiling_fen, CEILING_FEN))
    tender = new_tender(staff, plan, method=method, ceiling_fen=ceiling_fen, ready=False)
    make_ready(staff, tender, [UserFactory(role=Role.EXPERT) for _ in range(size)])

    if allowed:
        workflow.publish_tender(staff, tender)
        assert tender.status == S.PUBLISHED
        return
    with unchanged(tender), pytest.raises(DomainError) as refused:
        workflow.publish_tender(staff, tender)
    assert ("财政部令第87号" if method == M.PUBLIC_TENDER else "财") in refused.value.message


# --- the random draw -----------------------------------------------------------------------------


def _pool(n: int, category=ServiceCategory.ELDERLY, staff=None):
    experts = [UserFactory(role=Role.EXPERT) for _ in range(n)]
    for expert in experts:
        expert_pool.set_categories(staff, expert, [category])
    return experts


def test_a_panel_is_drawn_from_the_categorys_pool_and_the_draw_replays(clock, staff):
    pool = _pool(7, staff=staff)
    _pool(3, ServiceCategory.CHILDREN, staff=staff)  # another category's experts are never drawn
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), ready=False)

    members = expert_pool.draw_experts(staff, tender, 5, seed=20260101)

    event = [e for e in audit_events() if e.action == "tender.experts_drawn"][-1]
    seed, drawn_pool, drawn = (event.changes[k][1] for k in ("seed", "pool", "drawn"))
    assert drawn_pool == sorted(e.id for e in pool)
    assert [m.user_id for m in members] == drawn == expert_pool.replay_draw(seed, drawn_pool, 5)
    assert seed == 20260101


def test_a_draw_larger_than_the_pool_is_refused(clock, staff):
    _pool(4, staff=staff)
    tender = new_tender(staff, make_plan(staff, budget_fen=CEILING_FEN), ready=False)

    with unchanged(tender), pytest.raises(DomainError) as refused:
        expert_pool.draw_experts(staff, tender, 5)

    assert "第三十九条" in refused.value.message and tender.experts == []


def test_a_recusal_is_replaced_by_a_new_draw_excluding_experts_tied_to_a_bidder(clock, staff):
    pool = _pool(8, staff=staff)
    setup = tender_in(S.OPENED, clock, staff=staff, experts=pool[:5])
    tied = pool[5]
    expert_pool.add_affiliation(staff, tied, setup.orgs[0], AffiliationKind.FORMER_STAFF, "2024年离职")
    expert_pool.add_affiliation(staff, pool[0], setup.orgs[1], AffiliationKind.STAFF)
    clock.set(setup.tender.opening_at + DAY)

    workflow.declare_conflicts(pool[0], setup.member_of(pool[0]), [], "")
    replacement = expert_pool.draw_experts(staff, setup.tender, 1)

    assert setup.member_of(pool[0]).conflicted
    assert replacement[0].user_id in {pool[6].id, pool[7].id}
    score_all(setup.__class__(**{**setup.__dict__, "experts": [*pool[1:5], replacement[0].user]}))
    workflow.finish_scoring(staff, setup.tender)
    assert setup.tender.status == S.SCORED


def test_an_expert_who_works_for_a_bidder_withdraws_whatever_they_declare(clock, staff):
    setup = tender_in(S.OPENED, clock, staff=staff)
    expert = setup.experts[0]
    expert_pool.add_affiliation(staff, expert, setup.orgs[2], AffiliationKind.RELATION, "配偶任职")
    clock.set(setup.tender.opening_at + DAY)

    workflow.declare_conflicts(expert, setup.member_of(expert), [], "")

    member = setup.member_of(expert)
    assert member.conflicted
    with pytest.raises(DomainError):
        workflow.save_score(expert, member, setup.bids[0], setup.tender.criteria[0], "10")


# --- lowest price for inquiry and negotiation ----------------------------------------------------


@pytest.mark.parametrize("method", [M.INQUIRY, M.COMPETITIVE_NEGOTIATION])
def test_inquiry_and_negotiation_award_the_lowest_compliant_price(clock, method):
    # ¥95,000 with the best technical points against ¥90,000 and ¥92,000 with weaker ones.
    setup = tender_in(S.SCORED, clock, method=method, prices=[9_500_000, 9_000_000, 9_200_000],
                      points=lambda e, b, c: ((Decimal(50), Decimal(30)), (Decimal(20), Decimal(10)),
                                              (Decimal(25), Decimal(12)))[b][c])

    ranks = {b.price_fen: b.rank for b in setup.bids}
    assert ranks == {9_000_000: 1, 9_200_000: 2, 9_500_000: 3}
    workflow.propose_award(setup.staff, setup.tender)
    assert setup.tender.proposed_bid.price_fen == 9_000_000


def test_a_public_tender_still_ranks_by_the_comprehensive_score(clock):
    setup = tender_in(S.SCORED, clock, prices=[9_500_000, 9_000_000, 9_200_000],
                      points=lambda e, b, c: ((Decimal(50), Decimal(30)), (Decimal(20), Decimal(10)),
                                              (Decimal(25), Decimal(12)))[b][c])

    assert {b.price_fen: b.rank for b in setup.bids}[9_500_000] == 1


# --- the publicity period ------------------------------------------------------------------------


def test_the_publicity_period_counts_working_days(clock):
    setup = tender_in(S.AWARD_PROPOSED, clock)
    # Friday 25 Sep 2026, 15:00 in Shanghai: seven working days are Mon 28, Tue 29, Wed 30 Sep, then
    # after the Golden Week Thu 8, Fri 9, the adjusted working Saturday 10 and Monday 12 Oct.
    clock.set(datetime(2026, 9, 25, 7, 0, tzinfo=timezone.utc))

    workflow.start_publicity(setup.staff, setup.tender)

    assert setup.tender.publicity_ends_at == datetime(2026, 10, 12, 16, 0, tzinfo=timezone.utc)


def test_a_publicity_period_below_the_minimum_is_refused(app, monkeypatch, clock, staff):
    monkeypatch.setitem(app.config, "MIN_PUBLICITY_WORKING_DAYS", 3)
    plan = make_plan(staff, budget_fen=CEILING_FEN)

    with unchanged(plan), pytest.raises(ValidationError) as refused:
        new_tender(staff, plan, publicity_days=2)

    assert refused.value.field == "publicity_days" and "第四十三条" in refused.value.message
    assert count(type(plan), type(plan).id == plan.id) == 1


# --- eligibility at every gate -------------------------------------------------------------------


def _gate_of(bid) -> str:
    """The gate at which the audit trail says the bid was ruled out."""
    event = audit_events("bid.ruled_ineligible", object_id=str(bid.id))[-1]
    return event.changes["gate"][1]


def test_a_bidder_put_on_the_dishonesty_list_before_the_opening_is_ruled_out_there(clock):
    setup = tender_in(S.BIDDING_CLOSED, clock, prices=[40_000_000, 42_000_000, 45_000_000, 46_000_000])
    set_organization_status(None, setup.orgs[0], OrgStatus.DISHONEST, "列入严重失信主体名单")
    clock.set(setup.tender.opening_at + timedelta(minutes=5))

    workflow.open_bids(setup.staff, setup.tender)

    bid = setup.bids[0]
    assert (bid.valid, setup.tender.status) == (False, S.OPENED)
    assert _("at the opening") in bid.invalid_reason and setup.orgs[0].name in bid.invalid_reason
    assert _gate_of(bid) == "opening"


def test_a_bidder_suspended_after_the_opening_is_not_ranked(clock):
    setup = tender_in(S.OPENED, clock, prices=[40_000_000, 42_000_000, 45_000_000, 46_000_000])
    clock.set(setup.tender.opening_at + DAY)
    score_all(setup)
    set_organization_status(None, setup.orgs[0], OrgStatus.SUSPENDED, "年检不合格")

    workflow.finish_scoring(setup.staff, setup.tender)

    assert (setup.bids[0].valid, setup.bids[0].rank) == (False, None)
    assert _gate_of(setup.bids[0]) == "ranking"
    assert sorted(b.rank for b in setup.bids[1:]) == [1, 2, 3]


def test_a_proposed_bidder_listed_as_dishonest_during_publicity_is_not_awarded(clock):
    setup = tender_in(S.IN_PUBLICITY, clock)
    first = setup.tender.proposed_bid
    set_organization_status(None, first.organization, OrgStatus.DISHONEST, "列入严重失信主体名单")
    clock.set(setup.tender.publicity_ends_at + timedelta(hours=1))

    workflow.confirm_award(setup.staff, setup.tender)

    assert (setup.tender.status, setup.tender.awarded_bid_id, first.valid) == (S.SCORED, None, False)
    assert _gate_of(first) == "award"
    workflow.propose_award(setup.staff, setup.tender)
    assert setup.tender.proposed_bid.rank == 2


def test_a_ranked_bidder_suspended_before_the_proposal_gives_way_to_the_next(clock):
    setup = tender_in(S.SCORED, clock)
    top = next(b for b in setup.bids if b.rank == 1)
    set_organization_status(None, top.organization, OrgStatus.SUSPENDED, "年检不合格")

    workflow.propose_award(setup.staff, setup.tender)

    assert setup.tender.proposed_bid.rank == 2 and top.valid is False


def test_the_bidder_reads_why_its_bid_was_ruled_out(client, clock):
    from tests.helpers import login

    setup = tender_in(S.BIDDING_CLOSED, clock, prices=[40_000_000, 42_000_000, 45_000_000, 46_000_000])
    set_organization_status(None, setup.orgs[0], OrgStatus.DISHONEST, "列入严重失信主体名单")
    clock.set(setup.tender.opening_at + timedelta(minutes=5))
    workflow.open_bids(setup.staff, setup.tender)
    db.session.flush()
    login(client, setup.managers[0])

    html = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)

    assert setup.bids[0].invalid_reason in html


def test_the_award_button_says_why_the_proposal_was_withdrawn(client, clock):
    from tests.helpers import in_page, login

    setup = tender_in(S.IN_PUBLICITY, clock)
    set_organization_status(None, setup.tender.proposed_bid.organization, OrgStatus.SUSPENDED, "年检不合格")
    clock.set(setup.tender.publicity_ends_at + timedelta(hours=1))
    login(client, setup.staff)

    response = client.post(f"/procurement/tenders/{setup.tender.id}/do/confirm")

    tender = db.session.get(type(setup.tender), setup.tender.id)
    assert response.status_code == 303 and tender.status == S.SCORED and "年检不合格" in tender.status_reason
    html = client.get(f"/procurement/tenders/{tender.id}").get_data(as_text=True)
    assert in_page(lambda: _("The proposal was withdrawn: %(r)s Propose the next-ranked bid.",
                             r=tender.status_reason)) in html
