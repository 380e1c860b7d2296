"""Bid deposits (recorded received and returned) and abnormally low bids (the bidder's explanation,
the panel's ruling): their part of the tender page and their buttons."""
from __future__ import annotations

import io

from flask import abort, flash, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import files
from ...core.errors import ValidationError
from ...core.formatting import fen_to_yuan_text
from ...core.permissions import require
from ...core.web import deferred, first_error, redirect_to
from ...extensions import db
from .. import guarantees
from .. import permissions as perms
from ..forms import GUARANTEE_FORM_LABELS, DepositRecordForm, EmptyForm, LowPriceExplanationForm, ReasonForm, ReturnForm
from ..models import Bid, BidStatus, Tender, TenderStatus
from . import bp


def guarantee_context(tender: Tender, user) -> dict:
    """What the tender page shows of deposits and abnormally low bids, to whom."""
    blank = {"formdata": None}
    context = dict(deposit_rows=[], low_bids=[], own_low_bid=None, guarantee_form_labels=GUARANTEE_FORM_LABELS,
                   **deferred(deposit_form=lambda: DepositRecordForm(**blank), return_form=lambda: ReturnForm(**blank),
                              explanation_form=lambda: LowPriceExplanationForm(**blank),
                              guarantee_action_form=lambda: EmptyForm(**blank),
                              low_reason_form=lambda: ReasonForm(**blank)),
                   deposit_default=fen_to_yuan_text(tender.deposit_fen) if tender.deposit_fen is not None else "")
    if tender.opened_at is None:
        return context
    submitted = [b for b in tender.bids if b.status == BidStatus.SUBMITTED]
    if perms.can_read_procurement(user) and tender.deposit_fen is not None:
        rows = []
        for bid in submitted:
            due, why = guarantees.deposit_due(bid.deposit) if bid.deposit is not None else (None, "")
            rows.append(dict(bid=bid, deposit=bid.deposit, due=due, why=why,
                             overdue=due is not None and bid.deposit.returned_on is None and due < guarantees.today()))
        context["deposit_rows"] = rows
    scorable = [b for b in submitted if b.digest_verified and b.valid is not False]
    # Asked while the bids are scored; afterwards the explanations given stay on the page.
    if tender.status == TenderStatus.OPENED:
        low = guarantees.abnormally_low(scorable)
    else:
        low = [b for b in submitted if b.low_price_explained_at is not None]
    if perms.can_read_procurement(user) or perms.is_cleared_panel_member(user, tender):
        context["low_bids"] = low
    if perms.can_bid(user) and tender.status == TenderStatus.OPENED:
        context["own_low_bid"] = next((b for b in low if b.organization_id == user.organization_id), None)
    return context


def _back(bid: Bid) -> str:
    return url_for("procurement.tender", tender_id=bid.tender_id)



@bp.route("/bids/<int:bid_id>/deposit", methods=["POST"])
@login_required
def deposit_record(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_record_deposit(current_user, bid, check_state=False))
    form = DepositRecordForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "amount")
    guarantees.record_deposit(current_user, bid, amount_fen=form.amount.fen, received_on=form.received_on.data,
                              form=form.form.data)
    flash(_("Deposit of %(o)s recorded.", o=bid.organization.name), "success")
    return redirect_to(_back(bid))


@bp.route("/bids/<int:bid_id>/deposit/return", methods=["POST"])
@login_required
def deposit_return(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_return_deposit(current_user, bid, check_state=False))
    form = ReturnForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "returned_on")
    if bid.deposit is None:
        abort(404)
    guarantees.return_deposit(current_user, bid.deposit, returned_on=form.returned_on.data)
    flash(_("Deposit of %(o)s recorded as returned.", o=bid.organization.name), "success")
    return redirect_to(_back(bid))


@bp.route("/bids/<int:bid_id>/low-price", methods=["POST"])
@login_required
def low_price_explain(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_explain_low_bid(current_user, bid, check_state=False))
    form = LowPriceExplanationForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "explanation")
    guarantees.explain_low_bid(current_user, bid, form.explanation.data, form.file.data)
    flash(_("Your explanation is recorded; the panel will rule on it."), "success")
    return redirect_to(_back(bid))


@bp.route("/bids/<int:bid_id>/low-price/accept", methods=["POST"])
@login_required
def low_price_accept(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_rule_on_low_bid(current_user, bid, check_state=False))
    form = EmptyForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Check the form."), "explanation")
    guarantees.accept_low_bid_explanation(current_user, bid)
    flash(_("The explanation of %(o)s is accepted; the bid may be ranked.", o=bid.organization.name), "success")
    return redirect_to(_back(bid))


@bp.route("/bids/<int:bid_id>/low-price/reject", methods=["POST"])
@login_required
def low_price_reject(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_rule_on_low_bid(current_user, bid, check_state=False))
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Give the reason the bid is invalid.")), "reason")
    guarantees.reject_low_bid(current_user, bid, form.reason.data)
    flash(_("Bid of %(o)s ruled invalid.", o=bid.organization.name), "success")
    return redirect_to(_back(bid))


@bp.route("/bids/<int:bid_id>/low-price/file")
@login_required
def low_price_file(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_view_low_price_explanation(current_user, bid))
    if bid.low_price_file is None:
        abort(404)
    stored = bid.low_price_file
    return send_file(io.BytesIO(files.read(stored)), mimetype=stored.mimetype, as_attachment=True,
                     download_name=stored.original_name)
