"""A milestone's deliverables, its submission and review, and the payments against it."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import redirect_to, send_stored
from ...extensions import db
from .. import permissions as perms
from .. import workflow
from ..forms import DeliverableForm, PaymentForm, ReasonForm, ReviewForm
from ..models import Deliverable, Milestone
from . import bp


def _milestone(milestone_id: int) -> Milestone:
    milestone = db.get_or_404(Milestone, milestone_id)
    require(perms.can_view_contract(current_user, milestone.contract))
    return milestone


def _on_contract_page(milestone: Milestone):
    return redirect_to(url_for("contracts.contract", contract_id=milestone.contract_id) + f"#m{milestone.id}")


@bp.route("/milestones/<int:milestone_id>/deliverables", methods=["POST"])
@login_required
def deliverable_add(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_deliver(current_user, milestone.contract))
    form = DeliverableForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Choose the kind of deliverable."), "kind")
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        raise ValidationError(_("Choose a file to upload."), "files")
    for upload in uploads:
        workflow.add_deliverable(current_user, milestone, upload, form.kind.data,
                                 form.title.data if len(uploads) == 1 else "")
    flash(ngettext("%(num)d file uploaded.", "%(num)d files uploaded.", len(uploads)), "success")
    return _on_contract_page(milestone)


@bp.route("/milestones/<int:milestone_id>/deliverables/<int:deliverable_id>")
@login_required
def deliverable_download(milestone_id: int, deliverable_id: int):
    milestone = _milestone(milestone_id)
    item = db.get_or_404(Deliverable, deliverable_id)
    if item.milestone_id != milestone.id:
        abort(404)
    return send_stored(item.file)


@bp.route("/milestones/<int:milestone_id>/submit", methods=["POST"])
@login_required
def milestone_submit(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_deliver(current_user, milestone.contract))
    workflow.submit_milestone(current_user, milestone)
    flash(_("Milestone submitted for acceptance."), "success")
    return _on_contract_page(milestone)


@bp.route("/milestones/<int:milestone_id>/review", methods=["POST"])
@login_required
def milestone_review(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_review_milestones(current_user, milestone.contract))
    form = ReviewForm()
    if not form.validate_on_submit():
        # Say what is wrong (no decision chosen, comments too long) rather than a bare 400.
        if form.decision.errors:
            raise ValidationError(_("Choose whether to accept the milestone or return it."), "decision")
        raise ValidationError(" ".join(map(str, form.comment.errors)), "comment")
    if form.decision.data == "accept":
        workflow.accept_milestone(current_user, milestone, form.comment.data)
        flash(_("Milestone accepted."), "success")
    else:
        workflow.return_milestone(current_user, milestone, form.comment.data)
        flash(_("Milestone returned with your comments."), "success")
    return _on_contract_page(milestone)


@bp.route("/milestones/<int:milestone_id>/payments", methods=["POST"])
@login_required
def payment_add(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_record_payments(current_user, milestone.contract))
    form = PaymentForm()
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [_("Check the payment.")])
        raise ValidationError(first[0], "amount")
    workflow.record_payment(current_user, milestone, amount_fen=form.amount.fen,
                            voucher_number=form.voucher_number.data, paid_on=form.paid_on.data)
    flash(_("Payment recorded."), "success")
    return _on_contract_page(milestone)


@bp.route("/milestones/<int:milestone_id>/entries/reopen", methods=["POST"])
@login_required
def milestone_period_reopen(milestone_id: int):
    """Unlock the service entries behind a paid milestone for a correction, with the reason."""
    milestone = _milestone(milestone_id)
    require(perms.can_manage_contracts(current_user, milestone.contract))
    form = ReasonForm()
    form.validate_on_submit()
    workflow.reopen_period(current_user, milestone, form.reason.data)
    flash(_("The entries behind this milestone can be corrected until the period is closed again."), "success")
    return _on_contract_page(milestone)


@bp.route("/milestones/<int:milestone_id>/entries/close", methods=["POST"])
@login_required
def milestone_period_close(milestone_id: int):
    """Lock again the entries behind a paid milestone once the correction is made."""
    milestone = _milestone(milestone_id)
    require(perms.can_manage_contracts(current_user, milestone.contract))
    form = ReasonForm()
    form.validate_on_submit()
    workflow.close_period(current_user, milestone, form.reason.data)
    flash(_("The entries behind this milestone are locked again."), "success")
    return _on_contract_page(milestone)
