"""Asking for a report or an audit package, making them (the jobs in tasks.py call this), retrying a
failed job, and verifying a code.

A report is identified by its data: the job assembles it and finds the copy kept for the same
data's SHA-256 (PDF or spreadsheet), or renders and keeps a new one. A request never assembles data
itself (a fiscal year of a district is seconds of queries and longer to render): it only queues the job.
"""
from __future__ import annotations

import enum
import hashlib
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
from . import assemble, figures, render, spreadsheets
from .models import AuditPackage, GeneratedReport, ReportFormat, ReportKind
from .permissions import can_download_audit_package, can_generate_report

JOB_KIND = "report"
PACKAGE_JOB_KIND = "audit_package"
FILE_PURPOSE = "report"
PDF_RULE = files.UploadRule(kinds=frozenset({"pdf"}), max_bytes=200 * 1024 * 1024)
XLSX_RULE = files.UploadRule(kinds=frozenset({"xlsx"}), max_bytes=200 * 1024 * 1024)


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


def download_stem(title: str) -> str:
    """A report's title as a file name: no path separators or control characters, spaces kept."""
    stem = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in title).strip(" .")
    return stem[:180] or "report"


def formats_of(kind: ReportKind) -> tuple[ReportFormat, ...]:
    """An assessment is read as a document; the portfolio and a history are tables too."""
    return (ReportFormat.PDF,) if kind == ReportKind.ASSESSMENT else (ReportFormat.PDF, ReportFormat.XLSX)


def stored(kind: ReportKind, subject_id: int, sha256: str,
           fmt: ReportFormat = ReportFormat.PDF) -> GeneratedReport | None:
    return db.session.execute(sa.select(GeneratedReport).where(
        GeneratedReport.kind == kind, GeneratedReport.subject_id == subject_id, GeneratedReport.format == fmt,
        GeneratedReport.data_sha256 == sha256)).scalar_one_or_none()


def latest(kind: ReportKind, subject_id: int, among: sa.Select | None = None) -> list[GeneratedReport]:
    """A subject's stored reports, newest first, among those a list may show (`visible_reports`)."""
    stmt = sa.select(GeneratedReport) if among is None else among
    return list(db.session.execute(stmt.where(
        GeneratedReport.kind == kind, GeneratedReport.subject_id == subject_id)
        .order_by(GeneratedReport.generated_at.desc(), GeneratedReport.id.desc())).scalars())


def current_data(kind: ReportKind, subject_id: int, locale: str) -> dict:
    # Read what the database holds, not objects changed in memory in the meantime, so the same
    # record always hashes the same.
    db.session.flush()
    db.session.expire_all()
    with force_locale(locale):
        return assemble.data_for(kind.value, subject_id, locale)


def request_report(actor, kind: ReportKind, subject_id: int, locale: str,
                   fmt: ReportFormat = ReportFormat.PDF) -> jobs.Job:
    """A queued job that finds or makes the report, handed to the runner once the request commits."""
    require(can_generate_report(actor))
    if fmt not in formats_of(kind):
        raise DomainError(_("This report has no spreadsheet version."))
    job = jobs.start(JOB_KIND, {"kind": kind.value, "subject_id": subject_id, "locale": locale,
                                     "format": fmt.value}, actor)
    record("report.requested", actor=actor, obj=job,
           changes={"kind": [None, kind.value], "subject_id": [None, subject_id], "locale": [None, locale],
                    "format": [None, fmt.value]})
    return job


def generate(actor, kind: ReportKind, subject_id: int, locale: str, *, fmt: ReportFormat = ReportFormat.PDF,
             progress=None, job_id: str | None = None) -> GeneratedReport:
    """Render and keep the report for the current data (or return the copy already kept)."""
    if actor is not None:  # the command line acts for the bureau
        require(can_generate_report(actor))
    progress = progress or (lambda *a, **k: None)
    subject = subject_of(kind, subject_id)
    if subject is None:
        raise DomainError(_("There is nothing to report on: the subject no longer exists."))
    data = current_data(kind, subject_id, locale)
    sha256 = assemble.digest(data)
    found = stored(kind, subject_id, sha256, fmt)
    if found is not None:
        return found
    progress(30, _("Data assembled"))
    generated_at = clock.now()
    with force_locale(locale):
        title = title_of(kind, subject)[:300]
        if fmt == ReportFormat.XLSX:
            content, code = spreadsheets.workbook(kind, data), None
        else:
            content, code = render.render_pdf(kind.value, data, generated_at=generated_at)
    progress(80, _("PDF rendered") if fmt == ReportFormat.PDF else _("Spreadsheet written"))
    return store_report(actor, kind, subject_id, locale=locale, title=title, sha256=sha256, code=code,
                        content=content, generated_at=generated_at, job_id=job_id, fmt=fmt,
                        key_figures=figures.key_figures(kind.value, data))


def store_report(actor, kind: ReportKind, subject_id: int, *, locale: str, title: str, sha256: str,
                 code: str | None, content: bytes, generated_at: datetime, key_figures: dict,
                 job_id: str | None = None, fmt: ReportFormat = ReportFormat.PDF) -> GeneratedReport:
    # Named as people file it (the report's title: contract number and project, organization or
    # year); a spreadsheet's versions are told apart by the data they hold, as a PDF's by its code.
    name = f"{download_stem(title)}-{code or sha256[:12]}.{fmt.value}"
    rule = PDF_RULE if fmt == ReportFormat.PDF else XLSX_RULE
    stored_file = files.store(FileStorage(stream=io.BytesIO(content), filename=name), purpose=FILE_PURPOSE,
                              rule=rule, actor=actor)
    report = GeneratedReport(kind=kind, format=fmt, subject_id=subject_id, locale=locale, title=title,
                             data_sha256=sha256, code=code, figures=key_figures, file=stored_file,
                             generated_at=generated_at,
                             generated_by_id=getattr(actor, "id", None), job_id=job_id)
    db.session.add(report)
    db.session.flush()
    record("report.generated", actor=actor, obj=report,
           changes={"kind": [None, kind.value], "format": [None, fmt.value], "subject_id": [None, subject_id],
                    "code": [None, code], "data_sha256": [None, sha256], "file_sha256": [None, stored_file.sha256]})
    return report


def retry(actor, job: jobs.Job) -> jobs.Job:
    """A new job with the failed one's request (the failed one stays as it was, for the record)."""
    require(can_download_audit_package(actor) if job.kind == PACKAGE_JOB_KIND else can_generate_report(actor))
    if job.kind not in (JOB_KIND, PACKAGE_JOB_KIND) or job.status != jobs.JobStatus.FAILED:
        raise DomainError(_("Only a report job that failed can be retried."))
    again = jobs.start(job.kind, dict(job.payload), actor)
    record("report.retried", actor=actor, obj=again, changes={"retry_of": [None, job.id]})
    return again


# --- audit packages --------------------------------------------------------------------------


def request_package(actor, contract: Contract, locale: str) -> jobs.Job:
    """A queued job that builds the contract's audit package, handed to the runner once the request commits."""
    require(can_download_audit_package(actor))
    job = jobs.start(PACKAGE_JOB_KIND, {"contract_id": contract.id, "locale": locale}, actor)
    record("audit_package.requested", actor=actor, obj=job, changes={"contract_id": [None, contract.id]})
    return job


def build_package(actor, contract: Contract, report: GeneratedReport, *, job_id: str | None = None) -> AuditPackage:
    """The report, the contract's audit events as the chain holds them and the manifest, zipped and
    kept. (Events join the chain when their transaction commits: commit a report made for the package
    first, so its own event is listed.)"""
    from . import desk

    if actor is not None:
        require(can_download_audit_package(actor))
    content = desk.audit_package(contract, report)
    package = AuditPackage(contract_id=contract.id, report_id=report.id, built_at=clock.now(),
                           built_by_id=getattr(actor, "id", None), job_id=job_id,
                           file=desk.keep_archive(content, f"audit-package-{contract.number}.zip", actor))
    db.session.add(package)
    db.session.flush()
    record("audit_package.built", actor=actor, obj=package,
           changes={"contract_id": [None, contract.id], "report_id": [None, report.id],
                    "file_sha256": [None, package.file.sha256]})
    return package


def latest_package(contract_id: int) -> AuditPackage | None:
    return db.session.execute(sa.select(AuditPackage).where(AuditPackage.contract_id == contract_id)
                              .order_by(AuditPackage.built_at.desc(), AuditPackage.id.desc()).limit(1)
                              ).scalar_one_or_none()


# --- verification ----------------------------------------------------------------------------


class Verdict(str, enum.Enum):
    GENUINE = "genuine"              # the very copy kept (a file), or a code of a kept report
    FILE_ALTERED = "file_altered"    # the attached data matches, the file does not: its pages may say otherwise
    DATA_ALTERED = "data_altered"    # the pages are the kept copy's, the attached data is not the report's
    BOTH_ALTERED = "both_altered"    # neither the pages nor the attached data are the kept copy's
    UNKNOWN = "unknown"              # no report of this system has this code or this data


@dataclass
class Verification:
    """The answer to "is this report genuine?", for a typed code or a file handed in."""

    verdict: Verdict
    report: GeneratedReport | None = None
    # A later report of the same subject, language and kind made from other data: the record changed
    # after this one was made. Only its time is said (its code would show its figures to anyone).
    newer_at: datetime | None = None
    file_sha256: str | None = None     # of the file handed in (None when a code was typed)
    data_sha256: str | None = None     # of the data attached to it
    names_a_report: bool = True        # whether the file carries report data or a code at all

    @property
    def genuine(self) -> bool:
        return self.verdict == Verdict.GENUINE

    @property
    def by_file(self) -> bool:
        return self.file_sha256 is not None

    @property
    def file_matches(self) -> bool:
        return self.report is not None and self.file_sha256 == self.report.file.sha256

    @property
    def data_matches(self) -> bool:
        return self.report is not None and self.data_sha256 == self.report.data_sha256

    @property
    def message(self) -> str:
        """What the verdict means, in the current language."""
        if self.verdict == Verdict.GENUINE:
            if self.by_file:
                return _("Genuine: this file is exactly the copy this system keeps, and the data attached to it "
                         "is the data the report was generated from.")
            return _("Genuine: this code belongs to a report generated by this system. Compare the figures "
                     "below with the paper: a copy that says anything else was altered.")
        if self.verdict == Verdict.FILE_ALTERED:
            return _("Not genuine: the file was altered. The data attached to it matches the report below, but "
                     "the file is not the copy this system keeps, so its printed pages may say something else. "
                     "Compare the figures below with the paper.")
        if self.verdict == Verdict.DATA_ALTERED:
            return _("Not genuine: the data attached to the file was altered. Its pages are those of the report "
                     "below, but the attached data is not the data the report was generated from.")
        if self.verdict == Verdict.BOTH_ALTERED:
            return _("Not genuine: both the pages and the attached data were altered. The file names the report "
                     "below, but neither its pages nor its attached data are those of the copy this system keeps.")
        if not self.by_file:
            return _("Unknown code: no report with this code was generated by this system.")
        if not self.names_a_report:
            return _("Unknown: the file carries neither report data nor a verification code of this system.")
        return _("Unknown: neither the data attached to the file nor the code it names belongs to a report "
                 "generated by this system. It was altered or comes from elsewhere.")

    @property
    def figures(self) -> list[tuple[str, str]]:
        """The kept report's key figures, to compare with the paper (current language)."""
        return figures.rows(self.report.figures) if self.report is not None else []


def _report_by_code(code: str) -> GeneratedReport | None:
    normalised = assemble.normalise_code(code)
    if len(normalised) != 19:
        return None
    return db.session.execute(sa.select(GeneratedReport).where(GeneratedReport.code == normalised)
                              ).scalar_one_or_none()


def _newer_at(report: GeneratedReport) -> datetime | None:
    return db.session.execute(sa.select(sa.func.max(GeneratedReport.generated_at)).where(
        GeneratedReport.kind == report.kind, GeneratedReport.subject_id == report.subject_id,
        GeneratedReport.format == ReportFormat.PDF, GeneratedReport.locale == report.locale,
        GeneratedReport.data_sha256 != report.data_sha256,
        GeneratedReport.generated_at > report.generated_at)).scalar()


def verify_code(code: str) -> Verification:
    """A code read off paper: the kept report it belongs to and its key figures (nothing is assembled)."""
    report = _report_by_code(code)
    if report is None:
        return Verification(Verdict.UNKNOWN)
    return Verification(Verdict.GENUINE, report=report, newer_at=_newer_at(report))


def verify_file(pdf_bytes: bytes) -> Verification:
    """A report file handed in (the public page's upload and `svcproc report verify`): the whole file's
    SHA-256 against the kept copy's, and its attached data's against the report's.

    The report it claims to be is the one whose code it names (printed on its first page, or in its
    metadata), else the one whose data it carries. When the data differs, the pages tell an altered
    attachment (pages as kept) from a copy altered throughout.
    """
    found = render.read_report_file(pdf_bytes)
    data_sha256 = hashlib.sha256(found.data).hexdigest() if found.data is not None else None
    report = next(filter(None, (_report_by_code(code) for code in found.codes)), None)
    if report is None and data_sha256 is not None:
        report = db.session.execute(sa.select(GeneratedReport).where(
            GeneratedReport.data_sha256 == data_sha256, GeneratedReport.format == ReportFormat.PDF)
            .order_by(GeneratedReport.id)).scalars().first()
    result = Verification(Verdict.UNKNOWN, report=report, file_sha256=found.sha256, data_sha256=data_sha256,
                          names_a_report=found.data is not None or bool(found.codes))
    if report is None:
        return result
    result.newer_at = _newer_at(report)
    if result.data_matches:
        result.verdict = Verdict.GENUINE if result.file_matches else Verdict.FILE_ALTERED
        return result
    kept = render.page_fingerprints(files.read(report.file))
    same_pages = kept is not None and render.page_fingerprints(pdf_bytes) == kept
    result.verdict = Verdict.DATA_ALTERED if same_pages else Verdict.BOTH_ALTERED
    return result
