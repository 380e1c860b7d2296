"""The auditor's desk: what needs an auditor's eye across the district, and a contract's audit package."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from ..audit.models import AuditEvent
from ..audit import labels as audit_labels
from ..audit.services import known_object_types
from ..contracts.models import Amendment, Contract, Deliverable, Milestone, Payment
from ..core import clock, exports, files, storage, versions
from ..core.queues import today
from ..delivery.models import RedFlag, ServiceActivity
from ..evaluations.models import EvaluationEvidence, EvaluationRound, Finding, ItemStatus, RectificationItem
from ..extensions import db
from ..monitoring.models import MonitoringCase, MonitoringDocument, ProcurementFlag
from ..procurement.models import ProjectPlan, Tender
from ..registry.models import Organization
from .models import AuditPackage, GeneratedReport, ReportFormat, ReportKind

# Rows per list: the newest contracts and the flags and items most in need of an eye; the headings
# lead to the whole lists.
DESK_ROWS = 50


def _object_types() -> list[str]:
    """The kinds of object the audit trail names, for the search form's choice: the models' audit
    types (a DISTINCT over the whole trail took 0.2 s at district scale)."""
    return list(known_object_types())


# What the desk lists is read from contracts and their organizations, reports and audit packages
# kept, red flags, procurement flags, rectification items and the plans' years: kept until one of
# those changes (core/versions.py), the same for every auditor.
DESK = "desk"
versions.watch(DESK, Contract, "number", "title", "organization_id")
versions.watch(DESK, Organization, "name")
versions.watch(DESK, Tender, "number")
versions.watch(DESK, ProjectPlan, "fiscal_year")
for _model in (GeneratedReport, AuditPackage, ProcurementFlag, RectificationItem):
    versions.watch(DESK, _model, versions.EVERY_COLUMN)
versions.watch(DESK, Finding, "round_id")
versions.watch(DESK, EvaluationRound, "contract_id")
_kept_overview = versions.Kept((DESK, "flags"), size=8)


@dataclass(frozen=True)
class DeskItem:
    """An open rectification item as the desk lists it (overdue as of the day the page is read)."""

    action: str
    owner: str
    deadline: date

    @property
    def overdue(self) -> bool:
        return self.deadline < today()


def overview() -> dict:
    """The desk's lists, kept while what they are read from stands."""
    from flask import request

    return _kept_overview.get(request.script_root, _overview)


def _overview() -> dict:
    """A bounded number of queries and rows, whatever the size of the district: each list selects
    the columns the page shows (the models' joined relationships would pull in tenders, plans and
    areas behind every row)."""
    contracts = db.session.execute(
        sa.select(Contract.id, Contract.number, Contract.title, Contract.organization_id,
                  Organization.name.label("organization"))
        .join(Organization, Organization.id == Contract.organization_id)
        .order_by(Contract.number.desc()).limit(DESK_ROWS)).all()
    ids = [c.id for c in contracts]
    latest, packages = {}, {}
    if ids:
        for row in db.session.execute(
                sa.select(GeneratedReport.subject_id, GeneratedReport.id, GeneratedReport.generated_at,
                          GeneratedReport.code)
                .where(GeneratedReport.kind == ReportKind.ASSESSMENT, GeneratedReport.format == ReportFormat.PDF,
                       GeneratedReport.subject_id.in_(ids))
                .order_by(GeneratedReport.generated_at, GeneratedReport.id)):
            latest[row.subject_id] = row
        for row in db.session.execute(
                sa.select(AuditPackage.contract_id, AuditPackage.id, AuditPackage.built_at)
                .where(AuditPackage.contract_id.in_(ids)).order_by(AuditPackage.built_at, AuditPackage.id)):
            packages[row.contract_id] = row
    flags = db.session.execute(
        sa.select(RedFlag.kind, RedFlag.found_at, RedFlag.explanation, Contract.number)
        .join(Contract, Contract.id == RedFlag.contract_id)
        .where(RedFlag.active).order_by(RedFlag.explanation != "", RedFlag.found_at.desc())
        .limit(DESK_ROWS)).all()
    # The procurement flags as the last computation left them (monitoring/flags.py), beside the
    # service-log flags: one statement, each row with the numbers its links need.
    procurement_flags = db.session.execute(
        sa.select(ProcurementFlag.id, ProcurementFlag.kind, ProcurementFlag.figures, ProcurementFlag.found_at,
                  ProcurementFlag.checked_at, ProcurementFlag.tender_id, ProcurementFlag.contract_id,
                  Tender.number.label("tender_number"), Contract.number.label("contract_number"))
        .outerjoin(Tender, Tender.id == ProcurementFlag.tender_id)
        .outerjoin(Contract, Contract.id == ProcurementFlag.contract_id)
        .order_by(ProcurementFlag.found_at.desc(), ProcurementFlag.id.desc()).limit(DESK_ROWS)).all()
    items = [(DeskItem(r.action, r.owner, r.deadline), r.number) for r in db.session.execute(
        sa.select(RectificationItem.action, RectificationItem.owner, RectificationItem.deadline, Contract.number)
        .join(Finding, Finding.id == RectificationItem.finding_id)
        .join(EvaluationRound, EvaluationRound.id == Finding.round_id)
        .join(Contract, Contract.id == EvaluationRound.contract_id)
        .where(RectificationItem.status != ItemStatus.CLOSED)
        .order_by(RectificationItem.deadline).limit(DESK_ROWS))]
    years = [y for (y,) in db.session.execute(
        sa.select(ProjectPlan.fiscal_year).distinct().order_by(ProjectPlan.fiscal_year.desc()))]
    return {"contracts": contracts, "latest": latest, "packages": packages, "flags": flags, "items": items,
            "procurement_flags": procurement_flags,
            "flags_checked_at": max((f.checked_at for f in procurement_flags), default=None),
            "years": years, "object_types": _object_types()}


def keep_archive(content: bytes, name: str, actor) -> files.StoredFile:
    """Keep a ZIP this application built, where uploads are kept (files.store checks uploads by
    their content and takes no plain ZIP; a package made here needs no such check)."""
    stored = files.StoredFile(purpose="audit_package", stored_name=storage.backend().put(content),
                              original_name=name[:255], kind="zip", size=len(content),
                              sha256=hashlib.sha256(content).hexdigest(), encrypted=False, uploaded_at=clock.now(),
                              uploaded_by_id=getattr(actor, "id", None))
    db.session.add(stored)
    db.session.flush()
    return stored


def _object_keys(contract: Contract) -> list[tuple[str, list[str]]]:
    """(audit object type, ids) of everything that belongs to the contract's record."""
    def ids(stmt) -> list[str]:
        return [str(i) for (i,) in db.session.execute(stmt)]

    rounds = sa.select(EvaluationRound.id).where(EvaluationRound.contract_id == contract.id)
    findings = sa.select(Finding.id).where(Finding.round_id.in_(rounds))
    milestones = sa.select(Milestone.id).where(Milestone.contract_id == contract.id)
    return [
        ("contract", [str(contract.id)]),
        ("tender", [str(contract.tender_id)]),
        ("milestone", ids(milestones)),
        ("amendment", ids(sa.select(Amendment.id).where(Amendment.contract_id == contract.id))),
        ("payment", ids(sa.select(Payment.id).where(Payment.contract_id == contract.id))),
        ("deliverable", ids(sa.select(Deliverable.id).where(Deliverable.milestone_id.in_(milestones)))),
        ("activity", ids(sa.select(ServiceActivity.id).where(ServiceActivity.contract_id == contract.id))),
        ("red_flag", ids(sa.select(RedFlag.id).where(RedFlag.contract_id == contract.id))),
        ("evaluation_round", ids(rounds)),
        ("finding", ids(findings)),
        ("rectification_item", ids(sa.select(RectificationItem.id).where(RectificationItem.finding_id.in_(findings)))),
        ("report", ids(sa.select(GeneratedReport.id).where(GeneratedReport.kind == ReportKind.ASSESSMENT,
                                                           GeneratedReport.subject_id == contract.id))),
        ("audit_package", ids(sa.select(AuditPackage.id).where(AuditPackage.contract_id == contract.id))),
        ("monitoring_case", ids(sa.select(MonitoringCase.id).where(_cases_of(contract)))),
    ]


def _cases_of(contract: Contract):
    """The monitoring cases of a contract: on the contract itself or on the tender it came from."""
    return sa.or_(MonitoringCase.contract_id == contract.id, MonitoringCase.tender_id == contract.tender_id)


def monitoring_cases(contract: Contract) -> list[dict]:
    """Each monitoring case of the contract with its documents' bytes, for the package."""
    from ..monitoring.labels import FLAG_LABELS, figures_text
    from ..monitoring.models import FlagKind

    cases = db.session.execute(
        sa.select(MonitoringCase).where(_cases_of(contract)).order_by(MonitoringCase.id)
        .options(lazyload("*"))).scalars().all()
    documents = db.session.execute(
        sa.select(MonitoringDocument).where(MonitoringDocument.case_id.in_([c.id for c in cases]))
        .order_by(MonitoringDocument.id)).scalars().all() if cases else []
    out = []
    for case in cases:
        flag = None
        if case.flag_kind:
            kind = FlagKind(case.flag_kind)
            flag = {"kind": case.flag_kind, "label": str(FLAG_LABELS[kind]), "figures": case.flag_figures,
                    "text": figures_text(kind, case.flag_figures)}
        record_ = {"id": case.id, "subject": case.subject, "tender_id": case.tender_id, "contract_id": case.contract_id,
                   "status": case.status.value, "flag": flag, "findings": case.findings, "answer": case.answer,
                   "returned_because": case.status_reason, "conclusion": case.conclusion,
                   "opened_at": case.opened_at.isoformat(),
                   "answered_at": case.answered_at.isoformat() if case.answered_at else None,
                   "concluded_at": case.concluded_at.isoformat() if case.concluded_at else None, "documents": []}
        for d in (d for d in documents if d.case_id == case.id):
            name = f"monitoring/case-{case.id}/{d.id}-{d.file.original_name}"
            record_["documents"].append({"title": d.title, "file": name, "size": d.file.size, "sha256": d.file.sha256,
                                         "uploaded_at": d.uploaded_at.isoformat(), "content": files.read(d.file)})
        out.append(record_)
    return out


def events_csv(contract: Contract) -> bytes:
    """The contract's audit events, formula-safe, in the columns of the audit trail's own export."""
    clauses = [sa.and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(ids))
               for kind, ids in _object_keys(contract) if ids]
    stmt = sa.select(AuditEvent).where(sa.or_(*clauses)).order_by(AuditEvent.seq)
    return exports.csv_bytes(audit_labels.CSV_COLUMNS, audit_labels.event_rows(stmt))


def _files(contract: Contract) -> list[dict]:
    rows = []
    deliverables = db.session.execute(
        sa.select(Deliverable, Milestone.title).join(Milestone, Milestone.id == Deliverable.milestone_id)
        .where(Milestone.contract_id == contract.id).order_by(Deliverable.id)).unique().all()
    for d, milestone_title in deliverables:
        rows.append({"kind": "deliverable", "milestone": milestone_title, "title": d.title,
                     "file": d.file.original_name, "size": d.file.size, "sha256": d.file.sha256})
    evidence = db.session.execute(
        sa.select(EvaluationEvidence, EvaluationRound.title).join(EvaluationRound)
        .where(EvaluationRound.contract_id == contract.id).order_by(EvaluationEvidence.id)).unique().all()
    for e, round_title in evidence:
        rows.append({"kind": "evaluation_evidence", "round": round_title, "title": e.title,
                     "file": e.file.original_name, "size": e.file.size, "sha256": e.file.sha256})
    return rows


def audit_package(contract: Contract, report: GeneratedReport) -> bytes:
    """A ZIP: the report PDF, the contract's audit events (CSV), its monitoring cases (JSON) with their
    documents, and a manifest of SHA-256 sums."""
    pdf = files.read(report.file)
    events = events_csv(contract)
    cases = monitoring_cases(contract)
    contents = {doc["file"]: doc.pop("content") for case in cases for doc in case["documents"]}
    cases_json = json.dumps(cases, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    manifest = {
        "contract": {"id": contract.id, "number": contract.number, "title": contract.title},
        "report": {"file": "report.pdf", "code": report.code, "data_sha256": report.data_sha256,
                   "sha256": hashlib.sha256(pdf).hexdigest(), "generated_at": report.generated_at.isoformat()},
        "audit_events": {"file": "audit-events.csv", "sha256": hashlib.sha256(events).hexdigest()},
        "files": _files(contract),
        "monitoring_cases": {"file": "monitoring/cases.json", "sha256": hashlib.sha256(cases_json).hexdigest(),
                             "documents": [{"file": d["file"], "sha256": d["sha256"]}
                                           for case in cases for d in case["documents"]]},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.pdf", pdf)
        archive.writestr("audit-events.csv", events)
        archive.writestr("monitoring/cases.json", cases_json)
        for name, content in contents.items():
            archive.writestr(name, content)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    return buffer.getvalue()
