"""Evidence and rectification through the pages: the evaluated organization's manager uploads
evidence and responds to items with files; the bureau closes or reopens them (a note is required to
reopen); another organization's manager is refused everywhere on the round; the rectification list
shows a manager only their own organization's items."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask_babel import gettext as _

from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationEvidence, ItemStatus, RectificationResponse, RoundKind, RoundStatus
from tests.builders.evaluations import TODAY, count_of, unchanged
from tests.builders.files import pdf_bytes, pdf_upload
from tests.helpers import audit_events, in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")


def _upload(data: bytes, name: str):
    return (io.BytesIO(data), name)


@pytest.fixture
def manager_client(client, world):
    assert login(client, world.manager).status_code == 303
    return client


def _with_item(world, round_=None, action="补齐服务台账"):
    round_ = round_ or world.round_in(RoundStatus.FINALIZED)
    finding = ev.add_finding(world.staff, round_, "服务台账不完整")
    item = ev.add_item(world.staff, finding, action=action, owner="张三", deadline=TODAY + timedelta(days=10))
    return round_, item


# --- evidence -----------------------------------------------------------------------------------


def test_the_manager_uploads_evidence_and_everyone_on_the_round_downloads_it(manager_client, make_client, world):
    round_ = world.round_in(RoundStatus.PLANNED)
    data = pdf_bytes("EVIDENCE-7")

    response = manager_client.post(f"/evaluations/rounds/{round_.id}/evidence",
                                   data={"title": "年度服务台账", "file": _upload(data, "台账.pdf")},
                                   content_type="multipart/form-data")

    assert response.status_code == 303
    [evidence] = round_.evidence
    assert evidence.title == "年度服务台账" and evidence.file.original_name == "台账.pdf"
    assert len(audit_events("evaluation.evidence_added")) == 1
    staff = make_client()
    login(staff, world.staff)
    for reader in (manager_client, staff):
        assert "年度服务台账" in reader.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)
        download = reader.get(f"/evaluations/evidence/{evidence.id}")
        assert download.status_code == 200 and download.get_data() == data


@pytest.mark.parametrize("name, data", [("台账.pdf", b"just some text, not a PDF"), ("台账.exe", b"MZ\x90\x00"),
                                        ("台账.pdf", b"")], ids=["fake-pdf", "exe", "empty"])
def test_evidence_that_is_not_what_it_claims_is_refused(manager_client, world, name, data):
    round_ = world.round_in(RoundStatus.PLANNED)

    with unchanged(round_):
        response = manager_client.post(f"/evaluations/rounds/{round_.id}/evidence",
                                       data={"title": "台账", "file": _upload(data, name)},
                                       content_type="multipart/form-data")

    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert count_of(EvaluationEvidence) == 0


def test_evidence_cannot_be_added_to_a_finalized_round(manager_client, world):
    round_ = world.round_in(RoundStatus.FINALIZED)

    with unchanged(round_):
        response = manager_client.post(f"/evaluations/rounds/{round_.id}/evidence",
                                       data={"file": _upload(pdf_bytes(), "a.pdf")}, content_type="multipart/form-data")

    assert response.status_code == 409


# --- another organization ---------------------------------------------------------------------


def test_another_organizations_manager_is_refused_everywhere_on_the_round(make_client, world):
    round_, item = _with_item(world)
    response_ = ev.respond(world.manager, item, "已补齐。", [pdf_upload("说明.pdf")])
    evidence_round = world.round_in(RoundStatus.PLANNED, kind=RoundKind.MIDTERM, title="中期评估")
    evidence = ev.add_evidence(world.manager, evidence_round, pdf_upload(), "台账")
    client = make_client()
    login(client, world.users["other_manager"])
    file_id = response_.files[0].file_id
    gets = [f"/evaluations/rounds/{round_.id}", f"/evaluations/rounds/{round_.id}/summary",
            f"/evaluations/rounds/{round_.id}/scores.csv", f"/evaluations/rounds/{evidence_round.id}",
            f"/evaluations/evidence/{evidence.id}", f"/evaluations/responses/{response_.id}/files/{file_id}",
            f"/evaluations/rounds/{round_.id}/score", f"/evaluations/rounds/{round_.id}/declare"]
    posts = [(f"/evaluations/rounds/{evidence_round.id}/evidence", {"file": _upload(pdf_bytes(), "a.pdf")}),
             (f"/evaluations/items/{item.id}/respond", {f"item{item.id}-text": "别人的回复"}),
             (f"/evaluations/items/{item.id}/close", {"note": ""}),
             (f"/evaluations/items/{item.id}/reopen", {"note": "x"}),
             (f"/evaluations/rounds/{round_.id}/findings", {"text": "x"}),
             (f"/evaluations/findings/{item.finding_id}/items", {}),
             (f"/evaluations/rounds/{round_.id}/reopen", {"reason": "x"})]

    with unchanged(round_, evidence_round, item):
        answers = {url: client.get(url).status_code for url in gets}
        answers.update({url: client.post(url, data=data, content_type="multipart/form-data").status_code
                        for url, data in posts})
        listed = client.get("/evaluations/").get_data(as_text=True) + client.get(
            "/evaluations/rectification?status=all").get_data(as_text=True)

    assert answers == {url: 403 for url in answers}
    assert f"/evaluations/rounds/{round_.id}\"" not in listed and "补齐服务台账" not in listed


# --- responding and reviewing -------------------------------------------------------------------


def test_the_manager_responds_with_files(manager_client, world):
    round_, item = _with_item(world)
    prefix = f"item{item.id}"

    response = manager_client.post(f"/evaluations/items/{item.id}/respond", data={
        f"{prefix}-text": "已补齐五月台账并由督导复核。",
        f"{prefix}-files": [_upload(pdf_bytes("R1"), "复核记录.pdf"), _upload(pdf_bytes("R2"), "台账.pdf")]},
        content_type="multipart/form-data")

    assert response.status_code == 303
    assert item.status == ItemStatus.RESPONDED
    [answer] = item.responses
    assert answer.text == "已补齐五月台账并由督导复核。"
    assert sorted(f.file.original_name for f in answer.files) == ["台账.pdf", "复核记录.pdf"]
    page = manager_client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)
    assert "复核记录.pdf" in page
    download = manager_client.get(f"/evaluations/responses/{answer.id}/files/{answer.files[0].file_id}")
    assert download.status_code == 200 and download.get_data().startswith(b"%PDF")


@pytest.mark.parametrize("text, files, status", [
    ("", [], 422),
    ("已补齐。", [("台账.pdf", b"not a pdf")], 422),
])
def test_a_bad_response_is_refused_and_stores_nothing(manager_client, world, text, files, status):
    _round, item = _with_item(world)
    prefix = f"item{item.id}"

    with unchanged(item):
        response = manager_client.post(f"/evaluations/items/{item.id}/respond", data={
            f"{prefix}-text": text, f"{prefix}-files": [_upload(d, n) for n, d in files]},
            content_type="multipart/form-data")

    assert response.status_code == status
    assert count_of(RectificationResponse) == 0


def test_the_bureau_closes_a_responded_item(client, world):
    round_, item = _with_item(world)
    ev.respond(world.manager, item, "已补齐。", [])
    login(client, world.staff)

    response = client.post(f"/evaluations/items/{item.id}/close", data={"note": "核查属实。"})

    assert response.status_code == 303
    assert item.status == ItemStatus.CLOSED and item.status_note == "核查属实。"


def test_reopening_an_item_needs_a_note(client, world):
    round_, item = _with_item(world)
    ev.respond(world.manager, item, "已补齐。", [])
    login(client, world.staff)

    with unchanged(item):
        refused = client.post(f"/evaluations/items/{item.id}/reopen", data={"note": " "})
    response = client.post(f"/evaluations/items/{item.id}/reopen", data={"note": "台账仍缺六月部分。"})

    assert refused.status_code == 422
    assert in_page(lambda: _("Say why the item is reopened.")) in refused.get_data(as_text=True)
    assert response.status_code == 303
    assert item.status == ItemStatus.OPEN and item.status_note == "台账仍缺六月部分。"
    assert "台账仍缺六月部分。" in client.get(f"/evaluations/rounds/{round_.id}").get_data(as_text=True)


@pytest.mark.parametrize("who", ["manager", "tp1", "auditor"])
def test_only_the_bureau_closes_items(make_client, world, who):
    _round, item = _with_item(world)
    ev.respond(world.manager, item, "已补齐。", [])
    client = make_client()
    login(client, world.user(who))

    with unchanged(item):
        response = client.post(f"/evaluations/items/{item.id}/close", data={"note": ""})

    assert response.status_code == 403


# --- the rectification list -------------------------------------------------------------------


def test_the_rectification_list_shows_a_manager_only_their_own_items(make_client, world):
    _with_item(world, action="本机构整改事项M1")
    other_round = world.new_round(contract=world.other_contract)
    ev.set_parties(world.staff, other_round, [("第三方", "100")])
    ev.assign_evaluator(world.staff, other_round, world.users["tp1"], other_round.parties[0])
    ev.add_survey(world.staff, other_round, leaf_key="b.sat", group_name="服务对象", surveyed=10, satisfied=9)
    ev.open_scoring(world.staff, other_round)
    _with_item(world, other_round, action="他机构整改事项O1")
    pages = {}
    for who in ("manager", "other_manager", "procurement", "auditor"):
        client = make_client()
        login(client, world.user(who))
        response = client.get("/evaluations/rectification")
        assert response.status_code == 200, who
        pages[who] = response.get_data(as_text=True)

    assert "本机构整改事项M1" in pages["manager"] and "他机构整改事项O1" not in pages["manager"]
    assert "他机构整改事项O1" in pages["other_manager"] and "本机构整改事项M1" not in pages["other_manager"]
    for who in ("procurement", "auditor"):
        assert "本机构整改事项M1" in pages[who] and "他机构整改事项O1" in pages[who]


@pytest.mark.parametrize("who", ["tp1", "worker", "expert"])
def test_people_outside_the_bureau_and_the_organizations_have_no_rectification_list(make_client, world, who):
    client = make_client()
    login(client, world.user(who))

    assert client.get("/evaluations/rectification").status_code == 403
