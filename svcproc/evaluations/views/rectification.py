"""Findings and rectification: the list of items, findings and items added on the round's page, the
organization's responses and the bureau's review."""
from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...contracts.models import Contract
from ...contracts.workflow import today
from ...core import flow
from ...core.permissions import require
from ...core.web import paginate, redirect_to, send_stored
from ...extensions import db
from .. import permissions as perms
from .. import workflow
from ..forms import FindingForm, ItemForm, NoteForm, ResponseForm
from ..models import EvaluationRound, Finding, ItemStatus, RectificationItem, RectificationResponse
from ..states import ROUND
from . import bp, require_valid, state_refusals_to_the_page
from .rounds import load_round, round_page, round_url


@bp.route("/rectification")
@login_required
def rectification():
    require(perms.can_list_rectification(current_user))
    stmt = perms.visible_rectification_items(current_user)
    status = request.args.get("status", "pending")
    if status == "pending":
        stmt = stmt.where(RectificationItem.status != ItemStatus.CLOSED)
    elif status in {s.value for s in ItemStatus}:
        stmt = stmt.where(RectificationItem.status == ItemStatus(status))
    stmt = stmt.options(joinedload(RectificationItem.finding).joinedload(Finding.round)
                        .joinedload(EvaluationRound.contract).joinedload(Contract.organization))
    page = paginate(stmt.order_by(RectificationItem.deadline, RectificationItem.id))
    return render_template("evaluations/rectification.html", page=page, status=status, today=today())


@bp.route("/rounds/<int:round_id>/findings", methods=["POST"])
@login_required
def finding_add(round_id: int):
    round_ = load_round(round_id)
    require(perms.can_add_findings(current_user, round_))
    ROUND.check("findings", round_)
    form = FindingForm()

    def save():
        workflow.add_finding(current_user, round_, form.text.data)
        return round_url(round_, "findings")

    return flow.submit(form, save, round_page(round_id, finding_form=form), field="text",
                       message=_("Finding added."), on_error=state_refusals_to_the_page)


@bp.route("/findings/<int:finding_id>/items", methods=["POST"])
@login_required
def item_add(finding_id: int):
    finding = db.get_or_404(Finding, finding_id)
    round_ = load_round(finding.round_id)
    require(perms.can_add_findings(current_user, round_))
    ROUND.check("findings", round_)
    form = ItemForm(prefix=f"finding{finding.id}")

    def save():
        workflow.add_item(current_user, finding, action=form.action.data, owner=form.owner.data,
                          deadline=form.deadline.data)
        return round_url(round_, f"finding-{finding_id}")

    return flow.submit(form, save, round_page(round_.id, item_form=form, item_form_for=finding_id), field="action",
                       message=_("Rectification item added."), on_error=state_refusals_to_the_page)


@bp.route("/items/<int:item_id>/respond", methods=["POST"])
@login_required
def item_respond(item_id: int):
    item = db.get_or_404(RectificationItem, item_id)
    round_ = load_round(item.finding.round_id)
    require(perms.can_respond_rectification(current_user, round_))
    workflow.check_respondable(item)
    form = ResponseForm(prefix=f"item{item.id}")

    def save():
        workflow.respond(current_user, item, form.text.data, request.files.getlist(form.files.name))
        return round_url(round_, f"item-{item_id}")

    return flow.submit(form, save, round_page(round_.id, response_form=form, response_form_for=item_id),
                       field="text", message=_("Response sent to the bureau."),
                       on_error=state_refusals_to_the_page)


@bp.route("/items/<int:item_id>/<any(close, reopen):action>", methods=["POST"])
@login_required
def item_review(item_id: int, action: str):
    item = db.get_or_404(RectificationItem, item_id)
    round_ = item.finding.round
    require(perms.can_view_round(current_user, round_) and perms.can_review_rectification(current_user, round_))
    form = NoteForm()
    require_valid(form)
    if action == "close":
        workflow.close_item(current_user, item, form.note.data)
        message = _("Rectification item closed.")
    else:
        workflow.reopen_item(current_user, item, form.note.data)
        message = _("Rectification item reopened; the organization has been asked to respond again.")
    flash(message, "success")
    return redirect_to(round_url(round_, f"item-{item.id}"))


@bp.route("/responses/<int:response_id>/files/<int:file_id>")
@login_required
def response_file(response_id: int, file_id: int):
    response = db.get_or_404(RectificationResponse, response_id)
    require(perms.can_view_round(current_user, response.item.finding.round))
    attached = next((f for f in response.files if f.file_id == file_id), None)
    if attached is None:
        abort(404)
    return send_stored(attached.file)
