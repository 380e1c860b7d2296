"""Objections to the tender documents or the award, complaints to the finance department: filing
them, the bureau's answer, the department's decision as recorded by staff, and what an upheld
objection leads to (scoring again, amended documents, or the tender cancelled)."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import first_error, redirect_to
from ...extensions import db
from .. import challenges
from .. import permissions as perms
from .. import workflow
from ..forms import AmendedDocumentForm, ComplaintForm, ComplaintOutcomeForm, ObjectionAnswerForm, ObjectionForm
from ..models import Complaint, Objection, ObjectionSubject, Tender
from . import bp


@bp.route("/tenders/<int:tender_id>/objections/new", methods=["GET", "POST"])
@login_required
def objection_new(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_object(current_user, item))
    form = ObjectionForm()
    subjects = challenges.open_subjects(current_user, item)
    form.fill_choices(subjects)

    def save():
        workflow.file_objection(current_user, item, form.reasons.data, request.files.getlist("files"),
                                subject=ObjectionSubject(form.subject.data))
        return url_for("procurement.tender", tender_id=item.id)

    def page(**extra):
        return render_template("procurement/objection_form.html", tender=item, form=form,
                               windows=challenges.windows(item), subjects=subjects, **extra)

    return flow.submit(form, save, page, field="reasons",
                       message=_("Objection filed. The award waits until it is answered."))


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@login_required
def objection_answer(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_answer_objection(current_user, item, check_state=False))
    form = ObjectionAnswerForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the answer to the objection; the bidder receives it."), "answer")
    workflow.answer_objection(current_user, item, upheld=form.decision.data == "upheld", answer=form.answer.data)
    flash(_("Objection answered."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))


@bp.route("/objections/<int:objection_id>/rescore", methods=["POST"])
@login_required
def objection_rescore(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_resolve_objection(current_user, item, check_state=False))
    tender_item = db.get_or_404(Tender, item.tender_id)
    workflow.return_to_scoring(current_user, tender_item, item)
    flash(_("The tender is back with the panel for scoring."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=tender_item.id))


@bp.route("/objections/<int:objection_id>/amend", methods=["POST"])
@login_required
def objection_amend(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_amend_after_objection(current_user, item, check_state=False))
    form = AmendedDocumentForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "title")
    upload = next((f for f in request.files.getlist("file") if f.filename), None)
    if upload is None:
        raise ValidationError(_("Choose a file to upload."), "file")
    challenges.amend_documents(current_user, item, upload, form.title.data or "")
    flash(_("The amended document is published with the tender."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))


@bp.route("/objections/<int:objection_id>/complaint", methods=["GET", "POST"])
@login_required
def complaint_new(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_complain(current_user, item, check_state=False))
    form = ComplaintForm()

    def save():
        challenges.file_complaint(current_user, item, form.reasons.data, request.files.getlist("files"))
        return url_for("procurement.tender", tender_id=item.tender_id)

    def page(**extra):
        return render_template("procurement/complaint_form.html", objection=item, tender=item.tender, form=form,
                               problem=challenges.complaint_problem(item), **extra)

    return flow.submit(form, save, page, field="reasons",
                       message=_("Complaint recorded. The award waits for the finance department's decision."))


@bp.route("/complaints/<int:complaint_id>/outcome", methods=["POST"])
@login_required
def complaint_outcome(complaint_id: int):
    item = db.get_or_404(Complaint, complaint_id)
    require(perms.can_record_complaint_outcome(current_user, item, check_state=False))
    form = ComplaintOutcomeForm()
    if not form.validate_on_submit():
        field = next((f.name for f in form if f.errors and f.name != "csrf_token"), "text")
        raise ValidationError(first_error(form,
                                   _("Write down the finance department's decision.")), field)
    challenges.record_complaint_outcome(current_user, item, upheld=form.decision.data == "upheld",
                                        decision=form.text.data, decided_on=form.decided_on.data)
    flash(_("The finance department's decision is recorded."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))
