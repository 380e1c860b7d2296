"""Tenders: the list and its export, the tender page, drafting, documents and the transitions."""
from __future__ import annotations

from datetime import timezone
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from ...core import clock, exports, flow
from ...core.errors import DomainError, ValidationError
from ...core.formatting import fen_to_yuan_text, local_datetime, points
from ...core.loading import has, hand_out_some
from ...core.permissions import require
from ...core.web import deferred, first_error, is_htmx, like_pattern, paginate, redirect_to
from ... import models as _every_model  # noqa: F401  (every mapper, for the page's reads built below)
from ...extensions import db
from ...registry.models import Organization
from .. import challenges
from .. import permissions as perms
from .. import workflow
from ..eligibility import eligibility_problems
from ..forms import (AmendedDocumentForm, AnswerForm, AssignExpertForm, ComplaintOutcomeForm, DocumentForm, EmptyForm,
                     ObjectionAnswerForm, QuestionForm, ReasonForm, TenderForm)
from ..models import (Bid, BidStatus, Clarification, Complaint, ComplaintDocument, Objection, ObjectionDocument,
                      ProjectPlan, Tender, TenderDocument, TenderExpert, TenderMethod, TenderStatus)
from . import bp
from .guarantees import guarantee_context

S = TenderStatus


def _utc(naive_local):
    if naive_local is None:
        return None
    return naive_local.replace(tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)


# --- lists ------------------------------------------------------------------------------------


@bp.route("/tenders")
@login_required
def tenders():
    require(perms.can_list_tenders(current_user))
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    method = request.args.get("method", "")
    stmt = perms.visible_tenders(current_user).order_by(Tender.id.desc())
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(Tender.title.ilike(pattern, escape="\\"), Tender.number.ilike(pattern, escape="\\")))
    if status in {s.value for s in S}:
        stmt = stmt.where(Tender.status == S(status))
    if method in {m.value for m in TenderMethod}:
        stmt = stmt.where(Tender.method == TenderMethod(method))
    page = paginate(stmt)
    # Counts of bids received, once the tender is opened: before, nobody but the bidder learns that a
    # bid exists (not even how many). The page's tenders say which are opened.
    ids = [t.id for t in page.items if t.opened_at is not None]
    counts = dict(db.session.execute(
        sa.select(Bid.tender_id, sa.func.count(Bid.id))
        .where(Bid.tender_id.in_(ids), Bid.status == BidStatus.SUBMITTED)
        .group_by(Bid.tender_id)).all()) if ids and perms.can_read_procurement(current_user) else {}
    template = "procurement/_tender_table.html" if is_htmx() else "procurement/tenders.html"
    return render_template(template, page=page, counts=counts, q=q, status=status, method=method)


@bp.route("/tenders/export.csv")
@login_required
def tenders_export():
    """Every tender the person sees, in one statement streamed however many there are: the bids
    received are counted once the tender is opened (before, nobody learns that a bid exists), the
    winner and its price given once it is awarded."""
    require(perms.can_read_procurement(current_user))
    submitted = (sa.select(sa.func.count(Bid.id)).where(Bid.tender_id == Tender.id, Bid.status == BidStatus.SUBMITTED)
                 .correlate(Tender).scalar_subquery())
    winner = sa.orm.aliased(Bid, name="winner")
    stmt = (sa.select(Tender.number, Tender.title, Tender.method, Tender.status, Tender.ceiling_fen, Tender.opened_at,
                      sa.case((Tender.opened_at.is_not(None), submitted)), Organization.name, winner.price_fen)
            .select_from(Tender)
            .outerjoin(winner, sa.and_(winner.id == Tender.awarded_bid_id, Tender.status == TenderStatus.AWARDED))
            .outerjoin(Organization, Organization.id == winner.organization_id)
            .where(exports.rows_of(perms.visible_tenders(current_user))).order_by(Tender.id)
            .execution_options(yield_per=exports.BATCH))

    def rows():
        for number, title, method, status, ceiling, opened_at, bids, organization, price in db.session.execute(stmt):
            awarded = organization is not None
            yield [number, title, method.value, status.value, fen_to_yuan_text(ceiling),
                   bids if opened_at is not None else "", local_datetime(opened_at),
                   organization if awarded else "", fen_to_yuan_text(price) if awarded else ""]

    return exports.csv_response("tenders", ["number", "title", "method", "status", "ceiling_yuan", "bids_received",
                                            "opened_at", "awarded_organization", "awarded_price_yuan"], rows())


# --- the tender page --------------------------------------------------------------------------


# The tender page's reads, built once (core/loading.py): the tender with its plan and its criteria
# (a handful), then its bids (each with its organization and deposit, one or none), documents and
# experts, a statement each. Building them configures the mappers: every model is imported above.
# Documents, questions and objections, which many tenders have none of, are asked after with the
# tender and read only when there are some.
_PAGE_TENDER = (sa.select(Tender, has("documented", TenderDocument.tender_id == Tender.id),
                          has("asked", Clarification.tender_id == Tender.id),
                          has("objected", Objection.tender_id == Tender.id))
                .where(Tender.id == sa.bindparam("tender"))
                .options(joinedload(Tender.criteria), joinedload(Tender.plan)))
_PAGE_BIDS = (sa.select(Bid).where(Bid.tender_id == sa.bindparam("tender"))
              .options(joinedload(Bid.organization), joinedload(Bid.deposit)).order_by(Bid.id))
_PAGE_DOCUMENTS = (sa.select(TenderDocument).where(TenderDocument.tender_id == sa.bindparam("tender"))
                   .options(joinedload(TenderDocument.file)).order_by(TenderDocument.id))
_PAGE_EXPERTS = (sa.select(TenderExpert).where(TenderExpert.tender_id == sa.bindparam("tender"))
                 .options(joinedload(TenderExpert.user)).order_by(TenderExpert.id))


def _tender_for_page(tender_id: int) -> tuple[Tender, dict[str, bool]]:
    """The tender with its collections, and whether it has questions and objections (`asked`,
    `objected`: read by `_tender_context` only when it has)."""
    ids = {"tender": tender_id}
    row = db.session.execute(_PAGE_TENDER, ids).unique().one_or_none()
    if row is None:
        abort(404)
    tender = row[0]
    for collection, stmt, present in (("bids", _PAGE_BIDS, True), ("documents", _PAGE_DOCUMENTS, row.documented),
                                      ("experts", _PAGE_EXPERTS, True)):
        hand_out_some(present, [tender], collection, lambda stmt=stmt: db.session.execute(stmt, ids).scalars(),
                      "tender_id")
    require(perms.can_view_tender(current_user, tender))
    return tender, {"asked": row.asked, "objected": row.objected}


def _tender_context(tender: Tender, present: dict[str, bool]) -> dict:
    """What the tender page shows. `present`: whether the tender has questions and objections at
    all (as `_tender_for_page` found), so that none is looked for when it has none."""
    user = current_user
    submitted = [b for b in tender.bids if b.status == BidStatus.SUBMITTED]
    own_bid = None
    own_content = None
    if perms.can_bid(user):
        own_bid = next((b for b in tender.bids if b.organization_id == user.organization_id), None)
        if own_bid is not None and own_bid.status == BidStatus.SUBMITTED:
            own_content = workflow.own_bid_content(user, own_bid)
    member = perms.panel_member(user, tender)
    questions = db.session.execute(perms.visible_clarifications(user).where(Clarification.tender_id == tender.id)
                                   .order_by(Clarification.asked_at)).scalars().all() if present["asked"] else []
    objections = db.session.execute(
        perms.visible_objections(user).where(Objection.tender_id == tender.id).order_by(Objection.filed_at, Objection.id)
        .options(joinedload(Objection.organization), selectinload(Objection.documents).joinedload(ObjectionDocument.file),
                 selectinload(Objection.complaint).selectinload(Complaint.documents).joinedload(ComplaintDocument.file))
    ).unique().scalars().all() if present["objected"] else []
    waiting_for = [], []
    if tender.status in (S.SCORED, S.AWARD_PROPOSED, S.IN_PUBLICITY):
        waiting_for = challenges.blocking(tender)
    needed = workflow.min_experts(tender)
    seated = sum(1 for m in tender.experts if not m.conflicted)
    opened = tender.opened_at is not None
    show_ranking = tender.status in (S.SCORED, S.AWARD_PROPOSED, S.IN_PUBLICITY, S.AWARDED) and (
        perms.can_read_procurement(user) or member is not None or tender.results_public)
    ranking = sorted([b for b in submitted if b.rank], key=lambda b: b.rank) if show_ranking else []
    eligibility = []
    if perms.can_bid(user) and user.organization is not None:
        eligibility = eligibility_problems(user.organization, tender)
    contract = None
    if tender.is_awarded:
        from ...contracts.models import Contract

        contract = db.session.execute(sa.select(Contract).where(Contract.tender_id == tender.id)).unique().scalar_one_or_none()
    return dict(
        contract=contract, tender=tender, now=clock.now(), submitted_count=len(submitted), opened=opened, own_bid=own_bid,
        own_content=own_content, member=member, questions=questions, objections=objections, ranking=ranking,
        opening_rows=submitted if opened and perms.can_read_procurement(user) else [],
        weights_problem=workflow.weights_problem(tender), eligibility=eligibility,
        blocking=waiting_for[0] + waiting_for[1], windows=challenges.windows(tender) if tender.is_public else {},
        **deferred(action_form=EmptyForm, reason_form=ReasonForm, document_form=DocumentForm,
                   assign_form=lambda: AssignExpertForm(count=max(1, needed - seated)), question_form=QuestionForm,
                   answer_form=AnswerForm, objection_answer_form=ObjectionAnswerForm,
                   complaint_outcome_form=ComplaintOutcomeForm, amended_document_form=AmendedDocumentForm),
        min_bids=workflow.min_valid_bids(tender.method), min_experts=needed,
        **guarantee_context(tender, user),
    )


@bp.route("/tenders/<int:tender_id>")
@login_required
def tender(tender_id: int):
    item, present = _tender_for_page(tender_id)
    return render_template("procurement/tender.html", **_tender_context(item, present))


# --- drafting ---------------------------------------------------------------------------------


def _tender_values(form: TenderForm) -> dict:
    return dict(title=form.title.data, method=form.method.data, ceiling_fen=form.ceiling.fen,
                min_rating=form.min_rating.data, price_weight=Decimal(form.price_weight.data),
                description=form.description.data or "",
                clarification_deadline=_utc(form.clarification_deadline.data),
                bid_deadline=_utc(form.bid_deadline.data), opening_at=_utc(form.opening_at.data),
                publicity_days=form.publicity_days.data,
                deposit_fen=getattr(form.deposit, "fen", None) if (form.deposit.data or "").strip() else None,
                sme_deduction_percent=form.sme_deduction_percent.data)


def _criteria_rows() -> list[dict]:
    names = request.form.getlist("criterion_name")
    weights = request.form.getlist("criterion_weight")
    descriptions = request.form.getlist("criterion_description")
    return [{"name": n, "weight": w, "description": d} for n, w, d in zip(names, weights, descriptions)]


@bp.route("/plans/<int:plan_id>/tenders/new", methods=["GET", "POST"])
@login_required
def tender_new(plan_id: int):
    plan_item = db.get_or_404(ProjectPlan, plan_id)
    require(perms.can_manage_tenders(current_user))
    form = TenderForm()
    form.fill_choices()
    rows = _criteria_rows() if request.method == "POST" else [
        {"name": _("Service plan and approach"), "weight": "30", "description": ""},
        {"name": _("Team and qualifications"), "weight": "25", "description": ""},
        {"name": _("Experience with similar projects"), "weight": "15", "description": ""},
        {"name": _("Management and quality assurance"), "weight": "10", "description": ""}]
    if request.method == "GET":
        form.title.data = plan_item.title
        form.ceiling.data = fen_to_yuan_text(plan_item.budget_fen - workflow.committed_ceilings(plan_item))
        form.price_weight.data = "20"
        form.sme_deduction_percent.data = current_app.config["SME_DEDUCTION_DEFAULT"]
    created: list[Tender] = []

    def save():
        created.append(workflow.create_tender(current_user, plan_item, **_tender_values(form)))
        workflow.set_criteria(current_user, created[0], rows)
        return url_for("procurement.tender", tender_id=created[0].id)

    def page(**extra):
        return render_template("procurement/tender_form.html", form=form, plan=plan_item, tender=None, rows=rows,
                               **extra)

    return flow.submit(form, save, page, field="title", message=lambda: _("Tender %(n)s drafted.", n=created[0].number))


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def tender_edit(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_edit_tender(current_user, item, check_state=False))
    if not perms.can_edit_tender(current_user, item):
        raise DomainError(_("Only a draft tender can be edited."))
    form = TenderForm(obj=item) if request.method == "GET" else TenderForm()
    form.fill_choices()
    if request.method == "GET":
        form.method.data, form.min_rating.data = item.method.value, item.min_rating.value
        form.ceiling.data = fen_to_yuan_text(item.ceiling_fen)
        form.price_weight.data = points(item.price_weight)
        form.deposit.data = fen_to_yuan_text(item.deposit_fen) if item.deposit_fen is not None else ""
        for name in ("clarification_deadline", "bid_deadline", "opening_at"):
            getattr(form, name).data = clock.to_local(getattr(item, name)).replace(tzinfo=None)
        rows = [{"name": c.name, "weight": points(c.weight), "description": c.description}
                for c in item.criteria]
    else:
        rows = _criteria_rows()

    def save():
        workflow.update_tender(current_user, item, **_tender_values(form))
        workflow.set_criteria(current_user, item, rows)
        return url_for("procurement.tender", tender_id=item.id)

    def page(**extra):
        return render_template("procurement/tender_form.html", form=form, plan=item.plan, tender=item, rows=rows,
                               **extra)

    return flow.submit(form, save, page, field="title", obj=item, message=_("Tender %(n)s saved.", n=item.number))


@bp.route("/tenders/criteria-row")
@login_required
def criterion_row():
    require(perms.can_manage_tenders(current_user))
    return render_template("procurement/_criterion_row.html", row={"name": "", "weight": "", "description": ""})


@bp.route("/tenders/<int:tender_id>/documents", methods=["POST"])
@login_required
def tender_document_add(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_add_tender_document(current_user, item, check_state=False))
    form = DocumentForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Choose a file to upload.")), "file")
    uploads = [f for f in request.files.getlist("file") if f.filename]
    if not uploads:
        raise ValidationError(_("Choose a file to upload."), "file")
    for upload in uploads:
        workflow.add_tender_document(current_user, item, upload, form.title.data if len(uploads) == 1 else "")
    flash(_("Document added."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


# --- transitions ------------------------------------------------------------------------------


# action in the address: (workflow function, the machine's verb, the message on success)
TRANSITIONS = {
    "publish": (workflow.publish_tender, "publish", _l("Tender published.")),
    "close": (workflow.close_bidding, "close", _l("Bidding closed.")),
    "open": (workflow.open_bids, "open", _l("Bids opened.")),
    "finish-scoring": (workflow.finish_scoring, "finish_scoring", _l("Scoring finished.")),
    "propose": (workflow.propose_award, "propose", _l("Award proposed.")),
    "publicity": (workflow.start_publicity, "publicity", _l("Publicity started.")),
    "confirm": (workflow.confirm_award, "confirm", _l("Award confirmed.")),
}


@bp.route("/tenders/<int:tender_id>/do/<action>", methods=["POST"])
@login_required
def tender_transition(tender_id: int, action: str):
    item = db.get_or_404(Tender, tender_id)
    if action not in TRANSITIONS:
        require(perms.can_manage_tenders(current_user))
        abort(404)
    function, verb, message = TRANSITIONS[action]
    require(perms.can_move_tender(current_user, item, verb, check_state=False))
    function(current_user, item)
    if item.status == S.FAILED:
        flash(_("The tender failed: %(r)s", r=item.status_reason), "info")
    elif item.status == S.SCORED and verb in ("publicity", "confirm"):
        # The proposed bidder no longer qualified: its bid was ruled out and the proposal withdrawn.
        flash(_("The proposal was withdrawn: %(r)s Propose the next-ranked bid.", r=item.status_reason), "info")
    else:
        flash(str(message), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/tenders/<int:tender_id>/cancel", methods=["POST"])
@login_required
def tender_cancel(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_cancel_tender(current_user, item, check_state=False))
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "reason")
    objection = None
    if request.form.get("objection", "").isdigit():
        objection = db.get_or_404(Objection, int(request.form["objection"]))
        if objection.tender_id != item.id:
            abort(404)  # else cancelling this tender would mark another tender's objection resolved
    workflow.cancel_tender(current_user, item, form.reason.data, objection)
    flash(_("Tender cancelled."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/tenders/<int:tender_id>/opening")
@login_required
def opening_record(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_view_opening_record(current_user, item))
    if item.opened_at is None:
        raise DomainError(_("The bids have not been opened yet."))
    rows = [b for b in item.bids if b.status == BidStatus.SUBMITTED]
    return render_template("procurement/opening.html", tender=item, rows=rows)
