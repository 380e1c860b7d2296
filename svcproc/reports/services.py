"""Asking for a report, rendering and storing it, retrying a failed job, and verifying a code.

A report is identified by its data: asking again while the record is unchanged finds the stored
copy by the data's SHA-256 and hands it back at once, without a job.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _
from werkzeug.datastructures import FileStorage

from ..audit.services import record
from ..contracts.models import Contract
from ..core import clock, files, jobs
from ..core.errors import DomainError
from ..core.permissions import require
from ..extensions import db
from ..registry.models import Organization
from . import assemble, render
from .models import GeneratedReport, ReportKind
from .permissions import can_generate_report

JOB_KIND = "report"
FILE_PURPOSE = "report"
PDF_RULE = files.UploadRule(kinds=frozenset({"pdf"}), max_bytes=200 * 1024 * 1024)


def subject_of(kind: ReportKind, subject_id: int):
    """The contract, organization (or the fiscal year itself) a report is about; None if missing."""
    if kind == ReportKind.ASSESSMENT:
        return db.session.get(Contract, subject_id)
    if kind == ReportKind.ORGANIZATION:
        return db.session.get(Organization, subject_id)
    return subject_id if 2000 <= subject_id <= 2100 else None


def title_of(kind: ReportKind, subject) -> str:
    if kind == ReportKind.ASSESSMENT:
        return _("Assessment report %(number)s %(title)s", number=subject.number, title=subject.title)
    if kind == ReportKind.ORGANIZATION:
        return _("Performance history of %(name)s", name=subject.name)
    return _("District portfolio report %(year)s", year=subject)


def stored(kind: ReportKind, subject_id: int, sha256: str) -> GeneratedReport | None:
    return db.session.execute(sa.select(GeneratedReport).where(
        GeneratedReport.kind == kind, GeneratedReport.subject_id == subject_id,
        GeneratedReport.data_sha256 == sha256)).scalar_one_or_none()


def latest(kind: ReportKind, subject_id: int) -> list[GeneratedReport]:
    return list(db.session.execute(sa.select(GeneratedReport).where(
        GeneratedReport.kind == kind, GeneratedReport.subject_id == subject_id)
        .order_by(GeneratedReport.generated_at.desc(), GeneratedReport.id.desc())).scalars())


def current_data(kind: ReportKind, subject_id: int, locale: str) -> dict:
    # Read what the database holds, not objects changed in memory in the meantime, so the same
    # record always hashes the same.
    db.session.flush()
    db.session.expire_all()
    with force_locale(locale):
        return assemble.data_for(kind.value, subject_id, locale)


@dataclass
class Request:
    """What asking for a report gave: the stored report at once, or a job that will make it."""
    report: GeneratedReport | None = None
    job: jobs.Job | None = None


def request_report(actor, kind: ReportKind, subject_id: int, locale: str) -> Request:
    """The stored report for unchanged data, else a queued job (flushed; the caller commits and
    dispatches it)."""
    require(can_generate_report(actor))
    data = current_data(kind, subject_id, locale)
    found = stored(kind, subject_id, assemble.digest(data))
    if found is not None:
        return Request(report=found)
    job = jobs.create_job(JOB_KIND, {"kind": kind.value, "subject_id": subject_id, "locale": locale}, actor)
    record("report.requested", actor=actor, obj=job,
           changes={"kind": [None, kind.value], "subject_id": [None, subject_id], "locale": [None, locale]})
    return Request(job=job)


def generate(actor, kind: ReportKind, subject_id: int, locale: str, *, progress=None,
             job_id: str | None = None) -> GeneratedReport:
    """Render and keep the report for the current data (or return the copy already kept)."""
    if actor is not None:  # the command line acts for the bureau
        require(can_generate_report(actor))
    progress = progress or (lambda *a, **k: None)
    subject = subject_of(kind, subject_id)
    if subject is None:
        raise DomainError(_("There is nothing to report on: the subject no longer exists."))
    data = current_data(kind, subject_id, locale)
    sha256 = assemble.digest(data)
    found = stored(kind, subject_id, sha256)
    if found is not None:
        return found
    progress(30, _("Data assembled"))
    generated_at = clock.now()
    with force_locale(locale):
        pdf, code = render.render_pdf(kind.value, data, generated_at=generated_at)
        title = title_of(kind, subject)[:300]
    progress(80, _("PDF rendered"))
    return store_report(actor, kind, subject_id, locale=locale, title=title, sha256=sha256, code=code, pdf=pdf,
                        generated_at=generated_at, job_id=job_id)


def store_report(actor, kind: ReportKind, subject_id: int, *, locale: str, title: str, sha256: str, code: str,
                 pdf: bytes, generated_at: datetime, job_id: str | None = None) -> GeneratedReport:
    name = f"{kind.value}-{subject_id}-{code}.pdf"
    stored_file = files.store(FileStorage(stream=io.BytesIO(pdf), filename=name), purpose=FILE_PURPOSE,
                              rule=PDF_RULE, actor=actor)
    report = GeneratedReport(kind=kind, subject_id=subject_id, locale=locale, title=title, data_sha256=sha256,
                             code=code, file=stored_file, generated_at=generated_at,
                             generated_by_id=getattr(actor, "id", None), job_id=job_id)
    db.session.add(report)
    db.session.flush()
    record("report.generated", actor=actor, obj=report,
           changes={"kind": [None, kind.value], "subject_id": [None, subject_id], "code": [None, code],
                    "data_sha256": [None, sha256], "file_sha256": [None, stored_file.sha256]})
    return report


def retry(actor, job: jobs.Job) -> jobs.Job:
    """A new job with the failed one's request (the failed one stays as it was, for the record)."""
    require(can_generate_report(actor))
    if job.kind != JOB_KIND or job.status != jobs.JobStatus.FAILED:
        raise DomainError(_("Only a report job that failed can be retried."))
    again = jobs.create_job(JOB_KIND, dict(job.payload), actor)
    record("report.retried", actor=actor, obj=again, changes={"retry_of": [None, job.id]})
    return again


@jobs.job_function(JOB_KIND)
def _run_report_job(job, progress) -> dict:
    from ..accounts.models import User

    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    payload = job.payload
    report = generate(actor, ReportKind(payload["kind"]), int(payload["subject_id"]), payload["locale"],
                      progress=progress, job_id=job.id)
    report_id = report.id
    db.session.commit()
    return {"report_id": report_id}


# --- verification ----------------------------------------------------------------------------


@dataclass
class Verification:
    genuine: bool
    report: GeneratedReport | None = None
    subject: object = None
    changed: bool | None = None        # whether the record has changed since the report was made
    reason: str = ""


def verify_code(code: str) -> Verification:
    report = db.session.execute(sa.select(GeneratedReport).where(
        GeneratedReport.code == assemble.normalise_code(code))).scalar_one_or_none()
    if report is None:
        return Verification(False, reason=_("No report with this code was generated by this system."))
    return _checked(report)


def verify_pdf(pdf_bytes: bytes) -> Verification:
    """Recompute the hash of the data attached to a PDF and look it up."""
    attached = render.read_attachment(pdf_bytes)
    if attached is None:
        return Verification(False, reason=_("The file carries no report data: it is not a report of this system."))
    import hashlib

    sha256 = hashlib.sha256(attached).hexdigest()
    report = db.session.execute(sa.select(GeneratedReport).where(
        GeneratedReport.data_sha256 == sha256)).scalars().first()
    if report is None:
        return Verification(False, reason=_("The data in the file matches no report generated by this system: "
                                            "it was altered or comes from elsewhere."))
    return _checked(report)


def _checked(report: GeneratedReport) -> Verification:
    subject = subject_of(report.kind, report.subject_id)
    if subject is None:
        return Verification(True, report=report, changed=True)
    now = assemble.digest(current_data(report.kind, report.subject_id, report.locale))
    return Verification(True, report=report, subject=subject, changed=now != report.data_sha256)
