"""The expert panel: assigning experts, their conflict declaration, scoring and invalid bids."""
from __future__ import annotations

from decimal import Decimal

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import flow
from ...core.errors import DomainError, ValidationError
from ...core.permissions import Role, require
from ...core.web import first_error, redirect_to
from ...extensions import db
from .. import permissions as perms
from .. import experts as expert_pool
from .. import workflow
from ..forms import AssignExpertForm, DeclarationForm, EmptyForm, ReasonForm
from ..history import past_grades_of
from ..models import Bid, Tender, TenderCriterion, TenderExpert
from . import bp


@bp.route("/tenders/<int:tender_id>/experts", methods=["POST"])
@login_required
def expert_assign(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_panel(current_user, item, check_state=False))
    form = AssignExpertForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Say how many experts to draw."), "count")
    # Experts are drawn at random from the pool of the plan's category, never picked by hand.
    drawn = expert_pool.draw_experts(current_user, item, form.count.data)
    flash(_("Drawn at random onto the panel: %(names)s.",
            names=", ".join(m.user.full_name or m.user.username for m in drawn)), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/panel/<int:member_id>/remove", methods=["POST"])
@login_required
def expert_remove(member_id: int):
    member = db.get_or_404(TenderExpert, member_id)
    require(perms.can_remove_expert(current_user, member, check_state=False))
    tender_id = member.tender_id
    workflow.remove_expert(current_user, member)
    flash(_("Expert removed from the panel."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=tender_id))


def _own_member(tender: Tender) -> TenderExpert:
    member = perms.panel_member(current_user, tender)
    require(member is not None and perms.can_score(current_user, tender))
    return member


@bp.route("/tenders/<int:tender_id>/declare", methods=["GET", "POST"])
@login_required
def declare(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    member = _own_member(item)
    form = DeclarationForm()
    orgs = workflow.bidders(item)
    form.related.choices = [(o.id, o.name) for o in orgs]

    def save():
        workflow.declare_conflicts(current_user, member, form.related.data or [], form.note.data or "")
        if member.conflicted:
            flash(_("Thank you. Because of the declared relation you will not score this tender."), "info")
            return url_for("procurement.tender", tender_id=item.id)
        flash(_("Declaration recorded. You can now score the bids."), "success")
        return url_for("procurement.score", tender_id=item.id)

    def page(**extra):
        return render_template("procurement/declare.html", tender=item, member=member, form=form, orgs=orgs, **extra)

    if request.method == "POST" and member.declared_at is not None:
        # Sent again from a tab opened before the first declaration: say so on the page.
        return flow.refused_here(_("You have already declared on this tender; a declaration is made once."), page)
    return flow.submit(form, save, page, field="related")


def _scoring_context(tender: Tender, member: TenderExpert) -> dict:
    bids = workflow.scorable_bids(tender)
    mine = {(s.bid_id, s.criterion_id): s for s in member.scores}
    totals = {b.id: sum((Decimal(mine[(b.id, c.id)].points) for c in tender.criteria if (b.id, c.id) in mine),
                        Decimal(0)) for b in bids}
    grades = past_grades_of([b.organization_id for b in bids])
    return dict(tender=tender, member=member, bids=bids, mine=mine, totals=totals, grades=grades,
                missing=workflow.missing_scores(member), action_form=EmptyForm(), reason_form=ReasonForm(),
                others_visible=member.submitted_at is not None)


@bp.route("/tenders/<int:tender_id>/score")
@login_required
def score(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    member = _own_member(item)
    if member.declared_at is None:
        return redirect_to(url_for("procurement.declare", tender_id=item.id))
    if member.conflicted:
        raise DomainError(_("You declared a relation with a bidder (or work for one) and cannot score this tender."))
    return render_template("procurement/score.html", **_scoring_context(item, member))


@bp.route("/tenders/<int:tender_id>/score/<int:bid_id>/<int:criterion_id>", methods=["POST"])
@login_required
def score_cell(tender_id: int, bid_id: int, criterion_id: int):
    item = db.get_or_404(Tender, tender_id)
    member = _own_member(item)
    bid = db.get_or_404(Bid, bid_id)
    criterion = db.get_or_404(TenderCriterion, criterion_id)
    error = None
    try:
        workflow.save_score(current_user, member, bid, criterion, request.form.get("points", ""),
                            request.form.get("comment", ""))
        db.session.flush()
    except ValidationError as exc:
        # The cell answers for itself: the points typed stay in it, with the rule beside them.
        flow.rollback()
        error = exc.message
    context = _scoring_context(item, member)
    return render_template("procurement/_score_cell.html", bid=bid, criterion=criterion, error=error,
                           submitted_points=request.form.get("points", ""), **context), (422 if error else 200)


@bp.route("/tenders/<int:tender_id>/score/submit", methods=["POST"])
@login_required
def score_submit(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    member = _own_member(item)
    workflow.submit_scores(current_user, member)
    flash(_("Your scores are submitted."), "success")
    return redirect_to(url_for("procurement.score", tender_id=item.id))


@bp.route("/bids/<int:bid_id>/invalid", methods=["POST"])
@login_required
def bid_invalid(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_rule_bid_invalid(current_user, bid, check_state=False))
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Give the reason the bid is invalid.")),
                              "reason")
    workflow.rule_bid_invalid(current_user, bid, form.reason.data)
    flash(_("Bid of %(o)s ruled invalid.", o=bid.organization.name), "success")
    back = "procurement.score" if current_user.role == Role.EXPERT else "procurement.tender"
    return redirect_to(url_for(back, tender_id=bid.tender_id))
