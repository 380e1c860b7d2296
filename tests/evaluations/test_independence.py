"""Evaluators score independently: until a round is finalized nobody sees anyone's scores but their own.

A round in scoring is built once for the module, with evidence, an imported survey file, a finding
and a rectification response with a file, so that every GET endpoint of the app has a real row to
show. Evaluator A (third party) has submitted, evaluator B (bureau) has saved scores without
submitting; each gave distinctive points and comments. Every GET page, as a full page and as an
htmx fragment, plus the audit trail's filters and exports, is fetched as every kind of person:
A's marks appear only on A's own scoring page, B's only on B's. The summary and the scores CSV
answer 409 until the round is finalized; afterwards they show every submitted score.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage

from svcproc.evaluations import surveys
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationRound
from svcproc.extensions import db
from tests.builders.evaluations import TODAY, EvalWorld, build_eval_world
from tests.builders.files import pdf_upload
from tests.helpers import every_get_url, login, readable_text

pytestmark = pytest.mark.usefixtures("shared_connection")

# The comments' codes hold a "~", which no random token of a page (CSRF token, nonce, session
# cookie: base64 and hex) holds: four letters and digits alone turned up in one now and then.
A_MARKS = {"a.x": ("13.37", "甲方评语A7~Q1：方案完整"), "a.y": ("12.29", "甲方评语A7~Q2：督导到位")}
B_MARKS = {"a.x": ("17.83", "乙方评语B9~K1：目标清晰"), "a.y": ("6.47", "=HYPERLINK(\"x\") 乙方评语B9~K2")}
A_SECRETS = ["13.37", "12.29", "A7~Q1", "A7~Q2"]
B_SECRETS = ["17.83", "6.47", "B9~K1", "B9~K2"]

# Every role: "evaluator" is one not on the round, "other_manager" manages another organization.
PEOPLE = ("A", "B", "admin", "procurement", "auditor", "manager", "other_manager", "worker", "expert",
          "evaluator", "anonymous")
USERNAMES = {"A": "tp1", "B": "bureau"}
# Pages that answer htmx with a fragment of their own are fetched both ways.
HTMX_PREFIXES = ("/evaluations", "/audit", "/contracts")


def _build(clock) -> dict:
    ids = build_eval_world(clock)
    w = EvalWorld(ids)
    staff, manager = w.staff, w.manager
    round_ = w.new_round(version=w.small)
    ev.set_parties(staff, round_, [("第三方", "70"), ("区民政局", "30")])
    third, bureau = round_.parties
    ev.assign_evaluator(staff, round_, w.users["tp1"], third)
    ev.assign_evaluator(staff, round_, w.users["bureau"], bureau)
    upload = FileStorage(io.BytesIO("受访群体,是否满意\n服务对象,满意\n服务对象,5\n家属,不满意\n".encode("utf-8-sig")),
                         filename="满意度.csv", content_type="text/csv")
    [survey, _family] = surveys.import_responses(staff, round_, leaf_key="b.sat", upload=upload)
    evidence = ev.add_evidence(manager, round_, pdf_upload("服务台账.pdf"), "服务台账")
    ev.open_scoring(staff, round_)
    for who, marks, submit in (("tp1", A_MARKS, True), ("bureau", B_MARKS, False)):
        member = w.member(round_, who)
        ev.declare(w.users[who], member, related=False)
        for key, (value, comment) in marks.items():
            ev.save_score(w.users[who], member, key, value, comment)
        if submit:
            ev.submit_scores(w.users[who], member)
    finding = ev.add_finding(staff, round_, "服务台账不完整")
    item = ev.add_item(staff, finding, action="补齐台账", owner="张三", deadline=TODAY + timedelta(days=10))
    response = ev.respond(manager, item, "已补齐。", [pdf_upload("整改说明.pdf")])
    ids.update(round=round_.id, values={
        "round_id": round_.id, "contract_id": w.contract.id, "evidence_id": evidence.id, "exhibit_id": evidence.id,
        "survey_id": survey.id, "finding_id": finding.id, "item_id": item.id, "response_id": response.id,
        "file_id": response.files[0].file_id, "org_id": w.org.id, "version_id": w.small.id,
        "template_id": w.small.template_id, "user_id": w.manager.id, "locale": "en"})
    return ids


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


@pytest.fixture
def world(built, clock) -> EvalWorld:
    clock.set(built["now"])
    return EvalWorld(built)


def _urls(app, built) -> list[str]:
    values = built["values"]
    return sorted(set(every_get_url(app, values)) | {
        "/evaluations/?status=scoring", "/evaluations/?q=末期", "/evaluations/rectification?status=all",
        "/audit?object_type=evaluation_round", "/audit?action=evaluation.", f"/audit?object_id={values['round_id']}",
        "/audit/export.csv", "/audit/export.csv?action=evaluation.",
        f"/contracts/{values['contract_id']}"})


def _leaks(response, secrets) -> list[str]:
    body = readable_text(response)  # downloads too: a report PDF, an audit package
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return [s for s in secrets if s in body or s in headers]


def _login(client, world, who):
    if who != "anonymous":
        assert login(client, world.user(USERNAMES.get(who, who))).status_code == 303, who


@pytest.mark.parametrize("who", PEOPLE)
def test_while_scoring_no_page_shows_anyone_scores_but_their_own_scoring_page(app, client, built, world, who):
    _login(client, world, who)
    score_page = f"/evaluations/rounds/{built['round']}/score"
    own = {"A": A_SECRETS, "B": B_SECRETS}.get(who, [])

    answered = {}
    for url in _urls(app, built):
        for headers in ({}, {"HX-Request": "true"}) if url.startswith(HTMX_PREFIXES) else ({},):
            response = client.get(url, headers=headers)
            answered[url] = response.status_code
            assert _leaks(response, [s for s in A_SECRETS + B_SECRETS if s not in own]) == [], \
                f"{who}: GET {url} {headers}"
            if own and url != score_page:
                assert _leaks(response, own) == [], f"{who} sees own marks at GET {url} {headers}"

    round_url = f"/evaluations/rounds/{built['round']}"
    assert answered[f"{round_url}/summary"] in (401, 403, 409)
    assert answered[f"{round_url}/scores.csv"] in (401, 403, 409)
    if who in ("A", "B", "admin", "procurement", "auditor", "manager"):
        assert answered[round_url] == 200, "the round page itself was seen"
        assert answered[f"{round_url}/summary"] == 409
        assert answered[f"{round_url}/scores.csv"] == 409
    if who in ("A", "B"):
        assert answered[score_page] == 200
    if who in ("admin", "auditor"):
        assert answered["/audit/export.csv?action=evaluation."] == 200


@pytest.mark.parametrize("who", ["A", "B"])
def test_each_evaluator_sees_own_marks_on_own_scoring_page(client, built, world, who):
    _login(client, world, who)

    page = client.get(f"/evaluations/rounds/{built['round']}/score").get_data(as_text=True)

    own, other = (A_SECRETS, B_SECRETS) if who == "A" else (B_SECRETS, A_SECRETS)
    assert all(s in page for s in own)
    assert not any(s in page for s in other)


def test_the_walk_covers_every_get_endpoint(app, built):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"}
    adapter = app.url_map.bind("localhost")

    walked = {adapter.match(url.split("?")[0], method="GET")[0] for url in _urls(app, built)}

    assert walked == endpoints


def _finalize(world, built) -> EvaluationRound:
    round_ = db.session.get(EvaluationRound, built["round"])
    b = world.users["bureau"]
    ev.submit_scores(b, world.member(round_, "bureau"))
    ev.finalize(world.staff, round_)
    return round_


@pytest.mark.parametrize("who", ["procurement", "auditor", "manager", "A", "B"])
def test_after_finalizing_the_summary_and_the_csv_show_every_score(client, built, world, who):
    _finalize(world, built)
    _login(client, world, who)

    summary = client.get(f"/evaluations/rounds/{built['round']}/summary")
    exported = client.get(f"/evaluations/rounds/{built['round']}/scores.csv")

    assert summary.status_code == 200
    html = summary.get_data(as_text=True)
    assert all(s in html for s in A_SECRETS + B_SECRETS)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    cells = {(row[2], row[3]): (row[6], row[7]) for row in rows[1:]}
    a_name, b_name = world.users["tp1"].full_name, world.users["bureau"].full_name
    assert cells[(a_name, "a.x")] == A_MARKS["a.x"]
    assert cells[(a_name, "a.y")] == A_MARKS["a.y"]
    assert cells[(b_name, "a.x")] == B_MARKS["a.x"]
    assert cells[(b_name, "a.y")] == ("6.47", "'" + B_MARKS["a.y"][1]), "a formula comment is quoted"


def test_after_finalizing_the_evaluators_pages_are_read_only(client, built, world):
    _finalize(world, built)
    _login(client, world, "B")

    page = client.get(f"/evaluations/rounds/{built['round']}/score").get_data(as_text=True)

    assert "B9~K1" in page and "17.83" in page
    assert page.count(" disabled") == 2 * len(B_MARKS)
    assert "/score/submit" not in page


def test_the_summary_reads_each_of_its_collections_once(client, built, world, count_queries):
    _finalize(world, built)
    _login(client, world, "procurement")
    url = f"/evaluations/rounds/{built['round']}/summary"
    client.get(url)

    with count_queries() as counted:
        page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Both parties in their order, and both evaluators' scores, from the one statement of the panel.
    third = html.index("第三方")
    assert 0 < html.find("区民政局", third) - third < 200, "the bureau's party after the third party"
    assert all(mark in html for mark in A_SECRETS + B_SECRETS)

    # The parties with their evaluators in one statement, every evaluator's scores in another.
    panel = [s for s in counted.statements if "FROM evaluation_party" in s]
    assert len(panel) == 1 and "JOIN round_evaluator" in panel[0], counted.statements
    assert sum("round_evaluator" in s and "evaluation_score" not in s and s is not panel[0]
               for s in counted.statements) == 0, counted.statements
    assert sum("FROM evaluation_score" in s for s in counted.statements) == 1, counted.statements
    assert counted.count <= 5, "\n".join(counted.statements)
