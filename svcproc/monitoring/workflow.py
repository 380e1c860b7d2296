"""Monitoring cases: opened by an auditor on a tender or contract (from a red flag or by hand),
findings issued to the bureau, its answer, the auditor's conclusion; documents on the way. Each
step checks who acts and the case's state, records one audit event and flushes."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.services import created, record
from ..contracts.models import Contract
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..core.workflow import allow
from ..extensions import db
from ..procurement.models import Tender
from . import permissions as perms
from .models import MonitoringCase, MonitoringDocument, ProcurementFlag
from .states import CASE

CASE_FIELDS = ("tender_id", "contract_id", "subject", "flag_kind", "status")
DOCUMENT_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)
TEXT_LIMIT = 8000


def _text(value: str | None, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(missing, field)
    if len(text) > TEXT_LIMIT:
        raise ValidationError(_("At most %(n)d characters.", n=TEXT_LIMIT), field)
    return text


def find_subject(number: str) -> tuple[Tender, Contract | None]:
    """The tender or contract a number names (a contract's number brings its tender along)."""
    number = (number or "").strip()
    if not number:
        raise ValidationError(_("Give the number of a tender or contract."), "number")
    contract = db.session.execute(sa.select(Contract).where(Contract.number == number)).scalar_one_or_none()
    if contract is not None:
        return db.session.get(Tender, contract.tender_id), contract
    tender = db.session.execute(sa.select(Tender).where(Tender.number == number)).scalar_one_or_none()
    if tender is None:
        raise ValidationError(_("No tender or contract has the number %(n)s.", n=number), "number")
    contract = db.session.execute(sa.select(Contract).where(Contract.tender_id == tender.id)).scalar_one_or_none()
    return tender, contract


def open_case(actor, *, subject: str, number: str = "", flag: ProcurementFlag | None = None) -> MonitoringCase:
    """A case on the flag's tender or contract, keeping the flag as it read then; or on the record a
    number names."""
    allow(actor, perms.can_open_case(actor))
    subject = _text(subject, "subject", _("Say what the case looks into."))[:200]
    if flag is not None:
        tender = db.session.get(Tender, flag.tender_id) if flag.tender_id else None
        contract = db.session.get(Contract, flag.contract_id) if flag.contract_id else None
        if tender is None and contract is not None:
            tender = db.session.get(Tender, contract.tender_id)
        if tender is None:
            raise DomainError(_("This flag names no tender or contract to monitor."))
        if contract is None:
            contract = db.session.execute(
                sa.select(Contract).where(Contract.tender_id == tender.id)).scalar_one_or_none()
    else:
        tender, contract = find_subject(number)
    now = clock.now()
    case = MonitoringCase(tender_id=tender.id, contract_id=contract.id if contract else None, subject=subject,
                          flag_kind=flag.kind.value if flag else "", flag_figures=dict(flag.figures) if flag else {},
                          status_changed_at=now, opened_at=now, opened_by_id=getattr(actor, "id", None))
    db.session.add(case)
    db.session.flush()
    record("monitoring.opened", actor=actor, obj=case, changes=created(case, CASE_FIELDS))
    return case


# Who acts is checked before the state and before anything changes (a refusal leaves the case as it was).


def issue_findings(actor, case: MonitoringCase, findings: str) -> None:
    allow(actor, perms.can_open_case(actor))
    CASE.check("issue", case)
    text = _text(findings, "findings", _("Record the findings the bureau is to answer."))
    before = case.findings
    case.findings = text
    CASE.move(actor, case, "issue", allowed=perms.can_issue_findings(actor, case),
              changes={"findings": [before or None, text]})


def answer_case(actor, case: MonitoringCase, answer: str) -> None:
    allow(actor, perms.can_answer_cases(actor))
    CASE.check("answer", case)
    text = _text(answer, "answer", _("Say what the bureau eliminated or put right."))
    before = case.answer
    case.answer, case.answered_at, case.answered_by_id = text, clock.now(), getattr(actor, "id", None)
    CASE.move(actor, case, "answer", allowed=perms.can_answer_case(actor, case),
              changes={"answer": [before or None, text]})


def return_answer(actor, case: MonitoringCase, reason: str) -> None:
    allow(actor, perms.can_open_case(actor))
    CASE.check("return", case)
    text = _text(reason, "reason", _("Say what the answer leaves unresolved."))
    CASE.move(actor, case, "return", allowed=perms.can_return_answer(actor, case), reason=text)


def conclude_case(actor, case: MonitoringCase, conclusion: str) -> None:
    allow(actor, perms.can_open_case(actor))
    CASE.check("conclude", case)
    text = _text(conclusion, "conclusion", _("Record the conclusion."))
    case.conclusion, case.concluded_at = text, clock.now()
    CASE.move(actor, case, "conclude", allowed=perms.can_conclude_case(actor, case),
              changes={"conclusion": [None, text]})


def attach_document(actor, case: MonitoringCase, upload, title: str) -> MonitoringDocument:
    allow(actor, perms.can_open_case(actor) or perms.can_answer_cases(actor))
    CASE.check("attach", case)
    allow(actor, perms.can_attach_to_case(actor, case))
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationError(_("Choose a file to upload."), "file")
    stored = files.store(upload, purpose="monitoring_document", rule=DOCUMENT_RULE, actor=actor)
    title = (title or "").strip()
    document = MonitoringDocument(case_id=case.id, title=(title or stored.original_name)[:200], file_id=stored.id,
                                  uploaded_at=clock.now(), uploaded_by_id=getattr(actor, "id", None))
    db.session.add(document)
    db.session.flush()
    record("monitoring.document_added", actor=actor, obj=case,
           changes={"title": [None, document.title], "file": [None, stored.original_name],
                    "sha256": [None, stored.sha256]})
    return document
