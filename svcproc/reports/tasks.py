"""The background jobs that make reports and audit packages, and how the job-status page shows them."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from ..contracts.models import Contract
from ..core import jobs
from ..core.permissions import require
from ..extensions import db
from .models import AuditPackage, GeneratedReport, ReportFormat, ReportKind
from .permissions import can_download_audit_package, can_read_reports
from .services import JOB_KIND, PACKAGE_JOB_KIND, build_package, generate


def _first_kept_wins(make):
    """Two jobs may render the same data at once (a button pressed twice): the one that keeps its copy
    second breaks the unique data constraint, drops its own and hands back the first one's."""
    try:
        return make()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return make()


def _job_actor(job: jobs.Job):
    from ..accounts.models import User

    return db.session.get(User, job.created_by_id) if job.created_by_id else None


def can_view_report_job(user, job: jobs.Job) -> bool:
    """Those who read reports follow every report job (the person who asked for it follows their own)."""
    return can_read_reports(user)


def can_view_package_job(user, job: jobs.Job) -> bool:
    return can_download_audit_package(user)


def job_page(job: jobs.Job) -> dict:
    """What a report or package job's status box and page show: the result, and the way back."""
    result = (job.result or {}) if job.status == jobs.JobStatus.DONE else {}
    report = db.session.get(GeneratedReport, result["report_id"]) if result.get("report_id") else None
    package = db.session.get(AuditPackage, result["package_id"]) if result.get("package_id") else None
    if job.kind == PACKAGE_JOB_KIND:
        kind, subject_id = ReportKind.ASSESSMENT, job.payload["contract_id"]
    else:
        kind, subject_id = ReportKind(job.payload["kind"]), job.payload["subject_id"]
    from flask import url_for

    return dict(report=report, package=package, stored_before=result.get("stored_before", False), kind=kind,
                subject_id=subject_id, title=_("Report"), back_label=_("Reports"),
                back_url=url_for("reports.subject", kind=kind.value, subject_id=subject_id))


@jobs.job_function(JOB_KIND, can_view=can_view_report_job, template="reports/_job.html", context=job_page)
def run_report_job(job, progress) -> dict:
    payload = job.payload
    report = _first_kept_wins(lambda: generate(
        _job_actor(job), ReportKind(payload["kind"]), int(payload["subject_id"]), payload["locale"],
        fmt=ReportFormat(payload.get("format", "pdf")), progress=progress, job_id=job.id))
    result = {"report_id": report.id, "stored_before": report.job_id != job.id}
    db.session.commit()
    return result


@jobs.job_function(PACKAGE_JOB_KIND, can_view=can_view_package_job, template="reports/_job.html", context=job_page)
def run_package_job(job, progress) -> dict:
    """The assessment report for the current data (made if the record changed since the last), then
    the package around it."""
    actor, contract_id = _job_actor(job), int(job.payload["contract_id"])
    if actor is not None:
        require(can_download_audit_package(actor))
    report = _first_kept_wins(lambda: generate(
        actor, ReportKind.ASSESSMENT, contract_id, job.payload["locale"],
        progress=lambda percent, message="": progress(percent * 0.7, message), job_id=job.id))
    report_id = report.id
    db.session.commit()
    report = db.session.get(GeneratedReport, report_id)
    package = build_package(actor, db.session.get(Contract, contract_id), report, job_id=job.id)
    progress(90, _("Audit package built"))
    result = {"package_id": package.id, "report_id": report_id}
    db.session.commit()
    return result
