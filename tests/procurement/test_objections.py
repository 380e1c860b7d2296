"""Publicity and objections (公示, 质疑): who may object and when, and how an objection holds the award.
The windows at their boundaries and complaints (投诉) are in test_complaints.py."""
from __future__ import annotations

from datetime import timedelta

import pytest

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.core.formatting import local_datetime
from svcproc.procurement import challenges, workflow
from svcproc.procurement.models import Objection, ObjectionDocument, ObjectionStatus, ObjectionSubject, TenderStatus
from tests.builders.accounts import UserFactory
from tests.builders.files import pdf_upload
from tests.builders.procurement import DAY, TenderSetup, score_all, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login, unchanged

# The tender in publicity most tests start from is built once (see `publicity`).
pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus
REASONS = "中标候选人项目团队持证社工比例不满足招标文件要求，请予复核。"


@pytest.fixture(scope="module")
def built_publicity(build_once):
    return build_once(lambda clock: tender_in(S.IN_PUBLICITY, clock).saved(clock))


@pytest.fixture
def publicity(built_publicity, clock):
    """A tender in publicity (bidder 0 proposed); the clock at the start of the period."""
    return TenderSetup.restored(built_publicity, clock)


def _object(setup, bidder: int = 1) -> Objection:
    return workflow.file_objection(setup.managers[bidder], setup.tender, REASONS, [])


def _after_publicity(clock, setup) -> None:
    clock.set(setup.tender.publicity_ends_at + timedelta(minutes=1))


# --- filing -------------------------------------------------------------------------------------


def test_a_bidder_files_an_objection_during_publicity(clock, publicity):
    objection = _object(publicity)

    assert (objection.status, objection.organization_id, objection.publicity_round) == (
        ObjectionStatus.OPEN, publicity.orgs[1].id, 1)
    assert objection.filed_at == objection.status_changed_at == clock.now
    assert objection.subject == ObjectionSubject.AWARD
    assert audit_events("objection.filed")[0].changes == {
        "tender_id": [None, publicity.tender.id], "subject": [None, "award"],
        "answer_due_at": [None, objection.answer_due_at.strftime("%Y-%m-%dT%H:%M:%S.000000Z")]}


def test_an_objection_through_the_form_keeps_its_files(client, publicity):
    login(client, publicity.managers[2])

    response = client.post(f"/procurement/tenders/{publicity.tender.id}/objections/new", data={
        "subject": "award", "reasons": REASONS, "files": [(pdf_upload("证明材料.pdf").stream, "证明材料.pdf", "application/pdf")]},
        content_type="multipart/form-data")

    assert response.status_code == 303
    objection = db.session.execute(db.select(Objection)).unique().scalar_one()
    assert objection.organization_id == publicity.orgs[2].id
    assert [d.file.original_name for d in objection.documents] == ["证明材料.pdf"]


@pytest.mark.parametrize("who", ["a-non-bidder", "staff", "an-expert"])
def test_only_a_bidder_of_the_tender_objects(publicity, who):
    person = {"a-non-bidder": lambda: UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory()),
              "staff": lambda: publicity.staff, "an-expert": lambda: publicity.experts[0]}[who]()

    with unchanged(publicity.tender), pytest.raises(PermissionDenied):
        workflow.file_objection(person, publicity.tender, REASONS, [])


def test_a_bidder_of_another_tender_is_refused_the_form(client, clock, publicity):
    other = tender_in(S.PUBLISHED, clock)
    clock.set(publicity.tender.publicity_starts_at + DAY)
    login(client, other.managers[0])

    with unchanged(publicity.tender):
        page = client.get(f"/procurement/tenders/{publicity.tender.id}/objections/new")
        posted = client.post(f"/procurement/tenders/{publicity.tender.id}/objections/new", data={"reasons": REASONS})

    assert (page.status_code, posted.status_code) == (403, 403)


def test_the_award_may_be_objected_to_after_the_publicity_ends(clock, publicity):
    clock.set(publicity.tender.publicity_ends_at + timedelta(days=1))

    objection = _object(publicity)

    assert objection.subject == ObjectionSubject.AWARD


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(days=1)], ids=["at-the-end", "after"])
def test_objections_to_the_award_close_seven_working_days_after_the_publicity(clock, publicity, offset):
    end = challenges.window_end(publicity.tender, ObjectionSubject.AWARD)
    clock.set(end + offset)

    with unchanged(publicity.tender), pytest.raises(DomainError) as refused:
        _object(publicity)

    assert count(Objection) == 0
    assert local_datetime(end) in refused.value.message and "财政部令第94号第十条" in refused.value.message


@pytest.mark.parametrize("status", [S.OPENED, S.SCORED, S.AWARD_PROPOSED, S.CANCELLED])
def test_the_award_is_objected_to_only_once_published(clock, status):
    setup = tender_in(status, clock)

    with unchanged(setup.tender), pytest.raises(DomainError):
        _object(setup)


def test_an_objection_states_its_reasons(publicity):
    with unchanged(publicity.tender), pytest.raises(ValidationError):
        workflow.file_objection(publicity.managers[1], publicity.tender, "不服", [])

    assert count(ObjectionDocument) == 0


# --- answering and the award --------------------------------------------------------------------


def test_confirming_is_refused_before_the_publicity_period_ends(clock, publicity):
    clock.set(publicity.tender.publicity_ends_at - timedelta(minutes=1))

    with unchanged(publicity.tender), pytest.raises(DomainError):
        workflow.confirm_award(publicity.staff, publicity.tender)


def test_after_the_period_without_objections_staff_confirm_the_award(clock, publicity):
    _after_publicity(clock, publicity)

    workflow.confirm_award(publicity.staff, publicity.tender)

    tender = publicity.tender
    assert (tender.status, tender.awarded_bid_id, tender.awarded_at, tender.status_changed_at) == (
        S.AWARDED, publicity.bids[0].id, clock.now, clock.now)


def test_an_unanswered_objection_blocks_the_award(clock, publicity):
    objection = _object(publicity)
    _after_publicity(clock, publicity)

    with unchanged(publicity.tender, objection), pytest.raises(DomainError):
        workflow.confirm_award(publicity.staff, publicity.tender)


def test_a_dismissed_objection_lets_the_award_through_after_the_period(clock, publicity):
    objection = _object(publicity)
    clock.advance(days=1)
    workflow.answer_objection(publicity.staff, objection, upheld=False, answer="经复核，持证比例为67%，质疑不成立。")
    _after_publicity(clock, publicity)

    workflow.confirm_award(publicity.staff, publicity.tender)

    assert publicity.tender.status == S.AWARDED
    assert (objection.status, objection.answered_by_id) == (ObjectionStatus.DISMISSED, publicity.staff.id)
    assert [e.action for e in audit_events() if e.action.startswith("objection.")] == [
        "objection.filed", "objection.dismissed"]


def test_an_upheld_objection_blocks_the_award(clock, publicity):
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=True, answer="质疑成立，将重新评审。")
    _after_publicity(clock, publicity)

    with unchanged(publicity.tender, objection), pytest.raises(DomainError):
        workflow.confirm_award(publicity.staff, publicity.tender)

    assert workflow.blocking_objections(publicity.tender) == [objection]


@pytest.mark.parametrize("answer", ["", "   "])
def test_an_answer_is_required(publicity, answer):
    objection = _object(publicity)

    with unchanged(objection), pytest.raises(ValidationError):
        workflow.answer_objection(publicity.staff, objection, upheld=False, answer=answer)


def test_an_objection_is_answered_once(publicity):
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=False, answer="质疑不成立。")

    with unchanged(objection), pytest.raises(DomainError):
        workflow.answer_objection(publicity.staff, objection, upheld=True, answer="改为成立。")


def test_only_staff_answer(publicity):
    objection = _object(publicity)

    with unchanged(objection), pytest.raises(PermissionDenied):
        workflow.answer_objection(publicity.managers[0], objection, upheld=False, answer="我们认为不成立。")


# --- what an upheld objection leads to ----------------------------------------------------------


@pytest.fixture
def upheld(publicity):
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=True, answer="质疑成立，将重新评审。")
    return objection


def test_an_upheld_objection_sends_the_tender_back_to_scoring(clock, publicity, upheld):
    workflow.return_to_scoring(publicity.staff, publicity.tender, upheld)

    tender = publicity.tender
    assert (tender.status, tender.status_changed_at) == (S.OPENED, clock.now)
    assert (tender.proposed_bid_id, tender.scored_at) == (None, None)
    assert [(b.technical_score, b.price_score, b.total_score, b.rank, b.valid) for b in publicity.bids] == [
        (None, None, None, None, None)] * 3
    assert [m.submitted_at for m in publicity.members] == [None] * len(publicity.members)
    assert all(m.declared_at is not None for m in publicity.members)  # declarations stand
    assert upheld.resolution == "rescore"
    assert workflow.blocking_objections(tender) == []
    assert audit_events("tender.returned_to_scoring")[0].changes["status"] == ["in_publicity", "opened"]


def test_after_rescoring_a_new_publicity_round_leads_to_the_award(clock, publicity, upheld):
    workflow.return_to_scoring(publicity.staff, publicity.tender, upheld)
    clock.advance(days=1)
    # The panel now gives bidder 1 the better marks.
    score_all(publicity, points=lambda e, b, c: ((40, 24), (48, 29), (35, 20))[b][c])
    workflow.finish_scoring(publicity.staff, publicity.tender)
    workflow.propose_award(publicity.staff, publicity.tender)
    workflow.start_publicity(publicity.staff, publicity.tender)
    _after_publicity(clock, publicity)

    workflow.confirm_award(publicity.staff, publicity.tender)

    assert publicity.tender.publicity_round == 2
    assert publicity.tender.awarded_bid_id == publicity.bids[1].id


def test_an_upheld_objection_can_cancel_the_tender(client, clock, publicity, upheld):
    login(client, publicity.staff)

    response = client.post(f"/procurement/tenders/{publicity.tender.id}/cancel",
                           data={"reason": "质疑成立，采购需求需重新论证。", "objection": str(upheld.id)})

    assert response.status_code == 303
    db.session.expire_all()
    assert publicity.tender.status == S.CANCELLED
    assert publicity.tender.status_reason == "质疑成立，采购需求需重新论证。"
    assert upheld.resolution == "cancel"


@pytest.mark.parametrize("answer", ["open", "dismissed"])
def test_only_an_upheld_objection_sends_the_tender_back(publicity, answer):
    objection = _object(publicity)
    if answer == "dismissed":
        workflow.answer_objection(publicity.staff, objection, upheld=False, answer="质疑不成立。")

    with unchanged(publicity.tender, objection, *publicity.bids), pytest.raises(DomainError):
        workflow.return_to_scoring(publicity.staff, publicity.tender, objection)


def test_an_upheld_objection_is_acted_on_once(publicity, upheld):
    workflow.return_to_scoring(publicity.staff, publicity.tender, upheld)

    with unchanged(publicity.tender, upheld), pytest.raises(DomainError):
        workflow.return_to_scoring(publicity.staff, publicity.tender, upheld)


def test_an_objection_of_another_tender_does_not_send_this_one_back(clock, publicity, upheld):
    other = tender_in(S.IN_PUBLICITY, clock)

    with unchanged(other.tender, upheld), pytest.raises(DomainError):
        workflow.return_to_scoring(other.staff, other.tender, upheld)


# --- who sees what ------------------------------------------------------------------------------


def test_a_bidder_sees_the_answer_to_its_objection_but_not_others_objections(client, publicity):
    mine = _object(publicity, bidder=1)
    theirs = workflow.file_objection(publicity.managers[2], publicity.tender, "评分标准适用有误，请复核评分。", [])
    workflow.answer_objection(publicity.staff, mine, upheld=False, answer="经复核，评分无误。")
    login(client, publicity.managers[1])

    html = client.get(f"/procurement/tenders/{publicity.tender.id}").get_data(as_text=True)

    assert REASONS in html and "经复核，评分无误。" in html
    assert theirs.reasons not in html
