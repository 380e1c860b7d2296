"""Objections to a proposed award: filing one, the bureau's answer, and sending a tender back."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import redirect_to
from ...extensions import db
from .. import permissions as perms
from .. import workflow
from ..forms import ObjectionAnswerForm, ObjectionForm
from ..models import Objection, Tender
from . import bp


@bp.route("/tenders/<int:tender_id>/objections/new", methods=["GET", "POST"])
@login_required
def objection_new(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_object(current_user, item))
    form = ObjectionForm()

    def save():
        workflow.file_objection(current_user, item, form.reasons.data, request.files.getlist("files"))
        return url_for("procurement.tender", tender_id=item.id)

    def page(**extra):
        return render_template("procurement/objection_form.html", tender=item, form=form, **extra)

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
