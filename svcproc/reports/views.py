"""Report pages: a subject's reports and the button that makes one, the job's progress, downloads,
spreadsheets, the public verification page, the auditor's desk and the audit package."""
from __future__ import annotations

import io

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from ..contracts.models import Contract
from ..core import jobs
from ..core.i18n import locale_code
from ..core.permissions import require
from ..core.web import is_htmx, redirect_to, send_stored
from ..delivery.forms import EmptyForm
from ..extensions import db
from . import desk as desk_module
from . import assemble, services, spreadsheets
from .models import GeneratedReport, ReportKind
from .permissions import can_download_audit_package, can_generate_report, can_read_reports, can_use_audit_desk

bp = Blueprint("reports", __name__)


def _kind(kind: str) -> ReportKind:
    try:
        return ReportKind(kind)
    except ValueError:
        abort(404)


def _subject(kind: ReportKind, subject_id: int):
    subject = services.subject_of(kind, subject_id)
    if subject is None:
        abort(404)
    return subject


@bp.route("/reports/<kind>/<int:subject_id>")
@login_required
def subject(kind: str, subject_id: int):
    require(can_read_reports(current_user))
    report_kind = _kind(kind)
    item = _subject(report_kind, subject_id)
    return render_template("reports/subject.html", kind=report_kind, subject=item, subject_id=subject_id,
                           title=services.title_of(report_kind, item), reports=services.latest(report_kind, subject_id),
                           form=EmptyForm())


@bp.route("/reports/<kind>/<int:subject_id>", methods=["POST"])
@login_required
def generate(kind: str, subject_id: int):
    require(can_generate_report(current_user))
    report_kind = _kind(kind)
    _subject(report_kind, subject_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    asked = services.request_report(current_user, report_kind, subject_id, locale_code(get_locale()))
    if asked.report is not None:  # unchanged data: the stored copy, at once
        return redirect_to(url_for("reports.download", report_id=asked.report.id))
    db.session.commit()
    jobs.dispatch(asked.job)
    return redirect_to(url_for("reports.job", report_job_id=asked.job.id))


def _report_job(job_id: str) -> jobs.Job:
    job = db.get_or_404(jobs.Job, job_id)
    if job.kind != services.JOB_KIND:
        abort(404)
    require(can_read_reports(current_user) or job.created_by_id == current_user.id)
    return job


@bp.route("/reports/jobs/<report_job_id>")
@login_required
def job(report_job_id: str):
    item = _report_job(report_job_id)
    percent, message = jobs.progress_of(item)
    report = None
    if item.status == jobs.JobStatus.DONE and (item.result or {}).get("report_id"):
        report = db.session.get(GeneratedReport, item.result["report_id"])
    context = dict(job=item, percent=percent, message=message, report=report, form=EmptyForm(),
                   kind=ReportKind(item.payload["kind"]), subject_id=item.payload["subject_id"])
    if is_htmx():
        return render_template("reports/_job.html", **context)
    return render_template("reports/job.html", **context)


@bp.route("/reports/jobs/<report_job_id>/retry", methods=["POST"])
@login_required
def retry(report_job_id: str):
    item = _report_job(report_job_id)
    require(can_generate_report(current_user))
    if not EmptyForm().validate_on_submit():
        abort(400)
    again = services.retry(current_user, item)
    db.session.commit()
    jobs.dispatch(again)
    return redirect_to(url_for("reports.job", report_job_id=again.id))


@bp.route("/reports/<int:report_id>/download")
@login_required
def download(report_id: int):
    require(can_read_reports(current_user))
    report = db.get_or_404(GeneratedReport, report_id)
    return send_stored(report.file, "application/pdf")


@bp.route("/reports/<kind>/<int:subject_id>.xlsx")
@login_required
def spreadsheet(kind: str, subject_id: int):
    require(can_read_reports(current_user))
    report_kind = _kind(kind)
    if report_kind == ReportKind.ASSESSMENT:
        abort(404)
    _subject(report_kind, subject_id)
    locale = locale_code(get_locale())
    data = services.current_data(report_kind, subject_id, locale)
    content = spreadsheets.workbook(report_kind, data)
    return send_file(io.BytesIO(content), as_attachment=True, download_name=f"{kind}-{subject_id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- public verification ---------------------------------------------------------------------


@bp.route("/verify")
def verify_form():
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("reports.verify", code=assemble.normalise_code(code) or "-"), code=303)
    return render_template("reports/verify.html", result=None, code="")


@bp.route("/verify/<code>")
def verify(code: str):
    result = services.verify_code(code)
    # The page answers either way: "not genuine" is the answer to the question, not a missing page.
    return render_template("reports/verify.html", result=result, code=code)


# --- the auditor's desk ----------------------------------------------------------------------


@bp.route("/desk")
@login_required
def desk():
    require(can_use_audit_desk(current_user))
    return render_template("reports/desk.html", **desk_module.overview())


@bp.route("/contracts/<int:contract_id>/audit-package.zip")
@login_required
def audit_package(contract_id: int):
    require(can_download_audit_package(current_user))
    contract = db.get_or_404(Contract, contract_id)
    locale = locale_code(get_locale())
    report = services.generate(current_user, ReportKind.ASSESSMENT, contract.id, locale)
    db.session.commit()  # a report made for the package is kept (and audited) like any other
    content = desk_module.audit_package(contract, report)
    return send_file(io.BytesIO(content), mimetype="application/zip", as_attachment=True,
                     download_name=f"audit-package-{contract.number}.zip")

