"""Objections (质疑) and complaints (投诉) as the law times them, and what they hold up.

A supplier objects to the tender documents within OBJECTION_WORKING_DAYS of their issue (the tender's
publication), or to the award within as many working days after the award's publicity ends
(政府采购法 art. 52; 财政部令第94号 arts. 10-11). The bureau answers within
OBJECTION_ANSWER_WORKING_DAYS of receipt (art. 13). An objector not satisfied with the answer, or not
answered in time, may complain to the finance department within COMPLAINT_WORKING_DAYS after the
answer was due (art. 17; 政府采购法 art. 55); procurement staff record the department's decision as it
arrives. While an objection or a complaint is open the award waits.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..audit.services import record
from ..core import clock, files, workdays
from ..core.errors import DomainError, ValidationError
from ..core.formatting import local_datetime
from ..core.workflow import StateMachine, Transition, allow, register
from ..extensions import db
from . import permissions as perms
from .models import (BidStatus, Complaint, ComplaintDocument, ComplaintStatus, Objection, ObjectionStatus,
                     ObjectionSubject, Tender, TenderStatus)

S = TenderStatus
OBJECTION_SOURCE = "《政府采购法》第五十二条、财政部令第94号第十条"
ANSWER_SOURCE = "财政部令第94号第十三条"
COMPLAINT_SOURCE = "《政府采购法》第五十五条、财政部令第94号第十七条"

# The statuses in which each subject may be objected to at all (the window decides the rest).
SUBJECT_STATUSES = {
    ObjectionSubject.DOCUMENTS: frozenset(set(S) - {S.DRAFT, S.CANCELLED, S.FAILED}),
    ObjectionSubject.AWARD: frozenset({S.IN_PUBLICITY, S.AWARDED}),
}


def _complaint_labels():
    from .labels import COMPLAINT_STATUS_LABELS

    return COMPLAINT_STATUS_LABELS


COMPLAINT = register(StateMachine("complaint", {
    "uphold": Transition({ComplaintStatus.OPEN}, ComplaintStatus.UPHELD, "complaint.upheld"),
    "dismiss": Transition({ComplaintStatus.OPEN}, ComplaintStatus.DISMISSED, "complaint.dismissed"),
}, labels=_complaint_labels, refusal=_l("The finance department's decision on this complaint is already recorded."),
    reason=None))


def _days(key: str) -> int:
    return int(current_app.config[key])


def _last_day(end: datetime) -> date:
    """The local day a period ending at `end` (the end of a day) ends on."""
    return workdays.local_date(end - timedelta(microseconds=1))


# --- the windows -------------------------------------------------------------------------------


def window_end(tender: Tender, subject: ObjectionSubject) -> datetime | None:
    """Until when `subject` may be objected to, or None when its notice has not been published."""
    days = _days("OBJECTION_WORKING_DAYS")
    if ObjectionSubject(subject) == ObjectionSubject.DOCUMENTS:
        if tender.publish_at is None:
            return None
        # The day of publication is not counted; the last day counts to its end.
        return workdays.working_days_after(tender.publish_at, days)
    if tender.publicity_ends_at is None or tender.status not in SUBJECT_STATUSES[ObjectionSubject.AWARD]:
        return None
    return workdays.end_of_day(workdays.add_working_days(_last_day(tender.publicity_ends_at), days))


def windows(tender: Tender) -> dict[ObjectionSubject, datetime | None]:
    return {subject: window_end(tender, subject) for subject in ObjectionSubject}


def subject_problem(tender: Tender, subject: ObjectionSubject, now: datetime | None = None) -> str | None:
    """Why `subject` cannot be objected to now, or None."""
    subject = ObjectionSubject(subject)
    now = now or clock.now()
    if tender.status not in SUBJECT_STATUSES[subject]:
        if subject == ObjectionSubject.AWARD and tender.status not in (S.CANCELLED, S.FAILED):
            return _("The award can be objected to once the proposed award is published.")
        from .workflow import status_label

        return _("Not possible while the tender is %(status)s.", status=status_label(tender.status))
    end = window_end(tender, subject)
    if end is None or now < end:
        return None
    if subject == ObjectionSubject.DOCUMENTS:
        return _("Objections to the tender documents were accepted until %(t)s, %(n)d working days after their "
                 "issue (%(source)s).", t=local_datetime(end), n=_days("OBJECTION_WORKING_DAYS"),
                 source=OBJECTION_SOURCE)
    return _("Objections to the award were accepted until %(t)s, %(n)d working days after the end of the "
             "publicity (%(source)s).", t=local_datetime(end), n=_days("OBJECTION_WORKING_DAYS"),
             source=OBJECTION_SOURCE)


def may_object_to(user, tender: Tender, subject: ObjectionSubject) -> bool:
    """Who may object to what: to the documents any organization that could bid on the tender (it may
    read it); to the award a bidder whose bid stands."""
    if not perms.can_bid(user) or not perms.can_view_tender(user, tender):
        return False
    if ObjectionSubject(subject) == ObjectionSubject.DOCUMENTS:
        return True
    return any(b.organization_id == user.organization_id and b.status == BidStatus.SUBMITTED for b in tender.bids)


def open_subjects(user, tender: Tender) -> list[ObjectionSubject]:
    """What `user` may object to on `tender` now."""
    now = clock.now()
    return [s for s in ObjectionSubject if may_object_to(user, tender, s) and subject_problem(tender, s, now) is None]


def answer_due(filed_at: datetime) -> datetime:
    return workdays.working_days_after(filed_at, _days("OBJECTION_ANSWER_WORKING_DAYS"))


def complaint_deadline(answer_due_at: datetime) -> datetime:
    return workdays.end_of_day(workdays.add_working_days(_last_day(answer_due_at), _days("COMPLAINT_WORKING_DAYS")))


def answer_overdue(objection: Objection, now: datetime | None = None) -> bool:
    return (objection.status == ObjectionStatus.OPEN and objection.answer_due_at is not None
            and (now or clock.now()) >= objection.answer_due_at)


# --- complaints ---------------------------------------------------------------------------------


def complaint_problem(objection: Objection, now: datetime | None = None) -> str | None:
    """Why the objector cannot complain about `objection` now, or None."""
    now = now or clock.now()
    if objection.complaint is not None:
        return _("A complaint about this objection has already been recorded.")
    if objection.status == ObjectionStatus.OPEN and now < objection.answer_due_at:
        return _("The bureau may answer until %(t)s (%(source)s); a complaint can be made once the answer is in or "
                 "that time has passed.", t=local_datetime(objection.answer_due_at), source=ANSWER_SOURCE)
    if now >= objection.complaint_until:
        return _("A complaint could be made until %(t)s, %(n)d working days after the answer was due (%(source)s).",
                 t=local_datetime(objection.complaint_until), n=_days("COMPLAINT_WORKING_DAYS"),
                 source=COMPLAINT_SOURCE)
    return None


def file_complaint(actor, objection: Objection, reasons: str, uploads: list) -> Complaint:
    """The objector records its complaint to the finance department."""
    allow(actor, perms.can_complain(actor, objection, check_state=False))
    problem = complaint_problem(objection)
    if problem:
        raise DomainError(problem)
    reasons = (reasons or "").strip()
    if len(reasons) < 10:
        raise ValidationError(_("State the reasons for the complaint."), "reasons")
    now = clock.now()
    complaint = Complaint(objection=objection, tender_id=objection.tender_id,
                          organization_id=objection.organization_id, filed_by_id=actor.id, filed_at=now,
                          reasons=reasons, status=ComplaintStatus.OPEN, status_changed_at=now)
    db.session.add(complaint)
    db.session.flush()
    from .workflow import BID_DOCUMENT_RULE

    for upload in [u for u in uploads if u and getattr(u, "filename", "")]:
        stored = files.store(upload, purpose="complaint", rule=BID_DOCUMENT_RULE, actor=actor)
        db.session.add(ComplaintDocument(complaint_id=complaint.id, file_id=stored.id))
    db.session.flush()
    record("complaint.filed", actor=actor, obj=complaint,
           changes={"tender_id": [None, objection.tender_id], "objection_id": [None, objection.id]})
    return complaint


def record_complaint_outcome(actor, complaint: Complaint, *, upheld: bool, decision: str, decided_on: date | None) -> None:
    """Procurement staff record the finance department's decision as it arrives."""
    allow(actor, perms.can_record_complaint_outcome(actor, complaint, check_state=False))
    verb = "uphold" if upheld else "dismiss"
    COMPLAINT.check(verb, complaint)
    decision = (decision or "").strip()
    if not decision:
        raise ValidationError(_("Write down the finance department's decision."), "decision")
    if decided_on is None:
        raise ValidationError(_("Give the date of the finance department's decision."), "decided_on")
    if decided_on < workdays.local_date(complaint.filed_at) or decided_on > workdays.local_date(clock.now()):
        raise ValidationError(_("The decision is dated between the complaint (%(filed)s) and today.",
                                filed=workdays.local_date(complaint.filed_at).isoformat()), "decided_on")
    complaint.decision, complaint.decided_on = decision, decided_on
    complaint.recorded_at, complaint.recorded_by_id = clock.now(), getattr(actor, "id", None)
    COMPLAINT.move(actor, complaint, verb, decided_on=decided_on)


# --- what the award waits for -------------------------------------------------------------------


def tender_objections(tender: Tender) -> list[Objection]:
    return list(db.session.execute(
        sa.select(Objection).where(Objection.tender_id == tender.id).options(
            selectinload(Objection.complaint), selectinload(Objection.organization))
        .order_by(Objection.filed_at, Objection.id)).scalars())


def _unsettled(tender: Tender, objection: Objection) -> bool:
    """Open, or upheld (by the bureau or the finance department) and not yet acted on; an upheld
    objection to an earlier round's award was settled by the rescoring that round led to."""
    if objection.status == ObjectionStatus.OPEN:
        return True
    if not objection.upheld_in_effect or objection.resolution:
        return False
    return objection.subject == ObjectionSubject.DOCUMENTS or objection.publicity_round == tender.publicity_round


def blocking(tender: Tender) -> tuple[list[Objection], list[Complaint]]:
    """The objections and complaints the award waits for."""
    objections = tender_objections(tender)
    return ([o for o in objections if _unsettled(tender, o)],
            [o.complaint for o in objections if o.complaint is not None and o.complaint.is_open])


def describe(objection: Objection) -> str:
    from .labels import OBJECTION_SUBJECT_LABELS

    if objection.status == ObjectionStatus.OPEN:
        state = _("awaiting the answer due %(t)s", t=local_datetime(objection.answer_due_at))
    else:
        state = _("upheld, not yet acted on")
    return _("objection no. %(n)d by %(org)s to %(subject)s (%(state)s)", n=objection.id,
             org=objection.organization.name, subject=OBJECTION_SUBJECT_LABELS[objection.subject], state=state)


def check_award_may_proceed(tender: Tender) -> None:
    """Refuse an award step while an objection or a complaint is open, naming each."""
    objections, complaints = blocking(tender)
    if not objections and not complaints:
        return
    items = [describe(o) for o in objections]
    items += [_("complaint no. %(n)d by %(org)s before the finance department", n=c.id,
                org=c.organization.name) for c in complaints]
    raise DomainError(_("The award waits for every objection and complaint to be settled (%(source)s): %(items)s.",
                        source=OBJECTION_SOURCE, items="; ".join(items)))


def check_objection_acts_on(objection: Objection, tender: Tender, subject: ObjectionSubject) -> None:
    if (objection.tender_id != tender.id or objection.subject != subject or not objection.upheld_in_effect
            or objection.resolution):
        if subject == ObjectionSubject.DOCUMENTS:
            raise DomainError(_("Only an upheld objection to the documents, not yet acted on, leads to amended "
                                "documents."))
        raise DomainError(_("Only an upheld objection not yet acted on can send the tender back to scoring."))


def amend_documents(actor, objection: Objection, upload, title: str):
    """An upheld objection to the documents is met by amending them (a document added while the tender
    still takes bids, through the usual path) — otherwise the tender is cancelled."""
    allow(actor, perms.can_manage_tenders(actor))
    tender = db.session.get(Tender, objection.tender_id)
    check_objection_acts_on(objection, tender, ObjectionSubject.DOCUMENTS)
    from .workflow import add_tender_document

    document = add_tender_document(actor, tender, upload, title)
    objection.resolution = "amend"
    db.session.flush()
    record("objection.documents_amended", actor=actor, obj=objection,
           changes={"resolution": [None, "amend"], "document": [None, document.title]})
    return document

