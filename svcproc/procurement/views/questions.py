"""Clarifications: a bidder's question and the bureau's published answer."""
from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import redirect_to
from ...extensions import db
from .. import permissions as perms
from .. import workflow
from ..forms import AnswerForm, QuestionForm
from ..models import Clarification, Tender
from . import bp


@bp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@login_required
def question_ask(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_ask_question(current_user, item, check_state=False))
    form = QuestionForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the question in a few words at least."), "question")
    workflow.ask_question(current_user, item, form.question.data)
    flash(_("Question sent. The answer will be published to all bidders without naming you."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def question_answer(question_id: int):
    item = db.get_or_404(Clarification, question_id)
    require(perms.can_answer_question(current_user, item.tender, check_state=False))
    form = AnswerForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the answer."), "answer")
    workflow.answer_question(current_user, item, form.answer.data)
    flash(_("Answer published to all bidders."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))
