"""Sealed bids: the bid form, its receipt, withdrawal, documents and a bidder's own list."""
from __future__ import annotations

import io

from flask import abort, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import clock, flow
from ...core.permissions import require
from ...core.web import is_htmx, paginate, redirect_to
from ...extensions import db
from .. import permissions as perms
from .. import held as held_files
from .. import workflow
from ..eligibility import eligibility_problems
from ..forms import BidForm, EmptyForm
from ..models import Bid, BidDocument, Tender
from . import bp


@bp.route("/tenders/<int:tender_id>/bid", methods=["GET", "POST"])
@login_required
def bid_form(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_submit_bid(current_user, item, check_state=False))
    form = BidForm()
    submitted: list[Bid] = []
    chosen = [u for u in request.files.getlist("documents") if u.filename]
    # Files kept from this person's earlier refused try; choosing files again replaces them.
    held = [] if chosen else held_files.redeem(current_user, item, request.form.get("held"))

    def save():
        submitted.append(workflow.submit_bid(current_user, item, price_fen=form.price.fen,
                                             declaration=str(form.declaration_accepted.label.text),
                                             declaration_accepted=form.declaration_accepted.data,
                                             uploads=chosen, held=held))
        return url_for("procurement.bid_receipt", bid_id=submitted[0].id)

    def page(**extra):
        problems = eligibility_problems(current_user.organization, item)
        kept, refused = held, []
        if chosen:
            # A browser never puts files back into a refused form: keep them for the next try
            # (committed with the refusal), and name any that could not be kept.
            kept, refused = held_files.hold(current_user, chosen, workflow.BID_DOCUMENT_RULE)
            if kept:
                flow.keep()
        return render_template("procurement/bid_form.html", tender=item, form=form, problems=problems,
                               now=clock.now(), held=kept, refused_files=refused,
                               held_token=held_files.token(current_user, item, kept) if kept else None, **extra)

    return flow.submit(form, save, page, field="price", message=_("Bid submitted. Keep your receipt."))


@bp.route("/bids/<int:bid_id>/receipt")
@login_required
def bid_receipt(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.is_bidder_manager(current_user, bid.organization_id))
    content = workflow.own_bid_content(current_user, bid)
    return render_template("procurement/bid_receipt.html", bid=bid, content=content, action_form=EmptyForm(),
                           now=clock.now())


@bp.route("/bids/<int:bid_id>/withdraw", methods=["POST"])
@login_required
def bid_withdraw(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_withdraw_bid(current_user, bid, check_state=False))
    workflow.withdraw_bid(current_user, bid)
    flash(_("Bid withdrawn. You may submit a new one until the deadline."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=bid.tender_id))


@bp.route("/bids/<int:bid_id>/documents/<int:document_id>")
@login_required
def bid_document(bid_id: int, document_id: int):
    bid = db.get_or_404(Bid, bid_id)
    document = db.get_or_404(BidDocument, document_id)
    if document.bid_id != bid.id:
        abort(404)
    require(perms.can_view_bid_content(current_user, bid))
    data = workflow.read_bid_document(current_user, document)
    return send_file(io.BytesIO(data), mimetype=document.file.mimetype, as_attachment=True,
                     download_name=document.file.original_name)


@bp.route("/my-bids")
@login_required
def my_bids():
    require(perms.can_bid(current_user))
    page = paginate(perms.visible_bids(current_user).order_by(Bid.submitted_at.desc(), Bid.id.desc()),
                    loads=(joinedload(Bid.tender),))
    template = "procurement/_my_bid_table.html" if is_htmx() else "procurement/my_bids.html"
    return render_template(template, page=page)
