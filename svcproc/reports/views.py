"""Report pages: a subject's reports and the button that makes one (its progress is followed on the
job-status page, core/job_views.py), retrying a failed job, downloads, spreadsheets, the public
verification page, the auditor's desk and the audit package."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _nl
from flask_login import current_user, login_required

from ..contracts.models import Contract
from ..core import flow, jobs, nav, scoping, versions
from ..core.errors import ValidationError
from ..core.i18n import locale_code
from ..core.permissions import require
from ..core.web import redirect_to, send_stored
from ..extensions import db
from . import assemble, render, services
from . import tasks  # noqa: F401  (registers the report and audit-package jobs)
from . import desk as desk_module
from . import permissions as perms
from .forms import VerifyFileForm
from .models import GeneratedReport, ReportFormat, ReportKind
from .permissions import can_download_audit_package, can_generate_report, can_read_reports, can_use_audit_desk

bp = Blueprint("reports", __name__)
nav.menu("reports.desk", _nl("Auditor's desk"), order=5, visible=perms.can_use_audit_desk)
nav.predicates(perms)
scoping.register(GeneratedReport, perms.visible_reports, perms.can_view_report)


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
    package = services.latest_package(subject_id) if report_kind == ReportKind.ASSESSMENT else None
    figures = _portfolio_figures(subject_id) if report_kind == ReportKind.PORTFOLIO else None
    return render_template("reports/subject.html", kind=report_kind, subject=item, subject_id=subject_id,
                           title=services.title_of(report_kind, item),
                           reports=services.latest(report_kind, subject_id, perms.visible_reports(current_user)),
                           formats=services.formats_of(report_kind), package=package, figures=figures)


# The money of a fiscal year changes only with what the bureau's spending panel is kept under (plans'
# year, category and budget, tenders' plans, contracts' amount, signing and tender, payments):
# worked out once per version of those, year and language, and kept (core/versions.py).
_kept_figures = versions.Kept("spending", size=32)


def _portfolio_figures(year: int) -> dict:
    return _kept_figures.get((year, locale_code(get_locale())), lambda: _work_out_figures(year))


def _work_out_figures(year: int) -> dict:
    """The fiscal year's money on screen (three grouped statements, not the report's assembly, which
    is a job): each category leads to its contracts, each month to its payments."""
    money = assemble.portfolio_money(year)
    category_links = [url_for("contracts.contracts", year=year, category=r["category"]) for r in money["by_category"]]
    month_links = [url_for("contracts.payments", year=year, month=r["month"]) for r in money["by_month"]]
    totals = {key: sum(r[key] for r in money["by_category"]) for key in ("budget_fen", "awarded_fen", "paid_fen")}
    return {"money": money, "totals": totals, "category_links": category_links, "month_links": month_links,
            "signed_links": [url_for("contracts.contracts", year=year, signed=r["month"]) for r in money["by_month"]],
            "charts": render.money_charts(money, category_links, month_links)}


@bp.route("/reports/<kind>/<int:subject_id>", methods=["POST"])
@login_required
def generate(kind: str, subject_id: int):
    """Queue the job that finds or makes the report (PDF, or `format=xlsx` for a spreadsheet)."""
    require(can_generate_report(current_user))
    report_kind = _kind(kind)
    _subject(report_kind, subject_id)
    try:
        fmt = ReportFormat(request.form.get("format") or "pdf")
    except ValueError:
        fmt = None
    if fmt not in services.formats_of(report_kind):
        raise ValidationError(_("This report is not made in that format."), "format")
    job = services.request_report(current_user, report_kind, subject_id, locale_code(get_locale()), fmt)
    return redirect_to(url_for("jobs.status", job_id=job.id))


def _report_job(job_id: str) -> jobs.Job:
    job = db.get_or_404(jobs.Job, job_id)
    if job.kind not in (services.JOB_KIND, services.PACKAGE_JOB_KIND):
        abort(404)
    require(jobs.can_view_job(current_user, job))
    return job


@bp.route("/reports/jobs/<report_job_id>/retry", methods=["POST"])
@login_required
def retry(report_job_id: str):
    again = services.retry(current_user, _report_job(report_job_id))
    return redirect_to(url_for("jobs.status", job_id=again.id))


@bp.route("/reports/<int:report_id>/download")
@login_required
def download(report_id: int):
    require(can_read_reports(current_user))
    report = db.get_or_404(GeneratedReport, report_id)
    return send_stored(report.file)


# --- public verification ---------------------------------------------------------------------


def _verify_page(result=None, code: str = "", form: VerifyFileForm | None = None, **extra):
    return render_template("reports/verify.html", result=result, code=code, form=form or VerifyFileForm(),
                           **extra)


@bp.route("/verify")
def verify_form():
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("reports.verify", code=assemble.normalise_code(code) or "-"), code=303)
    return _verify_page()


@bp.route("/verify/<code>")
def verify(code: str):
    # The page answers either way: "not genuine" is the answer to the question, not a missing page.
    return _verify_page(services.verify_code(code), code=code)


@bp.route("/verify", methods=["POST"])
def verify_upload():
    """A report's PDF handed in: compared with the kept copy and answered on the page (it is not kept)."""
    form = VerifyFileForm()

    def check():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose the report's PDF file."), "file")
        content = upload.read()
        if not content.startswith(b"%PDF-"):
            raise ValidationError(_("This file is not a PDF. Choose the report's PDF file as it was downloaded "
                                    "or handed to you."), "file")
        return _verify_page(services.verify_file(content), form=form, file_name=upload.filename), 200

    return flow.submit(form, check, lambda **extra: _verify_page(form=form, **extra), field="file")


# --- the auditor's desk ----------------------------------------------------------------------


@bp.route("/desk")
@login_required
def desk():
    require(can_use_audit_desk(current_user))
    return render_template("reports/desk.html", **desk_module.overview())


@bp.route("/contracts/<int:contract_id>/audit-package", methods=["POST"])
@login_required
def build_audit_package(contract_id: int):
    """Queue the job that builds the package (and the report, if the record changed since the last)."""
    require(can_download_audit_package(current_user))
    contract = db.get_or_404(Contract, contract_id)
    job = services.request_package(current_user, contract, locale_code(get_locale()))
    return redirect_to(url_for("jobs.status", job_id=job.id))


@bp.route("/contracts/<int:contract_id>/audit-package.zip")
@login_required
def audit_package(contract_id: int):
    """The package last built for the contract, as it was kept."""
    require(can_download_audit_package(current_user))
    contract = db.get_or_404(Contract, contract_id)
    package = services.latest_package(contract.id)
    if package is None:
        abort(404)
    return send_stored(package.file, "application/zip")
