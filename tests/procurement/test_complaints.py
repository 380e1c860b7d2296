"""Objections by the law's clock and complaints (质疑, 投诉): the windows counted in working days across
National Day 2026 and its adjusted working Saturday, the answer's due date, complaints to the finance
department and their outcome, and the award waiting for every open objection and complaint."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import challenges, panels, workflow
from svcproc.procurement import permissions as perms
from svcproc.procurement.models import (Complaint, ComplaintStatus, Objection, ObjectionStatus, ObjectionSubject,
                                        TenderDocument, TenderStatus)
from tests.builders.accounts import UserFactory
from tests.builders.files import pdf_upload
from tests.builders.procurement import tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login, unchanged

S = TenderStatus
DOCS, AWARD = ObjectionSubject.DOCUMENTS, ObjectionSubject.AWARD
REASONS = "评分标准中“本地服务经验”分值过高，排斥外地供应商。"
COMPLAINT = "对质疑答复不满意：采购人未说明评分标准的依据。"
MINUTE = timedelta(minutes=1)


def _utc(y, m, d, h=0, minute=0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=timezone.utc)


# 10:00 in Shanghai on Wednesday 30 September 2026, the eve of National Day (1-7 October off,
# Saturday 10 October worked).
EVE_OF_NATIONAL_DAY = _utc(2026, 9, 30, 2)


@pytest.fixture
def published(clock):
    """A public tender published on the eve of National Day, bid on by three organizations."""
    clock.set(EVE_OF_NATIONAL_DAY)
    return tender_in(S.PUBLISHED, clock)


@pytest.fixture
def outsider(published):
    """The manager of a registered organization that has not bid."""
    return UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory())


@pytest.fixture
def publicity(clock):
    """A tender whose one-working-day publicity starts on Monday 28 September 2026 at 10:00 in
    Shanghai: it ends with Tuesday 29 September."""
    setup = tender_in(S.AWARD_PROPOSED, clock)
    setup.tender.publicity_days = 1
    clock.set(_utc(2026, 9, 28, 2))
    workflow.start_publicity(setup.staff, setup.tender)
    return setup


def _object(setup, who=1, subject=AWARD, reasons=REASONS) -> Objection:
    person = setup.managers[who] if isinstance(who, int) else who
    return workflow.file_objection(person, setup.tender, reasons, [], subject=subject)


# --- the windows ---------------------------------------------------------------------------------


def test_the_award_window_is_seven_working_days_after_the_publicity(publicity):
    # Wed 30 Sep, then after the holidays Thu 8, Fri 9, the working Saturday 10, Mon 12, Tue 13, Wed 14 Oct.
    assert publicity.tender.publicity_ends_at == _utc(2026, 9, 29, 16)
    assert challenges.window_end(publicity.tender, AWARD) == _utc(2026, 10, 14, 16)


def test_an_objection_to_the_award_on_its_last_minute_is_taken(clock, publicity):
    clock.set(_utc(2026, 10, 14, 16) - MINUTE)

    objection = _object(publicity)

    assert (objection.subject, objection.publicity_round) == (AWARD, 1)


def test_an_objection_to_the_award_after_its_window_is_refused(clock, publicity):
    clock.set(_utc(2026, 10, 14, 16))

    with unchanged(publicity.tender), pytest.raises(DomainError) as refused:
        _object(publicity)

    assert "2026-10-15 00:00" in refused.value.message and "第五十二条" in refused.value.message


def test_the_documents_window_is_seven_working_days_after_publication(published):
    # Thu 8, Fri 9, the working Saturday 10, Mon 12 to Thu 15 October.
    assert challenges.window_end(published.tender, DOCS) == _utc(2026, 10, 15, 16)


@pytest.mark.parametrize("who", ["a-bidder", "an-organization-that-did-not-bid"])
def test_an_organization_that_could_bid_objects_to_the_documents_until_the_last_minute(clock, published,
                                                                                        outsider, who):
    clock.set(_utc(2026, 10, 15, 16) - MINUTE)

    objection = _object(published, 0 if who == "a-bidder" else outsider, subject=DOCS)

    assert (objection.subject, objection.publicity_round, objection.status) == (DOCS, 0, ObjectionStatus.OPEN)


def test_an_objection_to_the_documents_after_its_window_is_refused(clock, published, outsider):
    clock.set(_utc(2026, 10, 15, 16))

    with unchanged(published.tender), pytest.raises(DomainError) as refused:
        _object(published, outsider, subject=DOCS)

    assert "2026-10-16 00:00" in refused.value.message and "财政部令第94号第十条" in refused.value.message


def test_the_award_cannot_be_objected_to_before_it_is_published(published):
    with unchanged(published.tender), pytest.raises(DomainError):
        _object(published, 0, subject=AWARD)


@pytest.mark.parametrize("who", ["staff", "an-expert", "an-auditor", "a-social-worker"])
def test_only_an_organization_manager_objects_to_the_documents(published, who):
    person = {"staff": lambda: published.staff, "an-expert": lambda: published.experts[0],
              "an-auditor": lambda: UserFactory(role=Role.AUDITOR),
              "a-social-worker": lambda: UserFactory(role=Role.SOCIAL_WORKER,
                                                     organization=published.orgs[0])}[who]()

    with unchanged(published.tender), pytest.raises(PermissionDenied):
        _object(published, person, subject=DOCS)


def test_an_organization_that_did_not_bid_does_not_object_to_the_award(clock, publicity):
    stranger = UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory())

    with unchanged(publicity.tender), pytest.raises(PermissionDenied):
        _object(publicity, stranger)


# --- the answer's due date -----------------------------------------------------------------------


def test_the_answer_is_due_seven_working_days_after_receipt_and_a_complaint_fifteen_after_that(published):
    objection = _object(published, 1, subject=DOCS)  # received Thu 1 Oct, National Day

    # Thu 8, Fri 9, Sat 10, Mon 12 to Thu 15 October; then 15 working days: 16 October to 5 November.
    assert objection.answer_due_at == _utc(2026, 10, 15, 16)
    assert objection.complaint_until == _utc(2026, 11, 5, 16)


def test_the_staff_queue_shows_the_answer_due_and_marks_it_overdue(app, clock, published):
    objection = _object(published, 1, subject=DOCS)

    with app.test_request_context():
        queue = next(q for q in panels.bureau_queues(published.staff)["queues"] if q.key == "objections")
        before = queue.overdue
        clock.set(objection.answer_due_at + MINUTE)

    assert [r.due for r in queue.rows] == [objection.answer_due_at]
    assert (before, queue.overdue) == (0, 1)


def test_an_answer_after_the_due_date_is_recorded_as_late(clock, published):
    objection = _object(published, 1, subject=DOCS)
    clock.set(objection.answer_due_at)

    workflow.answer_objection(published.staff, objection, upheld=False, answer="评分标准符合采购需求。")

    assert audit_events("objection.dismissed")[0].changes["late"] == [None, True]


def test_the_tender_page_shows_windows_due_date_and_overdue(client, clock, published):
    objection = _object(published, 1, subject=DOCS)
    clock.set(objection.answer_due_at + MINUTE)
    login(client, published.staff)

    html = client.get(f"/procurement/tenders/{published.tender.id}").get_data(as_text=True)

    assert "2026-10-16 00:00" in html                      # the documents' window and the answer's due date
    assert 'badge badge-overdue' in html


def test_staff_confirming_the_award_read_until_when_it_may_still_be_objected_to(client, clock, publicity):
    clock.set(publicity.tender.publicity_ends_at + MINUTE)
    login(client, publicity.staff)

    html = client.get(f"/procurement/tenders/{publicity.tender.id}").get_data(as_text=True)

    confirm = html[html.index('/do/confirm"'):]
    assert "2026-10-15 00:00" in confirm[:confirm.index("</form>")]


# --- complaints ----------------------------------------------------------------------------------


@pytest.fixture
def objected(published):
    return _object(published, 1, subject=DOCS)


def test_a_complaint_waits_for_the_answer_or_its_due_date(clock, published, objected):
    clock.set(objected.answer_due_at - MINUTE)

    with unchanged(objected), pytest.raises(DomainError) as refused:
        challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    assert "财政部令第94号第十三条" in refused.value.message


def test_an_unanswered_objector_complains_once_the_answer_is_due(clock, published, objected):
    clock.set(objected.answer_due_at)

    complaint = challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    assert (complaint.status, complaint.objection_id, complaint.organization_id) == (
        ComplaintStatus.OPEN, objected.id, published.orgs[1].id)
    assert audit_events("complaint.filed")[0].changes == {"tender_id": [None, published.tender.id],
                                                           "objection_id": [None, objected.id]}


def test_an_objector_not_satisfied_with_the_answer_complains_at_once(clock, published, objected):
    workflow.answer_objection(published.staff, objected, upheld=False, answer="评分标准符合采购需求。")

    complaint = challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    assert complaint.status == ComplaintStatus.OPEN


def test_a_complaint_on_the_fifteenth_working_day_is_taken_and_after_it_refused(clock, published, objected):
    clock.set(objected.complaint_until - MINUTE)
    with db.session.begin_nested() as savepoint:
        challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])
        savepoint.rollback()
    db.session.expire(objected, ["complaint"])
    clock.set(objected.complaint_until)

    with unchanged(objected), pytest.raises(DomainError) as refused:
        challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    assert "2026-11-06 00:00" in refused.value.message and "第五十五条" in refused.value.message


@pytest.mark.parametrize("who", ["another-bidder", "staff", "an-auditor", "an-expert"])
def test_only_the_objector_complains(clock, published, objected, who):
    clock.set(objected.answer_due_at)
    person = {"another-bidder": lambda: published.managers[0], "staff": lambda: published.staff,
              "an-auditor": lambda: UserFactory(role=Role.AUDITOR), "an-expert": lambda: published.experts[0]}[who]()

    with unchanged(objected), pytest.raises(PermissionDenied):
        challenges.file_complaint(person, objected, COMPLAINT, [])


def test_one_complaint_per_objection_with_its_reasons(clock, published, objected):
    clock.set(objected.answer_due_at)
    with unchanged(objected), pytest.raises(ValidationError):
        challenges.file_complaint(published.managers[1], objected, "不服", [])
    challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    with unchanged(objected), pytest.raises(DomainError):
        challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])

    assert count(Complaint) == 1


def test_a_complaint_through_the_form_keeps_its_files(client, clock, published, objected):
    clock.set(objected.answer_due_at)
    login(client, published.managers[1])

    response = client.post(f"/procurement/objections/{objected.id}/complaint", data={
        "reasons": COMPLAINT, "files": [(pdf_upload("投诉书.pdf").stream, "投诉书.pdf", "application/pdf")]},
        content_type="multipart/form-data")

    assert response.status_code == 303
    complaint = db.session.execute(db.select(Complaint)).unique().scalar_one()
    assert [d.file.original_name for d in complaint.documents] == ["投诉书.pdf"]


@pytest.fixture
def complained(clock, published, objected):
    clock.set(objected.answer_due_at)
    complaint = challenges.file_complaint(published.managers[1], objected, COMPLAINT, [])
    clock.advance(days=20)
    return complaint


@pytest.mark.parametrize("upheld", [True, False], ids=["upheld", "dismissed"])
def test_staff_record_the_finance_departments_decision(clock, published, complained, upheld):
    challenges.record_complaint_outcome(published.staff, complained, upheld=upheld, decision="投诉事项成立。",
                                        decided_on=date(2026, 11, 2))

    assert (complained.status, complained.decided_on, complained.decision, complained.recorded_by_id) == (
        ComplaintStatus.UPHELD if upheld else ComplaintStatus.DISMISSED, date(2026, 11, 2), "投诉事项成立。",
        published.staff.id)
    assert audit_events("complaint.upheld" if upheld else "complaint.dismissed")[0].changes["decided_on"] == [
        None, "2026-11-02"]


@pytest.mark.parametrize("who", ["the-objector", "an-auditor", "an-expert"])
def test_only_procurement_staff_record_the_decision(published, complained, who):
    person = {"the-objector": lambda: published.managers[1], "an-auditor": lambda: UserFactory(role=Role.AUDITOR),
              "an-expert": lambda: published.experts[0]}[who]()

    with unchanged(complained), pytest.raises(PermissionDenied):
        challenges.record_complaint_outcome(person, complained, upheld=True, decision="成立。",
                                            decided_on=date(2026, 11, 2))


@pytest.mark.parametrize("decided_on", [date(2026, 10, 15), None, "tomorrow"])
def test_the_decision_is_dated_between_the_complaint_and_today(clock, published, complained, decided_on):
    if decided_on == "tomorrow":
        decided_on = clock.now.date() + timedelta(days=2)

    with unchanged(complained), pytest.raises(ValidationError):
        challenges.record_complaint_outcome(published.staff, complained, upheld=True, decision="成立。",
                                            decided_on=decided_on)


def test_the_decision_is_recorded_once(published, complained):
    challenges.record_complaint_outcome(published.staff, complained, upheld=False, decision="驳回。",
                                        decided_on=date(2026, 11, 2))

    with unchanged(complained), pytest.raises(DomainError):
        challenges.record_complaint_outcome(published.staff, complained, upheld=True, decision="成立。",
                                            decided_on=date(2026, 11, 2))


# --- the award waits -----------------------------------------------------------------------------


def _confirmable(clock, setup) -> None:
    clock.set(setup.tender.publicity_ends_at + MINUTE)


def test_an_open_complaint_blocks_the_award_until_decided(clock, publicity):
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=False, answer="经复核，质疑不成立。")
    complaint = challenges.file_complaint(publicity.managers[1], objection, COMPLAINT, [])
    _confirmable(clock, publicity)

    with unchanged(publicity.tender, complaint), pytest.raises(DomainError) as refused:
        workflow.confirm_award(publicity.staff, publicity.tender)

    assert f"第 {complaint.id} 号投诉" in refused.value.message
    assert publicity.orgs[1].name in refused.value.message
    challenges.record_complaint_outcome(publicity.staff, complaint, upheld=False, decision="投诉缺乏事实依据，驳回。",
                                        decided_on=clock.now.date())
    workflow.confirm_award(publicity.staff, publicity.tender)
    assert publicity.tender.status == S.AWARDED


def test_an_open_objection_to_the_award_is_named_in_the_refusal(clock, publicity):
    objection = _object(publicity)
    _confirmable(clock, publicity)

    with unchanged(publicity.tender, objection), pytest.raises(DomainError) as refused:
        workflow.confirm_award(publicity.staff, publicity.tender)

    assert f"第 {objection.id} 号质疑" in refused.value.message and publicity.orgs[1].name in refused.value.message


def test_an_upheld_complaint_sends_the_tender_back_like_an_upheld_objection(clock, publicity):
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=False, answer="经复核，质疑不成立。")
    complaint = challenges.file_complaint(publicity.managers[1], objection, COMPLAINT, [])
    challenges.record_complaint_outcome(publicity.staff, complaint, upheld=True, decision="投诉成立，责令重新评审。",
                                        decided_on=clock.now.date())
    _confirmable(clock, publicity)
    with unchanged(publicity.tender), pytest.raises(DomainError):
        workflow.confirm_award(publicity.staff, publicity.tender)

    workflow.return_to_scoring(publicity.staff, publicity.tender, objection)

    assert (publicity.tender.status, objection.resolution) == (S.OPENED, "rescore")


@pytest.mark.parametrize("step", ["propose", "publicity"])
def test_an_open_objection_to_the_documents_holds_the_award_steps(clock, step):
    setup = tender_in(S.SCORED if step == "propose" else S.AWARD_PROPOSED, clock)
    setup.tender.publish_at = clock.now  # the documents' window still open
    objection = _object(setup, 2, subject=DOCS)
    function = workflow.propose_award if step == "propose" else workflow.start_publicity

    with unchanged(setup.tender, objection), pytest.raises(DomainError) as refused:
        function(setup.staff, setup.tender)

    assert f"第 {objection.id} 号质疑" in refused.value.message
    workflow.answer_objection(setup.staff, objection, upheld=False, answer="评分标准符合采购需求。")
    function(setup.staff, setup.tender)
    assert setup.tender.status == (S.AWARD_PROPOSED if step == "propose" else S.IN_PUBLICITY)


# --- an upheld objection to the documents ---------------------------------------------------------


def test_an_upheld_objection_to_the_documents_is_met_by_amended_documents(client, published, objected):
    workflow.answer_objection(published.staff, objected, upheld=True, answer="质疑成立，修改评分标准。")
    login(client, published.staff)

    response = client.post(f"/procurement/objections/{objected.id}/amend", data={
        "title": "招标文件（更正）", "file": (pdf_upload("招标文件更正.pdf").stream, "招标文件更正.pdf", "application/pdf")},
        content_type="multipart/form-data")

    assert response.status_code == 303
    db.session.expire_all()
    assert objected.resolution == "amend"
    assert [d.title for d in published.tender.documents][-1] == "招标文件（更正）"
    assert audit_events("objection.documents_amended")[0].changes["resolution"] == [None, "amend"]


def test_a_dismissed_objection_does_not_amend_the_documents(published, objected):
    workflow.answer_objection(published.staff, objected, upheld=False, answer="评分标准符合采购需求。")

    with unchanged(published.tender, objected), pytest.raises(DomainError):
        challenges.amend_documents(published.staff, objected, pdf_upload("招标文件更正.pdf"), "更正")


def test_after_the_bid_deadline_the_documents_no_longer_change_but_the_tender_can_be_cancelled(clock, published,
                                                                                              objected):
    workflow.answer_objection(published.staff, objected, upheld=True, answer="质疑成立。")
    clock.set(published.tender.bid_deadline)

    with unchanged(published.tender, objected), pytest.raises(DomainError):
        challenges.amend_documents(published.staff, objected, pdf_upload("招标文件更正.pdf"), "更正")

    workflow.cancel_tender(published.staff, published.tender, "质疑成立，招标文件需重新编制。", objected)
    assert (published.tender.status, objected.resolution) == (S.CANCELLED, "cancel")
    assert count(TenderDocument, TenderDocument.tender_id == published.tender.id) == 1


# --- the tender page's statements ----------------------------------------------------------------


def _objections_with_complaints(clock, setup, n: int, start: int) -> None:
    """`n` objections to the documents by new organizations, every other one answered and complained of."""
    for i in range(start, start + n):
        manager = UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory())
        objection = _object(setup, manager, subject=DOCS, reasons=f"{REASONS}（{i}）")
        if i % 2 == 0:
            workflow.answer_objection(setup.staff, objection, upheld=False, answer="不成立。")
            challenges.file_complaint(manager, objection, COMPLAINT, [])


def test_the_tender_page_runs_the_same_statements_for_few_objections_and_many(client, clock, count_queries,
                                                                              published):
    login(client, published.staff)
    _objections_with_complaints(clock, published, 2, 0)
    url = f"/procurement/tenders/{published.tender.id}"
    client.get(url)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    _objections_with_complaints(clock, published, 8, 2)
    with count_queries() as many:
        assert client.get(url).status_code == 200

    assert many.count == few.count, (few.count, many.count)


# --- what the public notice says -----------------------------------------------------------------


def test_the_tender_notice_says_until_when_the_documents_may_be_objected_to(client, clock, published):
    html = client.get(f"/notices/tenders/{published.tender.id}").get_data(as_text=True)

    assert "2026-10-16 00:00" in html and 'id="objection-documents-h"' in html


def test_the_result_notice_gives_the_award_window_not_the_publicity_end(client, clock, publicity):
    html = client.get(f"/notices/tenders/{publicity.tender.id}").get_data(as_text=True)

    assert "2026-10-15 00:00" in html and 'id="objection-award-h"' in html


# --- an objection upheld after the award ------------------------------------------------------------


@pytest.fixture
def awarded_then_objected(clock, publicity):
    """The award confirmed once its publicity ended; a bidder objects within the seven working days that
    follow, and the bureau upholds the objection."""
    _confirmable(clock, publicity)
    workflow.confirm_award(publicity.staff, publicity.tender)
    clock.set(_utc(2026, 10, 9, 2))
    objection = _object(publicity)
    workflow.answer_objection(publicity.staff, objection, upheld=True, answer="经复核，评分有误，质疑成立。")
    return publicity, objection


def _draw_up_contract(setup):
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import CONTENTS

    start = date(2026, 11, 1)
    return contracts.create_contract(setup.staff, setup.tender, start_date=start, end_date=start + timedelta(days=300),
                                     **CONTENTS)


def test_an_objection_upheld_after_the_award_revokes_it_and_the_panel_ranks_again(awarded_then_objected):
    setup, objection = awarded_then_objected
    assert setup.tender.status == S.AWARDED and setup.tender.awarded_bid_id is not None
    assert perms.can_resolve_objection(setup.staff, objection)

    workflow.return_to_scoring(setup.staff, setup.tender, objection)

    assert (setup.tender.status, setup.tender.awarded_bid_id, setup.tender.awarded_at) == (S.OPENED, None, None)
    assert objection.resolution == "rescore"
    assert all(b.rank is None for b in setup.tender.bids)
    assert [e.object_id for e in audit_events("tender.award_revoked")] == [str(setup.tender.id)]


def test_an_award_whose_contract_is_drawn_up_is_not_revoked(awarded_then_objected):
    setup, objection = awarded_then_objected
    contract = _draw_up_contract(setup)

    assert not perms.can_resolve_objection(setup.staff, objection)
    with unchanged(setup.tender, objection, contract), pytest.raises(DomainError) as refused:
        workflow.return_to_scoring(setup.staff, setup.tender, objection)
    assert "财政部令第94号第三十二条" in refused.value.message
    assert setup.tender.status == S.AWARDED


def test_an_awarded_tender_is_cancelled_on_the_objection_once_its_contract_is_terminated(awarded_then_objected):
    from svcproc.contracts import workflow as contracts
    from svcproc.contracts.models import ContractStatus

    setup, objection = awarded_then_objected
    contract = _draw_up_contract(setup)
    assert not perms.can_cancel_after_objection(setup.staff, objection)
    with unchanged(setup.tender, objection), pytest.raises(DomainError):
        workflow.cancel_tender(setup.staff, setup.tender, "质疑成立，重新组织采购。", objection)

    contracts.terminate_contract(setup.staff, contract, "中标结果因质疑成立被撤销。")
    assert contract.status == ContractStatus.TERMINATED and perms.can_cancel_after_objection(setup.staff, objection)
    workflow.cancel_tender(setup.staff, setup.tender, "质疑成立，重新组织采购。", objection)

    assert (setup.tender.status, objection.resolution) == (S.CANCELLED, "cancel")
    assert [e.object_id for e in audit_events("tender.award_cancelled")] == [str(setup.tender.id)]


@pytest.mark.parametrize("objection_kind", ["none", "dismissed"])
def test_an_awarded_tender_is_not_cancelled_without_an_upheld_objection(clock, publicity, objection_kind):
    _confirmable(clock, publicity)
    workflow.confirm_award(publicity.staff, publicity.tender)
    objection = None
    if objection_kind == "dismissed":
        clock.set(_utc(2026, 10, 9, 2))
        objection = _object(publicity)
        workflow.answer_objection(publicity.staff, objection, upheld=False, answer="经复核，质疑不成立。")

    with unchanged(publicity.tender), pytest.raises(DomainError):
        workflow.cancel_tender(publicity.staff, publicity.tender, "质疑成立，重新组织采购。", objection)
    if objection is not None:
        with unchanged(publicity.tender, objection), pytest.raises(DomainError):
            workflow.return_to_scoring(publicity.staff, publicity.tender, objection)
    assert publicity.tender.status == S.AWARDED


@pytest.mark.parametrize("role", [Role.ORG_MANAGER, Role.AUDITOR, Role.EXPERT])
def test_only_procurement_staff_revoke_an_award(awarded_then_objected, role):
    setup, objection = awarded_then_objected
    someone = UserFactory(role=role, organization=OrganizationFactory() if role == Role.ORG_MANAGER else None)

    assert not perms.can_resolve_objection(someone, objection)
    with unchanged(setup.tender, objection), pytest.raises(PermissionDenied):
        workflow.return_to_scoring(someone, setup.tender, objection)


def test_the_awarded_tenders_page_offers_the_revocation_to_staff(client, awarded_then_objected):
    setup, objection = awarded_then_objected
    login(client, setup.staff)

    html = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)

    assert f"/procurement/objections/{objection.id}/rescore" in html
    assert "撤销中标结果" in html
