"""Monitoring cases: the list, opening one (from a red flag or by number), the case page with the
step each person may take, its documents; and recomputing the procurement red flags."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _nl
from flask_login import current_user, login_required
from sqlalchemy.orm import lazyload, selectinload

from ..contracts.models import Contract
from ..core import flow, jobs, nav
from ..core.permissions import require
from ..core.web import paginate, redirect_to, send_stored
from ..extensions import db
from ..procurement.models import Tender
from . import permissions as perms
from . import workflow
from .forms import AnswerForm, CaseForm, ConclusionForm, DocumentForm, FindingsForm, ReturnForm
from .labels import CASE_STATUS_LABELS, FLAG_LABELS, FLAG_RULES, figures_text
from .models import FlagKind, MonitoringCase, MonitoringDocument, ProcurementFlag
from .tasks import JOB_KIND

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")
nav.menu("monitoring.cases", _nl("Monitoring cases"), order=6, visible=perms.can_view_monitoring, group="audit")
nav.predicates(perms)


@bp.app_context_processor
def _labels():
    return {"case_status_labels": CASE_STATUS_LABELS, "procurement_flag_labels": FLAG_LABELS,
            "procurement_flag_rules": FLAG_RULES, "procurement_flag_figures": _figures}


def _figures(kind, figures) -> str:
    return figures_text(FlagKind(kind), figures)


@bp.route("/cases")
@login_required
def cases():
    require(perms.can_view_monitoring(current_user))
    page = paginate(perms.visible_cases(current_user).options(lazyload("*")).order_by(MonitoringCase.id.desc()))
    # The numbers of the page's tenders and contracts: one statement, not one per row.
    numbers = {}
    if page.items:
        rows = db.session.execute(
            sa.select(MonitoringCase.id, Tender.number.label("tender"), Contract.number.label("contract"))
            .join(Tender, Tender.id == MonitoringCase.tender_id)
            .outerjoin(Contract, Contract.id == MonitoringCase.contract_id)
            .where(MonitoringCase.id.in_([c.id for c in page.items])))
        numbers = {r.id: r for r in rows}
    return render_template("monitoring/cases.html", page=page, numbers=numbers)


def _flag(flag_id) -> ProcurementFlag | None:
    try:
        return db.get_or_404(ProcurementFlag, int(flag_id)) if flag_id else None
    except ValueError:
        return None


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def case_new():
    require(perms.can_open_case(current_user))
    form = CaseForm()
    flag = _flag(form.flag_id.data if request.method == "POST" else request.args.get("flag"))
    if request.method == "GET" and flag is not None:
        form.flag_id.data = str(flag.id)
        form.subject.data = str(FLAG_LABELS[flag.kind])
    elif request.method == "GET":
        form.number.data = request.args.get("number", "")

    def save():
        case = workflow.open_case(current_user, subject=form.subject.data, number=form.number.data or "", flag=flag)
        return url_for("monitoring.case", case_id=case.id)

    return flow.submit(form, save, lambda **extra: render_template("monitoring/case_new.html", form=form, flag=flag,
                                                                   **extra),
                       field="number", message=_("Monitoring case opened."))


def _load(case_id: int) -> MonitoringCase:
    case = db.get_or_404(MonitoringCase, case_id)
    require(perms.can_view_case(current_user, case))
    return case


def case_page(case_id: int, **forms):
    """The case's page again with a sent form and its errors (for `flow.submit`)."""
    def render(**extra):
        case = db.session.execute(
            sa.select(MonitoringCase).where(MonitoringCase.id == case_id)
            .options(selectinload(MonitoringCase.documents).joinedload(MonitoringDocument.file))).scalar_one()
        return render_template(
            "monitoring/case.html", case=case, tender=db.session.get(Tender, case.tender_id),
            contract=db.session.get(Contract, case.contract_id) if case.contract_id else None,
            findings_form=forms.get("findings_form") or FindingsForm(data={"findings": case.findings}),
            answer_form=forms.get("answer_form") or AnswerForm(), return_form=forms.get("return_form") or ReturnForm(),
            conclusion_form=forms.get("conclusion_form") or ConclusionForm(),
            document_form=forms.get("document_form") or DocumentForm(), **extra)
    return render


@bp.route("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    _load(case_id)
    return case_page(case_id)()


def _state_refusals_to_the_page(exc) -> bool:
    """A rule of the case's state is answered like a refused button, on the page it came from."""
    from ..core.errors import ValidationError

    if not isinstance(exc, ValidationError):
        raise exc
    return False


def _step(case_id: int, form_name: str, form, allowed, step, message: str, field: str):
    case = _load(case_id)
    require(allowed(current_user, case))

    def save():
        step(current_user, case)
        return url_for("monitoring.case", case_id=case.id)

    return flow.submit(form, save, case_page(case_id, **{form_name: form}), field=field, message=message,
                       on_error=_state_refusals_to_the_page)


@bp.route("/cases/<int:case_id>/findings", methods=["POST"])
@login_required
def case_issue(case_id: int):
    form = FindingsForm()
    return _step(case_id, "findings_form", form, lambda u, c: perms.can_open_case(u),
                 lambda actor, case: workflow.issue_findings(actor, case, form.findings.data),
                 _("Findings issued to the bureau."), "findings")


@bp.route("/cases/<int:case_id>/answer", methods=["POST"])
@login_required
def case_answer(case_id: int):
    form = AnswerForm()
    return _step(case_id, "answer_form", form, lambda u, c: perms.can_answer_cases(u),
                 lambda actor, case: workflow.answer_case(actor, case, form.answer.data),
                 _("Answer sent to the auditor."), "answer")


@bp.route("/cases/<int:case_id>/return", methods=["POST"])
@login_required
def case_return(case_id: int):
    form = ReturnForm()
    return _step(case_id, "return_form", form, lambda u, c: perms.can_open_case(u),
                 lambda actor, case: workflow.return_answer(actor, case, form.reason.data),
                 _("Answer returned to the bureau."), "reason")


@bp.route("/cases/<int:case_id>/conclusion", methods=["POST"])
@login_required
def case_conclude(case_id: int):
    form = ConclusionForm()
    return _step(case_id, "conclusion_form", form, lambda u, c: perms.can_open_case(u),
                 lambda actor, case: workflow.conclude_case(actor, case, form.conclusion.data),
                 _("Monitoring case concluded."), "conclusion")


@bp.route("/cases/<int:case_id>/documents", methods=["POST"])
@login_required
def case_document_add(case_id: int):
    form = DocumentForm()
    return _step(case_id, "document_form", form,
                 lambda u, c: perms.can_open_case(u) or perms.can_attach_to_case(u, c),
                 lambda actor, case: workflow.attach_document(actor, case, request.files.get("file"), form.title.data),
                 _("Document attached."), "file")


@bp.route("/documents/<int:document_id>")
@login_required
def case_document(document_id: int):
    document = db.get_or_404(MonitoringDocument, document_id)
    require(perms.can_view_case(current_user, document.case))
    return send_stored(document.file)


@bp.route("/flags/refresh", methods=["POST"])
@login_required
def flags_refresh():
    """Queue the job that recomputes the procurement red flags."""
    require(perms.can_refresh_flags(current_user))
    job = jobs.start(JOB_KIND, {}, current_user)
    return redirect_to(url_for("jobs.status", job_id=job.id))
