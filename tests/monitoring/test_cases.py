"""Monitoring cases: opened by an auditor from a red flag or by number, findings issued, the bureau's
answer, returned or concluded; documents attached; each step by role and state, refusals changing
nothing; the case and its documents in the contract's audit package."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from svcproc.audit.services import append_pending
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.monitoring import flags, workflow
from svcproc.monitoring.models import FlagKind, MonitoringCase, MonitoringDocument, MonitoringStatus, ProcurementFlag
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.files import pdf_upload
from tests.helpers import count, events_after, last_seq, login
from tests.monitoring.builders import NOW, plant

pytestmark = pytest.mark.usefixtures("shared_connection")

S = MonitoringStatus


@pytest.fixture
def scene(clock):
    clock.set(NOW)
    world = plant(planted=True)
    flags.refresh()
    auditor, staff = UserFactory(role=Role.AUDITOR), UserFactory(role=Role.PROCUREMENT)
    return world, auditor, staff


def _flag(kind: FlagKind) -> ProcurementFlag:
    return db.session.execute(sa.select(ProcurementFlag).where(ProcurementFlag.kind == kind)).scalar_one()


def _case_in(status: S, auditor, staff) -> MonitoringCase:
    case = workflow.open_case(auditor, subject="签约迟延核查", flag=_flag(FlagKind.LATE_SIGNATURE))
    if status in (S.AWAITING_ANSWER, S.ANSWERED, S.CONCLUDED):
        workflow.issue_findings(auditor, case, "合同在中标通知后31日才签订。")
    if status in (S.ANSWERED, S.CONCLUDED):
        workflow.answer_case(staff, case, "已查明原因为供应商盖章延误，已完善签约时限提醒。")
    if status == S.CONCLUDED:
        workflow.conclude_case(auditor, case, "问题属实，已整改。")
    return case


def _state(case: MonitoringCase) -> tuple:
    db.session.refresh(case)
    return (case.status, case.findings, case.answer, case.conclusion, case.status_reason, case.version,
            count(MonitoringDocument, MonitoringDocument.case_id == case.id))


# --- opening -------------------------------------------------------------------------------------


def test_a_case_opened_from_a_flag_keeps_the_flag_and_names_its_contract(scene):
    world, auditor, _staff = scene
    flag = _flag(FlagKind.LATE_SIGNATURE)
    before = last_seq()

    case = workflow.open_case(auditor, subject="签约迟延核查", flag=flag)

    contract = world.contracts["迟签"]
    assert (case.tender_id, case.contract_id, case.status) == (contract.tender_id, contract.id, S.OPEN)
    assert (case.flag_kind, case.flag_figures["days"]) == ("late_signature", 31)
    [event] = events_after(before)
    assert (event.action, event.object_type, event.object_id) == ("monitoring.opened", "monitoring_case", str(case.id))


@pytest.mark.parametrize("which", ["tender", "contract"])
def test_a_case_opened_by_hand_finds_the_record_by_its_number(scene, which):
    world, auditor, _staff = scene
    contract = world.contracts["先服务"]
    number = contract.number if which == "contract" else db.session.get(type(world.tenders["限价"]),
                                                                        contract.tender_id).number

    case = workflow.open_case(auditor, subject="先服务后签约", number=number)

    assert (case.tender_id, case.contract_id, case.flag_kind) == (contract.tender_id, contract.id, "")


def test_an_unknown_number_is_refused_and_nothing_is_opened(scene):
    _world, auditor, _staff = scene
    before = (count(MonitoringCase), last_seq())

    with pytest.raises(ValidationError) as refused:
        workflow.open_case(auditor, subject="核查", number="NO-SUCH-1")

    assert refused.value.field == "number"
    assert (count(MonitoringCase), last_seq()) == before


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ADMIN, Role.ORG_MANAGER, Role.EXPERT])
def test_only_auditors_open_cases(scene, role):
    before = (count(MonitoringCase), last_seq())

    with pytest.raises(PermissionDenied):
        workflow.open_case(user_for_role(role), subject="核查", flag=_flag(FlagKind.LATE_SIGNATURE))

    assert (count(MonitoringCase), last_seq()) == before


# --- the steps by role and state ---------------------------------------------------------------

STEPS = {
    "issue": (lambda actor, case: workflow.issue_findings(actor, case, "发现一：签约超期。"), "monitoring.findings_issued"),
    "answer": (lambda actor, case: workflow.answer_case(actor, case, "已整改：建立签约时限台账。"), "monitoring.answered"),
    "return": (lambda actor, case: workflow.return_answer(actor, case, "未说明超期原因。"), "monitoring.answer_returned"),
    "conclude": (lambda actor, case: workflow.conclude_case(actor, case, "问题属实，整改到位。"), "monitoring.concluded"),
    "attach": (lambda actor, case: workflow.attach_document(actor, case, pdf_upload("整改说明.pdf", "m1"), "整改说明"),
               "monitoring.document_added"),
}
TARGET = {"issue": S.AWAITING_ANSWER, "answer": S.ANSWERED, "return": S.AWAITING_ANSWER, "conclude": S.CONCLUDED}

# verb, the case's state, who acts, what happens (None: done; else the refusal)
MATRIX = [
    ("issue", S.OPEN, "auditor", None),
    ("issue", S.OPEN, "procurement", PermissionDenied),
    ("issue", S.AWAITING_ANSWER, "auditor", DomainError),
    ("issue", S.CONCLUDED, "auditor", DomainError),
    ("answer", S.AWAITING_ANSWER, "procurement", None),
    ("answer", S.AWAITING_ANSWER, "auditor", PermissionDenied),
    ("answer", S.AWAITING_ANSWER, "org_manager", PermissionDenied),
    ("answer", S.OPEN, "procurement", DomainError),
    ("answer", S.ANSWERED, "procurement", DomainError),
    ("return", S.ANSWERED, "auditor", None),
    ("return", S.ANSWERED, "procurement", PermissionDenied),
    ("return", S.AWAITING_ANSWER, "auditor", DomainError),
    ("conclude", S.OPEN, "auditor", None),
    ("conclude", S.ANSWERED, "auditor", None),
    ("conclude", S.AWAITING_ANSWER, "auditor", DomainError),
    ("conclude", S.CONCLUDED, "auditor", DomainError),
    ("conclude", S.ANSWERED, "procurement", PermissionDenied),
    ("conclude", S.ANSWERED, "admin", PermissionDenied),
    ("attach", S.OPEN, "auditor", None),
    ("attach", S.ANSWERED, "auditor", None),
    ("attach", S.AWAITING_ANSWER, "procurement", None),
    ("attach", S.OPEN, "procurement", PermissionDenied),
    ("attach", S.ANSWERED, "procurement", PermissionDenied),
    ("attach", S.CONCLUDED, "auditor", DomainError),
    ("attach", S.AWAITING_ANSWER, "org_manager", PermissionDenied),
]


@pytest.mark.parametrize("verb, status, who, refusal", MATRIX,
                         ids=[f"{v}-{s.value}-{w}" for v, s, w, _r in MATRIX])
def test_each_step_by_role_and_state(scene, verb, status, who, refusal):
    _world, auditor, staff = scene
    case = _case_in(status, auditor, staff)
    actor = {"auditor": auditor, "procurement": staff}.get(who) or user_for_role(Role(who))
    step, event_code = STEPS[verb]
    before, seq = _state(case), last_seq()

    if refusal is not None:
        with pytest.raises(refusal):
            step(actor, case)
        assert _state(case) == before
        assert events_after(seq) == []
        return
    step(actor, case)
    [event] = events_after(seq)
    assert event.action == event_code and event.object_id == str(case.id)
    if verb in TARGET:
        assert case.status == TARGET[verb]
        assert event.changes["status"] == [status.value, TARGET[verb].value]


@pytest.mark.parametrize("verb, field", [("issue", "findings"), ("answer", "answer"), ("return", "reason"),
                                         ("conclude", "conclusion")])
def test_a_step_needs_its_words(scene, verb, field):
    _world, auditor, staff = scene
    case = _case_in({"issue": S.OPEN, "answer": S.AWAITING_ANSWER, "return": S.ANSWERED,
                     "conclude": S.OPEN}[verb], auditor, staff)
    actor = staff if verb == "answer" else auditor
    call = {"issue": workflow.issue_findings, "answer": workflow.answer_case, "return": workflow.return_answer,
            "conclude": workflow.conclude_case}[verb]
    before, seq = _state(case), last_seq()

    with pytest.raises(ValidationError) as refused:
        call(actor, case, "   ")

    assert refused.value.field == field
    assert _state(case) == before and events_after(seq) == []


# --- through the pages -----------------------------------------------------------------------------


def test_the_case_goes_through_its_pages(client, scene):
    _world, auditor, staff = scene
    flag = _flag(FlagKind.LATE_SIGNATURE)
    login(client, auditor)

    form = client.get(f"/monitoring/cases/new?flag={flag.id}")
    opened = client.post("/monitoring/cases/new", data={"subject": "签约迟延核查", "flag_id": str(flag.id)})

    assert form.status_code == 200 and "31" in form.get_data(as_text=True)
    assert opened.status_code == 303
    case = db.session.execute(sa.select(MonitoringCase)).scalar_one()
    url = f"/monitoring/cases/{case.id}"
    assert client.post(f"{url}/findings", data={"findings": "签约超期1日。"}).status_code == 303
    assert client.post(f"{url}/documents", data={"title": "核查底稿", "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
                                                                          "底稿.pdf")},
                       content_type="multipart/form-data").status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "签约超期1日。" in page and 'action="' + url + '/answer"' not in page and "核查底稿" in page

    client.post("/logout")
    login(client, staff)
    page = client.get(url).get_data(as_text=True)
    assert 'action="' + url + '/answer"' in page and 'action="' + url + '/conclusion"' not in page
    assert client.post(f"{url}/answer", data={"answer": "已建立签约提醒。"}).status_code == 303

    client.post("/logout")
    login(client, auditor)
    assert client.post(f"{url}/conclusion", data={"conclusion": "整改到位。"}).status_code == 303
    db.session.refresh(case)
    assert (case.status, case.answer, case.conclusion) == (S.CONCLUDED, "已建立签约提醒。", "整改到位。")
    listed = client.get("/monitoring/cases").get_data(as_text=True)
    assert "签约迟延核查" in listed


def test_the_bureau_cannot_answer_before_findings_are_issued_and_nothing_changes(client, scene):
    _world, auditor, staff = scene
    case = _case_in(S.OPEN, auditor, staff)
    url = f"/monitoring/cases/{case.id}"
    login(client, staff)
    before, seq = _state(case), last_seq()

    response = client.post(f"{url}/answer", data={"answer": "已整改。"}, headers={"Referer": f"http://localhost{url}"})

    assert response.status_code == 409
    assert _state(case) == before and events_after(seq) == []


# --- the desk and the audit package --------------------------------------------------------------


def test_the_desk_shows_each_procurement_flag_with_its_rule_figures_and_link(client, scene):
    world, auditor, _staff = scene
    login(client, auditor)

    page = client.get("/desk").get_data(as_text=True)

    assert page.count('id="procurement-flag-') == len(FlagKind)
    assert f'href="/contracts/{world.contracts["迟签"].id}"' in page
    assert f'href="/procurement/tenders/{world.tenders["同价"].id}"' in page
    assert "政府采购法 art. 46" in page or "政府采购法" in page
    assert "/monitoring/cases/new?flag=" in page and 'action="/monitoring/flags/refresh"' in page


def test_the_desk_takes_as_many_statements_for_many_flags_as_for_few(client, clock, count_queries):
    clock.set(NOW)
    auditor = UserFactory(role=Role.AUDITOR)
    login(client, auditor)
    plant(planted=True)
    flags.refresh()
    with count_queries() as few:
        client.get("/desk")
    plant(planted=True)
    plant(planted=True)
    flags.refresh()

    with count_queries() as many:
        page = client.get("/desk")

    assert page.status_code == 200 and few.count == many.count


def test_the_refresh_button_queues_the_job_and_the_job_stores_the_flags(client, scene, monkeypatch):
    from svcproc.core import jobs

    _world, auditor, _staff = scene
    db.session.execute(sa.delete(ProcurementFlag))
    started = []
    monkeypatch.setattr(jobs, "dispatch", lambda job: started.append(job))
    login(client, auditor)

    response = client.post("/monitoring/flags/refresh")

    assert response.status_code == 303 and len(started) == 1
    job = db.session.get(jobs.Job, started[0])
    from svcproc.monitoring.tasks import run_flags_job

    assert run_flags_job(job, lambda *a: None) == {"flags": len(FlagKind), "added": len(FlagKind), "removed": 0}


def test_the_case_and_its_documents_are_in_the_contracts_audit_package(scene):
    from svcproc.reports import desk, services
    from svcproc.reports.models import ReportKind

    world, auditor, staff = scene
    contract = world.contracts["迟签"]
    case = _case_in(S.AWAITING_ANSWER, auditor, staff)
    workflow.attach_document(staff, case, pdf_upload("签约说明.pdf", "pkg"), "签约说明")
    report = services.generate(None, ReportKind.ASSESSMENT, contract.id, "zh_CN")
    append_pending(db.session)  # as the commit before a package is built would

    archive = zipfile.ZipFile(io.BytesIO(desk.audit_package(contract, report)))

    cases = json.loads(archive.read("monitoring/cases.json"))
    assert [(c["id"], c["status"], c["findings"]) for c in cases] == [
        (case.id, "awaiting_answer", "合同在中标通知后31日才签订。")]
    assert cases[0]["flag"]["kind"] == "late_signature"
    [document] = cases[0]["documents"]
    assert archive.read(document["file"]).startswith(b"%PDF")
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["monitoring_cases"]["documents"] == [{"file": document["file"], "sha256": document["sha256"]}]
    events = archive.read("audit-events.csv").decode("utf-8-sig")
    assert "monitoring.opened" in events and "monitoring.document_added" in events


def test_procurement_staff_find_the_findings_to_answer_on_their_home_page(client, scene):
    _world, auditor, staff = scene
    waiting = _case_in(S.AWAITING_ANSWER, auditor, staff)
    _case_in(S.OPEN, auditor, staff)
    login(client, staff)

    page = client.get("/").get_data(as_text=True)

    assert f'href="/monitoring/cases/{waiting.id}"' in page
    assert page.count('href="/monitoring/cases/') - page.count('href="/monitoring/cases/new') == 1


@pytest.mark.parametrize("role, shown", [(Role.AUDITOR, True), (Role.PROCUREMENT, False)])
def test_an_auditor_opens_a_case_from_the_contract_or_tender_page(client, scene, role, shown):
    world, _auditor, _staff = scene
    contract = world.contracts["先服务"]
    tender = db.session.get(type(world.tenders["限价"]), contract.tender_id)
    login(client, UserFactory(role=role))

    pages = [client.get(f"/contracts/{contract.id}").get_data(as_text=True),
             client.get(f"/procurement/tenders/{tender.id}").get_data(as_text=True)]
    form = client.get(f"/monitoring/cases/new?number={contract.number}")

    links = [f"/monitoring/cases/new?number={contract.number}", f"/monitoring/cases/new?number={tender.number}"]
    assert [link in page for link, page in zip(links, pages)] == [shown, shown]
    if shown:
        assert f'value="{contract.number}"' in form.get_data(as_text=True)


def test_the_bureaus_kept_queue_shows_findings_issued_since_the_last_page(scene, client):
    """The home page's monitoring box is kept until a case changes (core/versions.py): findings
    issued on an open case show on the staff's next page."""
    _world, auditor, staff = scene
    case = _case_in(S.OPEN, auditor, staff)
    assert login(client, staff).status_code == 303
    assert f"/monitoring/cases/{case.id}" not in client.get("/").get_data(as_text=True)

    workflow.issue_findings(auditor, case, "合同在中标通知后31日才签订。")

    page = client.get("/").get_data(as_text=True)
    assert f"/monitoring/cases/{case.id}" in page.split('id="queue-monitoring-answer-h"', 1)[1]
