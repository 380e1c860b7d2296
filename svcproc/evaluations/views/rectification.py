"""Findings and rectification: the list of items, findings and items added on the round's page, the
organization's responses and the bureau's review."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...contracts.models import Contract
from ...contracts.workflow import today
from ...core import exports, flow
from ...core.formatting import local_datetime
from ...core.permissions import require
from ...core.web import paginate, redirect_to, send_stored
from ...extensions import db
from ...registry.models import Organization
from .. import permissions as perms
from .. import workflow
from ..labels import ITEM_STATUS_LABELS
from ..forms import FindingForm, ItemForm, NoteForm, ResponseForm
from ..models import EvaluationRound, Finding, ItemStatus, RectificationItem, RectificationResponse
from ..states import ROUND
from . import bp, require_valid, state_refusals_to_the_page
from .rounds import load_round, round_page, round_url


def _listed_items():
    """The items the list shows with the request's status filter (the page and its export)."""
    stmt = perms.visible_rectification_items(current_user)
    status = request.args.get("status", "pending")
    if status == "pending":
        stmt = stmt.where(RectificationItem.status != ItemStatus.CLOSED)
    elif status in {s.value for s in ItemStatus}:
        stmt = stmt.where(RectificationItem.status == ItemStatus(status))
    return stmt, status


@bp.route("/rectification")
@login_required
def rectification():
    require(perms.can_list_rectification(current_user))
    stmt, status = _listed_items()
    stmt = stmt.options(joinedload(RectificationItem.finding).joinedload(Finding.round)
                        .joinedload(EvaluationRound.contract).joinedload(Contract.organization))
    page = paginate(stmt.order_by(RectificationItem.deadline, RectificationItem.id))
    return render_template("evaluations/rectification.html", page=page, status=status, today=today())


@bp.route("/rectification/export.<any(csv, xlsx):fmt>")
@login_required
def rectification_export(fmt: str):
    require(perms.can_list_rectification(current_user))
    listed, _status = _listed_items()
    I = RectificationItem
    stmt = exports.bounded(
        sa.select(I.action, Finding.text, EvaluationRound.title, Contract.number, Organization.name, I.owner,
                  I.deadline, I.status, I.status_note, I.status_changed_at)
        .select_from(I).join(Finding, Finding.id == I.finding_id)
        .join(EvaluationRound, EvaluationRound.id == Finding.round_id)
        .join(Contract, Contract.id == EvaluationRound.contract_id)
        .join(Organization, Organization.id == Contract.organization_id)
        .where(exports.rows_of(listed)).order_by(I.deadline, I.id))
    day = today()

    def rows():
        for action, finding, round_title, number, organization, owner, deadline, status, note, changed in \
                db.session.execute(stmt):
            overdue = status != ItemStatus.CLOSED and deadline < day
            yield [action, finding, round_title, number, organization, owner, deadline,
                   _("Overdue") if overdue else "", ITEM_STATUS_LABELS[status], note, local_datetime(changed)]

    return exports.export_response(
        fmt, exports.stamped(_("Rectification items")),
        [_("What must be rectified"), _("Finding"), _("Evaluation"), _("Contract"), _("Organization"),
         _("Responsible person"), _("Deadline"), _("Overdue"), _("Status"), _("Note"), _("Status changed")],
        rows(), title=_("Rectification items"))


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
