"""The evaluator's scoring page: each leaf saved by htmx with live totals, refusals that keep what
was typed and change nothing, and the page locked once the scores are submitted."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import ngettext

from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationScore, RoundStatus
from tests.builders.evaluations import count_of, unchanged
from tests.helpers import in_page, is_fragment, login

pytestmark = pytest.mark.usefixtures("shared_connection")

HTMX = {"HX-Request": "true"}


@pytest.fixture
def scoring(world, client):
    """A round in scoring whose evaluator tp1 has declared and is logged in."""
    round_ = world.round_in(RoundStatus.SCORING, team={"第三方": ("tp1", "tp2")})
    member = world.member(round_, "tp1")
    ev.declare(world.users["tp1"], member, related=False)
    assert login(client, world.users["tp1"]).status_code == 303
    return round_, member


def _computed_total(round_) -> Decimal:
    return sum((Decimal(v["points"]) for v in round_.computed.values()), Decimal(0))


def test_saving_a_leaf_answers_its_fragment_with_the_total_subtotal_and_missing_count(client, scoring):
    round_, member = scoring

    response = client.post(f"/evaluations/rounds/{round_.id}/score/a.x", data={"points": "15.5", "comment": "方案清楚"},
                           headers=HTMX)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert is_fragment(html)
    assert 'id="leaf-a-x-p"' in html and 'value="15.5"' in html
    # The comment box is not in the answer: nothing typed into it during the save is replaced.
    assert 'name="comment"' not in html
    total = Decimal("15.5") + _computed_total(round_)
    assert f'<strong id="score-total" hx-swap-oob="true">{total.normalize():f}</strong>' in html
    assert '<strong id="sub-a" hx-swap-oob="true">15.5</strong>' in html
    assert 'id="sub-b"' not in html, "only the saved leaf's ancestors are swapped"
    missing = in_page(lambda: ngettext("%(num)d indicator still needs points and a comment",
                                       "%(num)d indicators still need points and a comment", 1))
    assert f'<span id="missing" hx-swap-oob="true">{missing}</span>' in html
    [score] = member.scores
    assert (score.leaf_key, score.points, score.comment) == ("a.x", Decimal("15.5"), "方案清楚")


@pytest.mark.parametrize("points", ["abc", "25", "-1", "3.333", ""])
def test_a_bad_value_answers_422_keeping_the_entry_and_changes_nothing(client, scoring, points):
    round_, member = scoring

    with unchanged(round_, member):
        response = client.post(f"/evaluations/rounds/{round_.id}/score/a.x",
                               data={"points": points, "comment": "我的评语保留"}, headers=HTMX)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert is_fragment(html)
    assert f'value="{points}"' in html and 'aria-invalid="true"' in html
    assert 'id="leaf-a-x-err"' in html and 'hx-swap-oob="true"' in html
    assert 'name="comment"' not in html, "the typed comment stays in the page, untouched"
    assert count_of(EvaluationScore, EvaluationScore.evaluator_id == member.id) == 0


def test_a_bad_value_does_not_replace_a_saved_score(client, world, scoring):
    round_, member = scoring
    ev.save_score(world.users["tp1"], member, "a.x", "12", "已保存")

    with unchanged(round_, member, member.scores[0]):
        response = client.post(f"/evaluations/rounds/{round_.id}/score/a.x", data={"points": "99", "comment": "新"},
                               headers=HTMX)

    assert response.status_code == 422
    assert 'value="99"' in response.get_data(as_text=True)


@pytest.mark.parametrize("leaf_key", ["b.events", "b.sat", "a", "nope"])
def test_a_leaf_evaluators_do_not_score_is_not_found(client, scoring, leaf_key):
    round_, member = scoring

    with unchanged(round_, member):
        response = client.post(f"/evaluations/rounds/{round_.id}/score/{leaf_key}",
                               data={"points": "1", "comment": "x"}, headers=HTMX)

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["cm1", "procurement", "manager"])
def test_someone_not_on_the_round_cannot_score_it(world, make_client, scoring, who):
    round_, member = scoring
    other = make_client()
    login(other, world.users[who])

    with unchanged(round_, member):
        response = other.post(f"/evaluations/rounds/{round_.id}/score/a.x", data={"points": "1", "comment": "x"},
                              headers=HTMX)

    assert response.status_code == 403


def test_submitting_with_comments_missing_is_refused_with_their_names(client, world, scoring):
    round_, member = scoring
    ev.save_score(world.users["tp1"], member, "a.x", "15", "")
    ev.save_score(world.users["tp1"], member, "a.y", "15", "督导记录齐全")

    with unchanged(round_, member):
        response = client.post(f"/evaluations/rounds/{round_.id}/score/submit")

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "项目方案" in html and "团队督导" not in html
    assert member.submitted_at is None


def test_after_submitting_the_inputs_are_disabled_and_saving_is_refused(client, world, scoring):
    round_, member = scoring
    world.score(round_, "tp1", submit=False)

    submitted = client.post(f"/evaluations/rounds/{round_.id}/score/submit")
    page = client.get(f"/evaluations/rounds/{round_.id}/score").get_data(as_text=True)
    with unchanged(round_, member, *member.scores):
        refused = client.post(f"/evaluations/rounds/{round_.id}/score/a.x", data={"points": "1", "comment": "改"},
                              headers=HTMX)

    assert submitted.status_code == 303 and member.submitted_at is not None
    assert page.count('name="points" class="points"') == 2
    assert page.count(" disabled") == 4, "both points and both comments"
    assert "/score/submit" not in page
    assert refused.status_code == 409


def test_the_scoring_page_shows_the_frozen_computed_leaves(client, scoring):
    round_, _member = scoring

    page = client.get(f"/evaluations/rounds/{round_.id}/score")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key, value in round_.computed.items():
        assert f'id="leaf-{key.replace(".", "-")}"' in html
        assert f"{value['points']} / " in html


def test_saving_a_score_issues_as_many_statements_among_many_rounds_and_scores_as_alone(
        client, world, clock, scoring, count_queries):
    """A save touches its own score row and the round's tree: other rounds, other evaluators' scores
    and the evaluator's own earlier scores cost it nothing."""
    round_, member = scoring
    url = f"/evaluations/rounds/{round_.id}/score/a.x"
    client.post(url, data={"points": "10", "comment": "初评"}, headers=HTMX)
    with count_queries() as alone:
        assert client.post(url, data={"points": "11", "comment": "复核"}, headers=HTMX).status_code == 200
    ev.declare(world.users["tp2"], world.member(round_, "tp2"), related=False)
    for leaf, points in (("a.x", "12"), ("a.y", "6")):
        ev.save_score(world.users["tp2"], world.member(round_, "tp2"), leaf, points, "另一位评估员")
    other = world.round_in(RoundStatus.SCORING, contract=world.another_contract(clock, fiscal_year=2026),
                           team={"第三方": ("tp1", "tp2")})
    ev.declare(world.users["tp1"], world.member(other, "tp1"), related=False)
    ev.save_score(world.users["tp1"], world.member(other, "tp1"), "a.x", "9", "另一轮")

    with count_queries() as busy:
        assert client.post(url, data={"points": "12", "comment": "定稿"}, headers=HTMX).status_code == 200

    assert busy.count == alone.count <= 12, "\n".join(busy.statements)


@pytest.mark.parametrize("page", ["score", "declare"])
def test_the_scoring_pages_read_the_tree_and_the_panel_not_the_rounds_findings_surveys_or_evidence(
        client, world, scoring, count_queries, page):
    """What an evaluator's scoring and declaration pages show: the round's tree and its panel. Its
    findings, surveys and evidence (the round page's) are not read for them."""
    round_, _member = scoring
    ev.add_finding(world.staff, round_, "资料归档不全")  # the round page lists it; these pages do not
    url = f"/evaluations/rounds/{round_.id}/{page}"
    client.get(url)
    with count_queries() as counted:
        assert client.get(url).status_code == 200

    read = "\n".join(counted.statements)
    assert "FROM round_evaluator" in read or "JOIN round_evaluator" in read
    assert not any(f"FROM {table}" in read for table in ("finding", "satisfaction_survey", "evaluation_evidence"))
