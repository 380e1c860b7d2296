"""The comprehensive scoring method: price score, totals and ranking; the panel's declarations,
score bounds, submissions, independence and size."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import workflow
from svcproc.procurement.models import Bid, ExpertScore, TenderExpert, TenderMethod, TenderStatus
from svcproc.procurement.scoring import BidInput, price_score, rank_bids
from tests.builders.accounts import UserFactory
from tests.builders.procurement import DAY, TenderSetup, score_all, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, every_get_url, in_page, login, unchanged

# The opened tenders most tests start from are built once (see `opened` and `scoring`).
pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus
D = Decimal


# --- the formula (pure functions) ---------------------------------------------------------------


@pytest.mark.parametrize("lowest, price, weight, expected", [
    (40_000_000, 40_000_000, D(20), D("20.00")),
    (40_000_000, 42_000_000, D(20), D("19.05")),      # 19.0476…
    (40_000_000, 45_000_000, D(20), D("17.78")),      # 17.7777…
    (40_000_000, 42_000_000, D(30), D("28.57")),      # 28.5714…
    (40_000_000, 45_000_000, D("12.5"), D("11.11")),  # 11.1111…
    (1, 16, D(10), D("0.63")),                        # 0.625: half up, not to even
    (1, 8, D(10), D("1.25")),
])
def test_price_score_is_lowest_over_price_times_weight(lowest, price, weight, expected):
    score = price_score(lowest, price, weight)

    assert score == expected
    assert score.as_tuple().exponent == -2


@pytest.mark.parametrize("price", [0, -1])
def test_price_score_refuses_a_price_that_is_not_positive(price):
    with pytest.raises(ValueError):
        price_score(1, price, D(20))


def test_totals_are_the_mean_of_the_experts_plus_the_price_score():
    [result] = rank_bids([BidInput(1, 40_000_000, (D(72), D(70), D("71.5")))], D(20))

    assert (result.technical, result.price, result.total, result.rank) == (D("71.17"), D("20.00"), D("91.17"), 1)


def test_ranking_by_total():
    results = rank_bids([BidInput(1, 45_000_000, (D(72),) * 3), BidInput(2, 42_000_000, (D(65),) * 3),
                         BidInput(3, 40_000_000, (D(55),) * 3)], D(20))

    assert [(r.bid_id, r.technical, r.price, r.total, r.rank) for r in results] == [
        (1, D("72.00"), D("17.78"), D("89.78"), 1),
        (2, D("65.00"), D("19.05"), D("84.05"), 2),
        (3, D("55.00"), D("20.00"), D("75.00"), 3),
    ]


def test_a_tie_on_total_goes_to_the_lower_price():
    # 60 + 20.00 = 80.00 and 64 + 16.00 = 80.00; the dearer bid came first and has the better non-price score.
    results = rank_bids([BidInput(7, 12_500, (D(64),), submitted_order=0),
                         BidInput(8, 10_000, (D(60),), submitted_order=1)], D(20))

    assert [(r.bid_id, r.total, r.rank) for r in results] == [(8, D("80.00"), 1), (7, D("80.00"), 2)]


def test_a_complete_tie_goes_to_the_earlier_submission():
    # "Then higher non-price score" cannot decide here: at equal prices the price scores are equal,
    # so equal totals already mean equal non-price scores.
    results = rank_bids([BidInput(1, 10_000, (D(60),), submitted_order=1),
                         BidInput(2, 10_000, (D(60),), submitted_order=0)], D(20))

    assert [r.bid_id for r in results] == [2, 1]


def test_rank_bids_of_nothing_is_nothing():
    assert rank_bids([], D(20)) == []


# --- the formula through finish_scoring ---------------------------------------------------------


def test_finish_scoring_stores_exact_scores_and_ranks(clock):
    setup = tender_in(S.SCORED, clock)

    db.session.expire_all()
    stored = [(b.technical_score, b.price_score, b.total_score, b.rank, b.valid) for b in db.session.execute(
        db.select(Bid).where(Bid.tender_id == setup.tender.id).order_by(Bid.id)).unique().scalars()]
    assert stored == [(D("72.00"), D("17.78"), D("89.78"), 1, True),
                      (D("65.00"), D("19.05"), D("84.05"), 2, True),
                      (D("55.00"), D("20.00"), D("75.00"), 3, True)]
    assert setup.tender.scored_at == clock.now
    [event] = audit_events("tender.scored", object_id=str(setup.tender.id))
    assert event.changes["ranking"][1] == [[setup.orgs[0].name, "89.78", 1], [setup.orgs[1].name, "84.05", 2],
                                           [setup.orgs[2].name, "75.00", 3]]


def test_finish_scoring_breaks_a_tie_by_the_lower_price(clock):
    # Bidder 0 (¥500,000, non-price 64) ties bidder 1 (¥400,000, non-price 60) at 80.00.
    points = {0: (D(40), D(24)), 1: (D(35), D(25)), 2: (D(30), D(20))}
    setup = tender_in(S.SCORED, clock, prices=[50_000_000, 40_000_000, 45_000_000],
                      points=lambda e, b, c: points[b][c])

    assert [(b.total_score, b.rank) for b in setup.bids] == [(D("80.00"), 2), (D("80.00"), 1), (D("67.78"), 3)]


def test_the_experts_mean_is_rounded_half_up(clock):
    # Non-price totals 70, 70 and 71 from the three experts of a consultation: mean 70.333… -> 70.33.
    setup = tender_in(S.SCORED, clock, method=TenderMethod.COMPETITIVE_CONSULTATION,
                      points=lambda e, b, c: (D(45) + (1 if e == 2 and b == 0 else 0), D(25))[c])

    assert setup.bids[0].technical_score == D("70.33")
    assert setup.bids[0].total_score == D("88.11")  # 70.33 + 17.78


def test_propose_award_takes_the_top_ranked_bid(clock):
    setup = tender_in(S.AWARD_PROPOSED, clock)

    assert setup.tender.proposed_bid_id == setup.bids[0].id


# --- scores: bounds, completeness, after submission ---------------------------------------------


def _opened(clock, declared: bool) -> dict:
    setup = tender_in(S.OPENED, clock)
    clock.set(setup.tender.opening_at + DAY)
    if declared:
        for expert, member in zip(setup.experts, setup.members):
            workflow.declare_conflicts(expert, member, [], "")
    return setup.saved(clock)


@pytest.fixture(scope="module")
def built_scoring(build_once):
    return build_once(lambda clock: _opened(clock, declared=True))


@pytest.fixture(scope="module")
def built_opened(build_once):
    return build_once(lambda clock: _opened(clock, declared=False))


@pytest.fixture
def scoring(built_scoring, clock):
    """An opened tender whose experts have declared no conflict; the clock a day after the opening."""
    return TenderSetup.restored(built_scoring, clock)


@pytest.fixture
def opened(built_opened, clock):
    """An opened tender, no declarations yet; the clock a day after the opening."""
    return TenderSetup.restored(built_opened, clock)


@pytest.mark.parametrize("points", ["-0.01", "50.01", "51", "abc", "", "12.345", "NaN", "Infinity", "1e1000"])
def test_a_score_outside_zero_to_the_criterion_weight_is_refused(scoring, points):
    expert, member = scoring.experts[0], scoring.members[0]
    criterion = scoring.tender.criteria[0]  # worth 50

    with unchanged(member), pytest.raises(ValidationError):
        workflow.save_score(expert, member, scoring.bids[0], criterion, points)

    assert count(ExpertScore, ExpertScore.tender_expert_id == member.id) == 0


@pytest.mark.parametrize("points", ["0", "50", "49.5", "0.01"])
def test_a_score_within_the_bounds_is_saved(clock, scoring, points):
    expert, member = scoring.experts[0], scoring.members[0]

    score = workflow.save_score(expert, member, scoring.bids[0], scoring.tender.criteria[0], points)

    assert (score.points, score.updated_at) == (D(points), clock.now)
    [event] = audit_events("tender.score_saved")
    assert event.changes["points"] == [None, str(D(points))]


def test_the_score_cell_answers_422_with_the_message(client, scoring):
    login(client, scoring.experts[0])
    bid, criterion = scoring.bids[0], scoring.tender.criteria[1]  # worth 30

    with unchanged():
        response = client.post(f"/procurement/tenders/{scoring.tender.id}/score/{bid.id}/{criterion.id}",
                               data={"points": "31"}, headers={"HX-Request": "true"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and 'value="31"' in html


def test_submitting_with_a_score_missing_is_refused(scoring):
    expert, member = scoring.experts[0], scoring.members[0]
    for bid in scoring.bids:
        for criterion in scoring.tender.criteria:
            if (bid, criterion) != (scoring.bids[2], scoring.tender.criteria[1]):
                workflow.save_score(expert, member, bid, criterion, "10")

    with unchanged(member), pytest.raises(DomainError) as refused:
        workflow.submit_scores(expert, member)

    assert "1" in refused.value.message
    assert member.submitted_at is None


def test_submitted_scores_no_longer_change(scoring):
    score_all(scoring)
    expert, member = scoring.experts[0], scoring.members[0]
    cell = next(s for s in member.scores if s.bid_id == scoring.bids[0].id)

    with unchanged(member, cell), pytest.raises(DomainError):
        workflow.save_score(expert, member, scoring.bids[0], scoring.tender.criteria[0], "1")


def test_an_expert_scores_only_with_the_own_panel_seat(scoring):
    other = scoring.experts[1]

    with unchanged(), pytest.raises(PermissionDenied):
        workflow.save_score(other, scoring.members[0], scoring.bids[0], scoring.tender.criteria[0], "10")


def test_a_bid_ruled_invalid_is_not_scored(scoring):
    workflow.rule_bid_invalid(scoring.experts[0], scoring.bids[1], "未提供社工资格证书。")

    with unchanged(), pytest.raises(DomainError):
        workflow.save_score(scoring.experts[0], scoring.members[0], scoring.bids[1], scoring.tender.criteria[0], "10")

    assert workflow.scorable_bids(scoring.tender) == [scoring.bids[0], scoring.bids[2]]


@pytest.mark.parametrize("who", ["expert-off-the-panel", "undeclared-panel-member", "bidder", "auditor"])
def test_only_staff_and_the_declared_panel_rule_a_bid_invalid(opened, who):
    person = {"expert-off-the-panel": lambda: UserFactory(role=Role.EXPERT),
              "undeclared-panel-member": lambda: opened.experts[0],
              "bidder": lambda: opened.managers[1], "auditor": lambda: UserFactory(role=Role.AUDITOR)}[who]()

    with unchanged(opened.bids[0]), pytest.raises(PermissionDenied):
        workflow.rule_bid_invalid(person, opened.bids[0], "未提供社工资格证书。")


@pytest.mark.parametrize("reason", ["", "  "])
def test_ruling_a_bid_invalid_needs_a_reason(scoring, reason):
    with unchanged(scoring.bids[0]), pytest.raises(ValidationError):
        workflow.rule_bid_invalid(scoring.staff, scoring.bids[0], reason)


@pytest.mark.parametrize("status", [S.PUBLISHED, S.BIDDING_CLOSED, S.SCORED, S.IN_PUBLICITY])
def test_bids_are_ruled_invalid_only_while_the_panel_sits(clock, status):
    setup = tender_in(status, clock)

    with unchanged(setup.bids[0]), pytest.raises(DomainError):
        workflow.rule_bid_invalid(setup.staff, setup.bids[0], "未提供社工资格证书。")


# --- conflicts of interest ----------------------------------------------------------------------


def test_an_expert_working_for_a_bidder_is_conflicted(opened):
    expert, member = opened.experts[0], opened.members[0]
    expert.organization_id = opened.orgs[2].id

    workflow.declare_conflicts(expert, member, [], "")

    assert member.conflicted is True
    assert audit_events("tender.expert_declared", object_id=str(opened.tender.id))[0].changes["conflicted"] == [
        None, True]


def test_a_declared_relation_with_a_bidder_is_a_conflict(opened):
    expert, member = opened.experts[0], opened.members[0]

    workflow.declare_conflicts(expert, member, [opened.orgs[1].id, 999_999], "曾在该机构任职。")

    assert (member.conflicted, member.related_org_ids) == (True, [opened.orgs[1].id])


def test_a_relation_with_an_organization_that_did_not_bid_is_no_conflict(opened):
    expert, member = opened.experts[0], opened.members[0]
    expert.organization_id = OrganizationFactory().id

    workflow.declare_conflicts(expert, member, [OrganizationFactory().id], "")

    assert (member.conflicted, member.related_org_ids) == (False, [])


@pytest.mark.parametrize("how", ["employer", "declared"])
def test_a_conflicted_expert_cannot_score_submit_or_rule(client, opened, how):
    expert, member = opened.experts[0], opened.members[0]
    if how == "employer":
        expert.organization_id = opened.orgs[0].id
    workflow.declare_conflicts(expert, member, [opened.orgs[0].id] if how == "declared" else [], "")
    bid, criterion = opened.bids[1], opened.tender.criteria[0]
    login(client, expert)

    with unchanged(member, bid):
        with pytest.raises(DomainError):
            workflow.save_score(expert, member, bid, criterion, "10")
        with pytest.raises(DomainError):
            workflow.submit_scores(expert, member)
        with pytest.raises(PermissionDenied):
            workflow.rule_bid_invalid(expert, bid, "无效。")
        pages = [client.get(f"/procurement/tenders/{opened.tender.id}/score").status_code,
                 client.get(f"/procurement/bids/{bid.id}/documents/{bid.documents[0].id}").status_code,
                 client.get(f"/procurement/tenders/{opened.tender.id}/opening").status_code]

    assert pages == [409, 403, 403]


@pytest.mark.parametrize("status", [S.PUBLISHED, S.BIDDING_CLOSED, S.SCORED, S.IN_PUBLICITY])
def test_the_declaration_is_made_only_while_the_panel_sits(clock, status):
    setup = tender_in(status, clock)
    expert = setup.experts[0]
    member = setup.member_of(expert)

    with unchanged(member), pytest.raises(DomainError):
        workflow.declare_conflicts(expert, member, [], "")


@pytest.mark.parametrize("related, goes_to", [([], "score"), ([0], "tender")])
def test_the_declaration_form_leads_to_scoring_or_away_from_it(client, opened, related, goes_to):
    expert, member = opened.experts[0], opened.members[0]
    login(client, expert)

    response = client.post(f"/procurement/tenders/{opened.tender.id}/declare", data={
        "related": [str(opened.orgs[i].id) for i in related], "note": "", "confirm": "y"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/procurement/tenders/{opened.tender.id}" + (
        "/score" if goes_to == "score" else "")
    assert member.declared_at is not None and member.conflicted is bool(related)


def test_the_declaration_form_needs_the_confirmation(client, opened):
    login(client, opened.experts[0])

    with unchanged(opened.members[0]):
        response = client.post(f"/procurement/tenders/{opened.tender.id}/declare", data={"note": ""})

    assert response.status_code == 422


def test_the_declaration_is_made_once(opened):
    expert, member = opened.experts[0], opened.members[0]
    workflow.declare_conflicts(expert, member, [], "")

    with unchanged(member), pytest.raises(DomainError):
        workflow.declare_conflicts(expert, member, [opened.orgs[0].id], "想起来了")

    assert member.conflicted is False


def test_only_the_expert_declares_for_the_own_seat(opened):
    with unchanged(opened.members[0]), pytest.raises(PermissionDenied):
        workflow.declare_conflicts(opened.experts[1], opened.members[0], [], "")


@pytest.mark.parametrize("stage", ["undeclared", "conflicted"])
def test_an_expert_sees_no_bid_before_a_clean_declaration(client, opened, stage):
    expert, member = opened.experts[0], opened.members[0]
    if stage == "conflicted":
        workflow.declare_conflicts(expert, member, [opened.orgs[0].id], "")
    login(client, expert)
    bid = opened.bids[0]

    responses = [client.get(f"/procurement/tenders/{opened.tender.id}/opening"),
                 client.get(f"/procurement/bids/{bid.id}/documents/{bid.documents[0].id}"),
                 client.get(f"/procurement/tenders/{opened.tender.id}")]
    score = client.get(f"/procurement/tenders/{opened.tender.id}/score")

    assert [r.status_code for r in responses[:2]] == [403, 403]
    for response in responses + [score]:
        assert "¥450,000.00" not in response.get_data(as_text=True)
    assert score.status_code == (303 if stage == "undeclared" else 409)  # to the declaration, or refused


def test_an_expert_scores_and_submits_through_the_pages(client, clock, scoring):
    expert, member = scoring.experts[0], scoring.members[0]
    login(client, expert)
    for bid in scoring.bids:
        for criterion in scoring.tender.criteria:
            saved = client.post(f"/procurement/tenders/{scoring.tender.id}/score/{bid.id}/{criterion.id}",
                                data={"points": "20", "comment": "方案完整"}, headers={"HX-Request": "true"})
            assert saved.status_code == 200

    response = client.post(f"/procurement/tenders/{scoring.tender.id}/score/submit")

    assert response.status_code == 303
    assert member.submitted_at == clock.now
    assert len(member.scores) == 6
    assert audit_events("tender.expert_submitted")[0].changes == {"expert": [None, expert.username]}


# --- independence -------------------------------------------------------------------------------


OTHER_POINTS = (D("37.35"), D("23.85"))  # another expert's scores for bidder 0: 61.20 in all
TELLTALES = ("37.35", "23.85", "61.20", "61.2")


@pytest.mark.parametrize("other_submitted", [False, True])
def test_an_expert_sees_no_other_experts_points_before_submitting(app, client, scoring, other_submitted):
    other, member = scoring.experts[0], scoring.members[0]
    for bid in scoring.bids:
        for criterion, points in zip(scoring.tender.criteria, OTHER_POINTS):
            workflow.save_score(other, member, bid, criterion, points)
    if other_submitted:
        workflow.submit_scores(other, member)
    me = scoring.experts[1]
    bid = scoring.bids[0]
    login(client, me)
    urls = every_get_url(app, {
        "tender_id": scoring.tender.id, "bid_id": bid.id, "document_id": bid.documents[0].id,
        "plan_id": scoring.plan.id, "need_id": 1, "org_id": scoring.orgs[0].id, "worker_id": 1, "area_id": 1,
        "user_id": me.id}, per_endpoint={"public.tender_document": {"document_id": scoring.tender.documents[0].id}})

    seen = {}
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            seen[url] = response.status_code
            text = response.get_data(as_text=True)
            assert not [t for t in TELLTALES if t in text], url

    assert seen[f"/procurement/tenders/{scoring.tender.id}/score"] == 200
    assert seen[f"/procurement/tenders/{scoring.tender.id}"] == 200
    assert seen[f"/procurement/tenders/{scoring.tender.id}/opening"] == 200


# --- the panel ----------------------------------------------------------------------------------


def test_finish_scoring_needs_the_minimum_of_unconflicted_experts(scoring):
    extra_conflicted = scoring.members[2]
    # The third expert turns out to work for a bidder: four unconflicted experts remain, an even
    # number below the public tender's five (财政部令第87号 art. 47).
    extra_conflicted.conflicted = True
    db.session.flush()
    score_all(scoring)

    with unchanged(scoring.tender, *scoring.bids), pytest.raises(DomainError) as refused:
        workflow.finish_scoring(scoring.staff, scoring.tender)

    assert "5" in refused.value.message and "财政部令第87号" in refused.value.message


@pytest.mark.parametrize("missing", ["declaration", "submission"])
def test_finish_scoring_waits_for_every_panel_member(clock, missing):
    setup = tender_in(S.OPENED, clock)
    clock.set(setup.tender.opening_at + DAY)
    score_all(setup)
    if missing == "declaration":
        late = UserFactory(role=Role.EXPERT, full_name="迟到专家")
        workflow.assign_expert(setup.staff, setup.tender, late)
    else:
        setup.members[1].submitted_at = None
        db.session.flush()

    with unchanged(setup.tender), pytest.raises(DomainError) as refused:
        workflow.finish_scoring(setup.staff, setup.tender)

    name = "迟到专家" if missing == "declaration" else setup.experts[1].full_name
    assert name in refused.value.message


@pytest.mark.parametrize("minimum, status", [(5, S.OPENED), (3, S.SCORED)])
def test_the_minimum_number_of_experts_is_configurable(app, monkeypatch, clock, minimum, status):
    monkeypatch.setitem(app.config["MIN_EXPERTS"], "public_tender", 3)
    setup = tender_in(S.OPENED, clock, experts=[UserFactory(role=Role.EXPERT) for _ in range(3)])
    monkeypatch.setitem(app.config["MIN_EXPERTS"], "public_tender", minimum)
    clock.set(setup.tender.opening_at + DAY)
    score_all(setup)

    if status == S.OPENED:
        with unchanged(setup.tender), pytest.raises(DomainError):
            workflow.finish_scoring(setup.staff, setup.tender)
    else:
        workflow.finish_scoring(setup.staff, setup.tender)
    assert setup.tender.status == status


def test_a_single_source_tender_needs_one_expert(clock):
    setup = tender_in(S.SCORED, clock, method=TenderMethod.SINGLE_SOURCE, prices=[48_000_000])

    assert (len(setup.experts), setup.bids[0].rank, setup.bids[0].price_score) == (1, 1, D("20.00"))


@pytest.mark.parametrize("who", ["procurement", "inactive-expert", "already-on-the-panel"])
def test_only_active_experts_not_yet_on_the_panel_are_assigned(clock, who):
    setup = tender_in(S.PUBLISHED, clock)
    person = {"procurement": lambda: UserFactory(role=Role.PROCUREMENT),
              "inactive-expert": lambda: UserFactory(role=Role.EXPERT, active=False),
              "already-on-the-panel": lambda: setup.experts[0]}[who]()

    with unchanged(setup.tender), pytest.raises(ValidationError):
        workflow.assign_expert(setup.staff, setup.tender, person)

    assert count(TenderExpert, TenderExpert.tender_id == setup.tender.id) == len(setup.experts)


@pytest.mark.parametrize("status", [S.SCORED, S.IN_PUBLICITY, S.AWARDED])
def test_the_panel_is_fixed_once_scoring_is_finished(clock, status):
    setup = tender_in(status, clock)

    with unchanged(setup.tender), pytest.raises(DomainError):
        workflow.assign_expert(setup.staff, setup.tender, UserFactory(role=Role.EXPERT))
    with unchanged(setup.members[0]), pytest.raises(DomainError):
        workflow.remove_expert(setup.staff, setup.members[0])


def test_an_expert_who_submitted_stays_on_the_panel(scoring):
    score_all(scoring)

    with unchanged(scoring.members[0]), pytest.raises(DomainError):
        workflow.remove_expert(scoring.staff, scoring.members[0])

    assert count(TenderExpert, TenderExpert.tender_id == scoring.tender.id) == len(scoring.experts)


def test_only_procurement_staff_assign_experts(clock):
    setup = tender_in(S.PUBLISHED, clock)

    with unchanged(setup.tender), pytest.raises(PermissionDenied):
        workflow.assign_expert(setup.experts[0], setup.tender, UserFactory(role=Role.EXPERT))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_submitting_with_a_score_missing_answers_on_the_scoring_page(client, scoring, htmx):
    """No dead end: the refusal sits on the scoring page the expert was on, with the scores kept."""
    expert, member = scoring.experts[0], scoring.members[0]
    workflow.save_score(expert, member, scoring.bids[0], scoring.tender.criteria[0], "10")
    db.session.flush()
    login(client, expert)
    page = f"/procurement/tenders/{scoring.tender.id}/score"
    headers = ({"HX-Request": "true", "HX-Current-URL": f"http://localhost{page}"} if htmx
               else {"Referer": f"http://localhost{page}"})

    with unchanged(member):
        response = client.post(f"{page}/submit", headers=headers)

    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f'data-action="{page}/submit"' in html and 'id="refusal"' in html
    assert in_page(lambda: _("%(n)d scores are still missing; score every criterion of every valid bid.", n=5)) in html
    assert member.submitted_at is None and len(member.scores) == 1
