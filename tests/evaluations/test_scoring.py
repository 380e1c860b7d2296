"""Scoring: what an evaluator may give each leaf and when, submitting, independence (the result
counts only submitted scores of evaluators without a conflict) and multi-party aggregation with
uneven numbers of evaluators, checked against numbers worked out by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationScore, RoundStatus
from svcproc.evaluations.results import round_result, submitted_scores
from tests.builders.evaluations import actions_after, count_of, stored, unchanged
from tests.helpers import audit_events, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")
R = RoundStatus
D = Decimal
ONE_PARTY = {"parties": (("第三方", "100"),), "team": {"第三方": ("tp1", "tp2")}}


@pytest.fixture
def round_(world):
    return world.scoring(**ONE_PARTY)


@pytest.fixture
def tp1(world, round_):
    member = world.member(round_, "tp1")
    ev.declare(world.users["tp1"], member, related=False)
    return member


# --- points -------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, kept", [("0", D("0")), ("20", D("20")), ("12.5", D("12.5")), (" 9.75 ", D("9.75")),
                                         ("12.50", D("12.5")), (D("7.25"), D("7.25")), (15, D(15))])
def test_points_from_0_to_the_leaf_weight_with_two_decimals(world, round_, tp1, given, kept):
    seq = last_seq()

    score = ev.save_score(world.users["tp1"], tp1, "a.x", given, " 方案目标清晰 ")

    assert (stored(score).points, score.comment, score.leaf_key) == (kept, "方案目标清晰", "a.x")
    assert actions_after(seq) == ["evaluation.score_saved"]


@pytest.mark.parametrize("given", ["-0.01", "20.01", "21", "1e3", "1.234", "0.001", "NaN", "sNaN", "Infinity",
                                   "-Infinity"])
def test_points_outside_the_leaf_or_with_more_decimals_are_refused(world, round_, tp1, given):
    with unchanged(tp1), pytest.raises(ValidationError) as refused:
        ev.save_score(world.users["tp1"], tp1, "a.x", given, "说明")

    assert refused.value.message == _("Give %(name)s between 0 and %(max)s points.", name="项目方案", max="20")
    assert refused.value.field == "points"


@pytest.mark.parametrize("given", ["", "  ", None, "十八", "18分"])
def test_points_must_be_a_number(world, round_, tp1, given):
    with unchanged(tp1), pytest.raises(ValidationError) as refused:
        ev.save_score(world.users["tp1"], tp1, "a.x", given, "说明")

    assert refused.value.message == _("Give %(name)s a number of points.", name="项目方案")


@pytest.mark.parametrize("leaf_key", ["b.events", "b.sat", "a", "b", "management.plan", ""])
def test_only_evaluator_leaves_of_the_rounds_template_are_scored(world, round_, tp1, leaf_key):
    with unchanged(tp1), pytest.raises(DomainError) as refused:
        ev.save_score(world.users["tp1"], tp1, leaf_key, "10", "说明")

    assert refused.value.message == _("That indicator is not scored by evaluators.")
    assert count_of(EvaluationScore, EvaluationScore.evaluator_id == tp1.id) == 0


def test_saving_again_updates_the_one_score(world, round_, tp1):
    user = world.users["tp1"]
    ev.save_score(user, tp1, "a.x", "10", "初评")
    seq = last_seq()

    ev.save_score(user, tp1, "a.x", "12", "复核后上调")

    assert count_of(EvaluationScore, EvaluationScore.evaluator_id == tp1.id) == 1
    assert [(s.points, s.comment) for s in stored(tp1).scores] == [(D(12), "复核后上调")]
    assert actions_after(seq) == ["evaluation.score_saved"]
    seq = last_seq()
    ev.save_score(user, tp1, "a.x", "12.00", "复核后上调")    # the same again: nothing to record
    assert actions_after(seq) == []


def test_the_audit_trail_of_a_score_does_not_reveal_the_points(world, round_, tp1):
    ev.save_score(world.users["tp1"], tp1, "a.x", "17.5", "较好")

    [event] = audit_events("evaluation.score_saved")
    assert "17.5" not in repr(event.changes)


# --- who scores, when ---------------------------------------------------------------------------


def test_an_evaluator_declares_before_scoring(world, round_):
    member = world.member(round_, "tp1")

    with unchanged(member), pytest.raises(DomainError) as refused:
        ev.save_score(world.users["tp1"], member, "a.x", "10", "说明")

    assert refused.value.message == _("Make your conflict declaration before scoring.")


def test_a_conflicted_evaluator_cannot_score(world, round_):
    member = world.member(round_, "tp1")
    ev.declare(world.users["tp1"], member, related=True, note="配偶在该机构任职")

    with unchanged(member), pytest.raises(DomainError) as refused:
        ev.save_score(world.users["tp1"], member, "a.x", "10", "说明")

    assert refused.value.message == _("You declared a relation with the evaluated organization and cannot score it.")


@pytest.mark.parametrize("who", ["tp2", "procurement", "admin", "manager", "auditor", "evaluator"])
def test_nobody_scores_on_someone_elses_behalf(world, round_, tp1, who):
    with unchanged(tp1), pytest.raises(PermissionDenied):
        ev.save_score(world.users[who], tp1, "a.x", "10", "说明")
    with unchanged(tp1), pytest.raises(PermissionDenied):
        ev.submit_scores(world.users[who], tp1)


@pytest.mark.parametrize("status", list(R))
def test_scores_are_saved_and_submitted_only_while_scoring(world, status):
    round_ = world.round_in(status, **ONE_PARTY)
    member = world.member(round_, "tp1")
    user = world.users["tp1"]
    if status in (R.PLANNED, R.SCORING):
        ev.declare(user, member, related=False)

    if status == R.SCORING:
        world.score(round_, "tp1", declare=False)
        assert stored(member).submitted_at is not None
        return
    with unchanged(member, round_), pytest.raises(DomainError) as refused:
        ev.save_score(user, member, "a.x", "10", "说明")
    assert refused.value.message == _("This is not possible while the evaluation is %(status)s.",
                                      status=ev.status_label(status))
    with unchanged(member, round_), pytest.raises(DomainError):
        ev.submit_scores(user, member)


# --- submitting ---------------------------------------------------------------------------------


def test_submitting_needs_points_for_every_leaf(world, round_, tp1):
    ev.save_score(world.users["tp1"], tp1, "a.x", "15", "较好")

    with unchanged(tp1), pytest.raises(DomainError) as refused:
        ev.submit_scores(world.users["tp1"], tp1)

    assert refused.value.message == _("Give points and a comment for every indicator; still missing: %(names)s.",
                                      names="团队督导")
    assert tp1.submitted_at is None


def test_submitting_needs_a_comment_on_every_leaf(world, round_, tp1):
    ev.save_score(world.users["tp1"], tp1, "a.x", "15", "  ")
    ev.save_score(world.users["tp1"], tp1, "a.y", "15", "督导记录完整")

    with unchanged(tp1), pytest.raises(DomainError) as refused:
        ev.submit_scores(world.users["tp1"], tp1)

    assert refused.value.message == _("Give points and a comment for every indicator; still missing: %(names)s.",
                                      names="项目方案")


def test_nothing_scored_lists_every_leaf(world, round_, tp1):
    assert ev.missing_scores(tp1) == ["项目方案", "团队督导"]


def test_submitted_scores_are_final(world, round_, tp1):
    world.score(round_, "tp1")
    [event] = audit_events("evaluation.evaluator_submitted")
    assert event.changes == {"evaluator": [None, "tp1"]}

    with unchanged(tp1), pytest.raises(DomainError) as refused:
        ev.save_score(world.users["tp1"], tp1, "a.x", "1", "改分")
    assert refused.value.message == _("You have submitted your scores; they can no longer change.")
    with unchanged(tp1), pytest.raises(DomainError):
        ev.submit_scores(world.users["tp1"], tp1)


# --- independence: only submitted scores count ------------------------------------------------


def test_the_result_counts_only_submitted_scores(world, round_):
    world.score(round_, "tp1", {"a.x": "18", "a.y": "15"})
    world.score(round_, "tp2", {"a.x": "2", "a.y": "3"}, submit=False)

    assert submitted_scores(round_) == {"第三方": {"tp1": {"a.x": D(18), "a.y": D(15)}}}
    assert (round_result(round_).leaves["a.x"], round_result(round_).leaves["a.y"]) == (D("18.00"), D("15.00"))

    ev.submit_scores(world.users["tp2"], world.member(round_, "tp2"))

    assert (round_result(round_).leaves["a.x"], round_result(round_).leaves["a.y"]) == (D("10.00"), D("9.00"))


def test_a_conflicted_evaluator_is_left_out_of_the_result(world):
    round_ = world.scoring()
    cm1 = world.member(round_, "cm1")
    ev.declare(world.users["cm1"], cm1, related=True, note="曾为该机构督导")
    for name in ("tp1", "tp2", "tp3", "bureau"):
        world.score(round_, name, {"a.x": "16", "a.y": "16"})
    world.score(round_, "cm2", {"a.x": "6", "a.y": "19"})

    result = round_result(round_)

    assert set(submitted_scores(round_)["社区"]) == {"cm2"}
    assert result.by_party["社区"] == {"a.x": D("6.00"), "a.y": D("19.00")}
    assert result.leaves["a.x"] == D("15.00")        # (70 × 16 + 20 × 16 + 10 × 6) / 100


# --- aggregation across parties with uneven numbers of evaluators --------------------------------

# third party 70 with three evaluators, bureau 20 with one, community 10 with two
MARKS = {"tp1": ("18", "15"), "tp2": ("16", "15"), "tp3": ("14", "16"),
         "bureau": ("20", "12"),
         "cm1": ("10", "19"), "cm2": ("12", "20")}


def test_parties_are_weighted_and_each_party_is_the_mean_of_its_evaluators(world):
    round_ = world.scoring()
    for name, (x, y) in MARKS.items():
        world.score(round_, name, {"a.x": x, "a.y": y})

    result = round_result(round_)

    assert result.by_party == {
        "第三方": {"a.x": D("16.00"), "a.y": D("15.33")},     # (18+16+14)/3, (15+15+16)/3
        "区民政局": {"a.x": D("20.00"), "a.y": D("12.00")},
        "社区": {"a.x": D("11.00"), "a.y": D("19.50")},      # (10+12)/2, (19+20)/2
    }
    # a.x: (70 × 16 + 20 × 20 + 10 × 11) / 100 = 16.30 — not the plain mean of six evaluators (15.00)
    # a.y: (70 × 15.333… + 20 × 12 + 10 × 19.5) / 100 = 15.0833… → 15.08
    assert (result.leaves["a.x"], result.leaves["a.y"]) == (D("16.30"), D("15.08"))
    # computed: 10 events of 12 (83.3 %): two thirds of 30; 92 % satisfied against 90 %: full 30
    assert (result.leaves["b.events"], result.leaves["b.sat"]) == (D("20.00"), D("30.00"))
    assert (result.nodes["a"], result.nodes["b"]) == (D("31.38"), D("50.00"))
    assert (result.total, result.grade) == (D("81.38"), "good")


def test_finalizing_locks_in_the_same_numbers(world):
    round_ = world.scoring()
    for name, (x, y) in MARKS.items():
        world.score(round_, name, {"a.x": x, "a.y": y})

    ev.finalize(world.staff, round_)

    round_ = stored(round_)
    assert (round_.total, round_.grade) == (D("81.38"), "good")
    assert round_.result["nodes"] == {"a.x": "16.30", "a.y": "15.08", "a": "31.38", "b.events": "20.00",
                                      "b.sat": "30.00", "b": "50.00"}
    assert round_.result["by_party"]["第三方"] == {"a.x": "16.00", "a.y": "15.33"}
