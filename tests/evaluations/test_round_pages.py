"""A round through its pages as the bureau's procurement staff: creating it, naming the parties,
assigning evaluators, opening scoring, finalizing, reopening (administrators only) and cancelling;
every refusal shows its message and changes nothing. Also the pages' query bounds and languages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import gettext as _

from svcproc.core.i18n import LANG_COOKIE
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationRound, RoundKind, RoundStatus
from tests.builders.evaluations import TODAY, count_of, unchanged
from tests.helpers import audit_events, in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture
def staff_client(client, world):
    assert login(client, world.staff).status_code == 303
    return client


def _new_round_form(world, **values) -> dict:
    return {"kind": "final", "title": "甲中心终期评估", "template_version": world.small.id,
            "evaluation_org": world.eval_org.id, "target_percent": "", "scheduled_start": TODAY.isoformat(),
            "scheduled_end": (TODAY + timedelta(days=10)).isoformat(), **values}


# --- creating ---------------------------------------------------------------------------------


def test_staff_create_a_round_from_the_contract(staff_client, world):
    form_page = staff_client.get(f"/evaluations/contracts/{world.contract.id}/new")

    response = staff_client.post(f"/evaluations/contracts/{world.contract.id}/new", data=_new_round_form(world))

    assert form_page.status_code == 200
    assert response.status_code == 303
    [round_] = ev.rounds_of(world.contract)
    assert response.headers["Location"].endswith(f"/evaluations/rounds/{round_.id}")
    assert (round_.title, round_.status, round_.template_version_id, round_.evaluation_org_id, round_.target_percent) \
        == ("甲中心终期评估", RoundStatus.PLANNED, world.small.id, world.eval_org.id, 100)
    assert [e.object_id for e in audit_events("evaluation.created")] == [str(round_.id)]


@pytest.mark.parametrize("dates, message", [
    ((TODAY, TODAY - timedelta(days=1)), lambda: _("The evaluation ends before it starts.")),
    (("2025-13-40", TODAY), None),
])
def test_bad_dates_answer_422_keeping_the_entries(staff_client, world, dates, message):
    start, end = (d if isinstance(d, str) else d.isoformat() for d in dates)

    with unchanged(world.contract):
        response = staff_client.post(f"/evaluations/contracts/{world.contract.id}/new",
                                     data=_new_round_form(world, title="保留的标题X1", scheduled_start=start,
                                                          scheduled_end=end))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="保留的标题X1"' in html and f'value="{end}"' in html
    if message:
        assert in_page(message) in html
    assert count_of(EvaluationRound) == 0


# --- preparing --------------------------------------------------------------------------------


def test_parties_whose_weights_are_not_100_are_refused_with_the_message(staff_client, world):
    round_ = world.prepared()

    with unchanged(round_, *round_.parties):
        response = staff_client.post(f"/evaluations/rounds/{round_.id}/parties",
                                     data={"party_name": ["第三方", "区民政局", "社区"],
                                           "party_weight": ["60", "20", "10"]})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert in_page(lambda: _("The parties' weights add up to %(total)s, not 100.", total="90")) in html
    assert 'value="60"' in html, "the typed weights are kept"
    assert [(p.name, str(p.weight)) for p in round_.parties] == [("第三方", "70.00"), ("区民政局", "20.00"),
                                                                 ("社区", "10.00")]


def test_parties_are_saved(staff_client, world):
    round_ = world.new_round()

    response = staff_client.post(f"/evaluations/rounds/{round_.id}/parties",
                                 data={"party_name": ["第三方", "区民政局", ""], "party_weight": ["80", "20", ""]})

    assert response.status_code == 303
    assert [(p.name, str(p.weight)) for p in round_.parties] == [("第三方", "80.00"), ("区民政局", "20.00")]


def test_staff_of_the_evaluated_organization_cannot_be_assigned(staff_client, world):
    round_ = world.prepared()
    insider = world.users["insider"]

    with unchanged(round_):
        response = staff_client.post(f"/evaluations/rounds/{round_.id}/evaluators",
                                     data={"user": insider.id, "party": round_.parties[0].id})

    assert response.status_code == 409
    assert in_page(lambda: _("%(name)s works for the evaluated organization and cannot evaluate its project.",
                             name=insider.full_name)) in response.get_data(as_text=True)
    assert insider.id not in {e.user_id for e in round_.evaluators}


def test_an_evaluator_is_assigned_and_removed(staff_client, world):
    round_ = world.prepared(team={"第三方": ("tp1",), "区民政局": ("bureau",), "社区": ("cm1",)})

    added = staff_client.post(f"/evaluations/rounds/{round_.id}/evaluators",
                              data={"user": world.users["cm2"].id, "party": round_.parties[2].id})
    member = world.member(round_, "cm2")
    removed = staff_client.post(f"/evaluations/evaluators/{member.id}/remove")

    assert added.status_code == 303 and removed.status_code == 303
    assert world.users["cm2"].id not in {e.user_id for e in round_.evaluators}
    assert [e.changes["evaluator"] for e in audit_events("evaluation.evaluator_removed")] == [["cm2", None]]


# --- opening, finalizing, reopening, cancelling -----------------------------------------------


@pytest.mark.parametrize("stage, message", [
    ("no parties", lambda: _("Name the scoring parties and their weights first.")),
    ("no evaluators", lambda: _("Assign at least one evaluator to each party: %(names)s.", names="社区")),
    ("no survey", lambda: _("Enter the satisfaction survey for: %(names)s.", names="服务对象满意度")),
])
def test_opening_scoring_too_early_is_refused_with_the_reason(staff_client, world, stage, message):
    if stage == "no parties":
        round_ = world.new_round()
    elif stage == "no evaluators":
        round_ = world.prepared(team={"第三方": ("tp1",), "区民政局": ("bureau",)})
    else:
        round_ = world.prepared(survey=None)

    with unchanged(round_):
        response = staff_client.post(f"/evaluations/rounds/{round_.id}/open")

    assert response.status_code == 409
    assert in_page(message) in response.get_data(as_text=True)
    assert round_.status == RoundStatus.PLANNED and round_.computed == {}


def test_opening_scoring_freezes_the_computed_leaves(staff_client, world):
    round_ = world.prepared()

    response = staff_client.post(f"/evaluations/rounds/{round_.id}/open")

    assert response.status_code == 303
    assert round_.status == RoundStatus.SCORING
    assert set(round_.computed) == {"b.events", "b.sat"}
    page = staff_client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="computed"' in page


def test_finalizing_before_everyone_submitted_names_who_is_missing(staff_client, world):
    round_ = world.scoring()
    for name in ("tp1", "tp2", "bureau", "cm1", "cm2"):
        world.score(round_, name)
    world.score(round_, "tp3", submit=False)

    with unchanged(round_):
        response = staff_client.post(f"/evaluations/rounds/{round_.id}/finalize")

    assert response.status_code == 409
    assert in_page(lambda: _("Waiting for these evaluators' scores: %(names)s.", names="评估员丙")) in response.get_data(as_text=True)
    assert round_.status == RoundStatus.SCORING


def test_finalizing_locks_the_round_with_its_result(staff_client, world):
    round_ = world.scoring()
    for member in list(round_.evaluators):
        world.score(round_, world._name_of(member))

    response = staff_client.post(f"/evaluations/rounds/{round_.id}/finalize")
    page = staff_client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)

    assert response.status_code == 303
    assert round_.status == RoundStatus.FINALIZED and round_.total is not None
    assert f"{round_.total.normalize():f}" in page
    assert f"/evaluations/rounds/{round_.id}/summary" in page
    assert f"/evaluations/rounds/{round_.id}/finalize" not in page and "/open" not in page


@pytest.mark.parametrize("who", ["procurement", "auditor", "tp1", "manager"])
def test_only_an_administrator_can_reopen(make_client, world, who):
    round_ = world.round_in(RoundStatus.FINALIZED)
    client = make_client()
    login(client, world.user(who))

    with unchanged(round_):
        response = client.post(f"/evaluations/rounds/{round_.id}/reopen", data={"reason": "复核发现计分错误。"})

    assert response.status_code == 403
    assert "/reopen" not in client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)


def test_reopening_without_a_reason_is_refused(client, world):
    round_ = world.round_in(RoundStatus.FINALIZED)
    login(client, world.admin)

    with unchanged(round_, *round_.evaluators):
        response = client.post(f"/evaluations/rounds/{round_.id}/reopen", data={"reason": "  "})

    assert response.status_code == 422
    assert in_page(lambda: _("Give the reason for reopening the evaluation.")) in response.get_data(as_text=True)


def test_an_administrator_reopens_with_a_reason(client, world):
    round_ = world.round_in(RoundStatus.FINALIZED)
    login(client, world.admin)
    assert "/reopen" in client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)

    response = client.post(f"/evaluations/rounds/{round_.id}/reopen", data={"reason": "复核发现计分错误。"})

    assert response.status_code == 303
    assert round_.status == RoundStatus.SCORING and round_.total is None
    assert all(e.submitted_at is None for e in round_.evaluators)
    [event] = audit_events("evaluation.reopened")
    assert event.changes["reason"] == [None, "复核发现计分错误。"]
    assert client.get(f"/evaluations/rounds/{round_.id}/summary").status_code == 409


def test_staff_cancel_a_round_with_a_reason(staff_client, world):
    round_ = world.prepared()

    refused = staff_client.post(f"/evaluations/rounds/{round_.id}/cancel", data={"reason": ""})
    response = staff_client.post(f"/evaluations/rounds/{round_.id}/cancel", data={"reason": "项目调整。"})

    assert refused.status_code == 422
    assert response.status_code == 303
    assert round_.status == RoundStatus.CANCELLED and round_.status_reason == "项目调整。"
    assert "项目调整。" in staff_client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)


# --- queries and languages --------------------------------------------------------------------


def _busy_round(world):
    """Three parties, six evaluators (all submitted), three findings with two items each, responded."""
    round_ = world.scoring()
    for member in list(round_.evaluators):
        world.score(round_, world._name_of(member))
    ev.finalize(world.staff, round_)
    for n in range(3):
        finding = ev.add_finding(world.staff, round_, f"问题{n}")
        for m in range(2):
            item = ev.add_item(world.staff, finding, action=f"整改{n}-{m}", owner="张三",
                               deadline=TODAY + timedelta(days=5))
            ev.respond(world.manager, item, "已整改。", [])
    return round_


def _quiet_round(world):
    round_ = world.round_in(RoundStatus.FINALIZED, kind=RoundKind.MIDTERM, title="中期评估")
    finding = ev.add_finding(world.staff, round_, "问题")
    item = ev.add_item(world.staff, finding, action="整改", owner="张三", deadline=TODAY + timedelta(days=5))
    ev.respond(world.manager, item, "已整改。", [])
    return round_


@pytest.mark.parametrize("who", ["procurement", "manager"])
def test_the_round_page_issues_as_many_queries_for_many_evaluators_and_findings_as_for_one(
        make_client, world, count_queries, who):
    quiet = _quiet_round(world)
    busy = _busy_round(world)
    client = make_client()
    login(client, world.user(who))
    client.get(f"/evaluations/rounds/{quiet.id}")

    with count_queries() as few:
        assert client.get(f"/evaluations/rounds/{quiet.id}").status_code == 200
    with count_queries() as many:
        assert client.get(f"/evaluations/rounds/{busy.id}").status_code == 200

    assert many.count <= few.count, "\n".join(many.statements)
    assert many.count <= 40


@pytest.mark.parametrize("page", ["summary", "scores.csv"])
def test_the_scores_take_as_many_queries_for_six_evaluators_as_for_few(make_client, world, count_queries, page):
    """Every evaluator's scores in one statement, not one per evaluator."""
    quiet = _quiet_round(world)
    busy = _busy_round(world)
    client = make_client()
    login(client, world.user("procurement"))
    client.get(f"/evaluations/rounds/{quiet.id}/{page}")

    with count_queries() as few:
        assert client.get(f"/evaluations/rounds/{quiet.id}/{page}").status_code == 200
    with count_queries() as many:
        assert client.get(f"/evaluations/rounds/{busy.id}/{page}").status_code == 200

    assert len(busy.evaluators) == 6
    assert many.count <= few.count, "\n".join(many.statements)


@pytest.mark.parametrize("who", ["procurement", "manager", "tp1"])
def test_the_rounds_list_issues_as_many_queries_for_many_rounds_as_for_one(make_client, world, clock,
                                                                            count_queries, who):
    client = make_client()
    login(client, world.user(who))
    world.round_in(RoundStatus.SCORING, kind=RoundKind.MIDTERM, title="中期评估")
    client.get("/evaluations/")
    with count_queries() as few:
        assert client.get("/evaluations/").status_code == 200
    _busy_round(world)
    other = world.another_contract(clock, fiscal_year=2026)
    world.round_in(RoundStatus.PLANNED, contract=other, kind=RoundKind.MIDTERM)
    world.round_in(RoundStatus.PLANNED, contract=other, kind=RoundKind.SPECIAL, title="专项评估")
    client.get("/evaluations/")  # the menu's badge is counted once per change of contracts, then kept

    with count_queries() as many:
        response = client.get("/evaluations/")

    assert response.status_code == 200 and response.get_data(as_text=True).count("/evaluations/rounds/") >= 4
    assert many.count <= few.count, "\n".join(many.statements)


def test_an_evaluators_list_reads_their_part_in_the_listed_rounds_alone_and_keeps_the_column_when_none_match(
        make_client, world, count_queries):
    """The "My part" column for an evaluator: read for the page's rounds only (not every round they
    were ever given); shown on a page no round matches as long as they have a part somewhere, and
    not for someone with none."""
    world.round_in(RoundStatus.SCORING, kind=RoundKind.MIDTERM, title="中期评估")
    client = make_client()
    login(client, world.user("tp1"))
    client.get("/evaluations/")
    with count_queries() as counted:
        listed = client.get("/evaluations/").get_data(as_text=True)
    none_match = client.get("/evaluations/?q=没有这样的评估").get_data(as_text=True)
    stranger = make_client()
    login(stranger, world.user("tp3"))
    nothing = stranger.get("/evaluations/").get_data(as_text=True)

    (part,) = [s for s in counted.statements if s.split("FROM", 1)[-1].lstrip().startswith("round_evaluator")
               and "round_evaluator.user_id" in s]
    assert "round_evaluator.round_id IN" in part
    assert in_page(lambda: _("My part")) in listed and in_page(lambda: _("Declare conflicts")) in listed
    assert in_page(lambda: _("My part")) in none_match and in_page(lambda: _("No evaluations match.")) in none_match
    assert in_page(lambda: _("My part")) not in nothing and in_page(lambda: _("No evaluations match.")) in nothing


MESSAGES = ("Contract", "Score", "Scoring parties", "Evaluators", "Findings and rectification", "Evidence from the organization",
            "Satisfaction surveys")


@pytest.mark.parametrize("locale, other", [("en", "zh_CN"), ("zh_CN", "en")])
def test_the_round_page_speaks_english_and_chinese(client, world, locale, other):
    round_ = _quiet_round(world)
    login(client, world.staff)
    client.set_cookie(LANG_COOKIE, locale)

    response = client.get(f"/evaluations/rounds/{round_.id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    for message in MESSAGES:
        mine, theirs = (in_page(lambda m=message: _(m), lang) for lang in (locale, other))
        assert mine in html, message
        if mine != theirs:
            assert f">{theirs}<" not in html, message
