"""Pages for bureau staff, bidders and experts along a tender's life, from needs to the award."""
from __future__ import annotations

import csv
import io
from datetime import timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from flask import Blueprint, Response, abort, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..accounts.models import User
from ..core import nav
from ..core import clock
from ..core.errors import DomainError, StaleObject, ValidationError, check_version
from ..core.formatting import fen_to_yuan_text, local_datetime, points
from ..core.permissions import Role, require
from ..core.targets import TARGET_FIELDS
from ..core.web import field_error, is_htmx, like_pattern, paginate, redirect_to
from ..extensions import db
from ..registry.models import Area, AreaLevel
from . import needs as need_services
from . import workflow
from . import permissions as perms
from .eligibility import eligibility_problems
from .forms import (AnswerForm, AssignExpertForm, BidForm, DeclarationForm, DocumentForm, EmptyForm, MergeForm,
                    ObjectionAnswerForm, ObjectionForm, PlanForm, QuestionForm, ReasonForm, TenderForm)
from .history import past_grades_of
from .models import (Bid, BidDocument, BidStatus, Clarification, CommunityNeed, NeedStatus, Objection,
                     ProjectPlan, ServiceCategory, Tender, TenderCriterion, TenderDocument, TenderExpert,
                     TenderMethod, TenderStatus)

bp = Blueprint("procurement", __name__, url_prefix="/procurement")
nav.menu("procurement.needs", _l("Needs"), order=10, visible=perms.can_read_procurement)
nav.menu("procurement.plans", _l("Plans"), order=11, visible=perms.can_read_procurement)
nav.menu("procurement.tenders", _l("Tenders"), order=12,
         visible=lambda user: perms.can_read_procurement(user) or user.role in (Role.ORG_MANAGER, Role.EXPERT))
nav.predicates(perms)

S = TenderStatus


def _utc(naive_local):
    if naive_local is None:
        return None
    return naive_local.replace(tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)


# --- needs ------------------------------------------------------------------------------------


@bp.route("/needs")
@login_required
def needs():
    require(perms.can_read_procurement(current_user))
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    stmt = (sa.select(CommunityNeed).order_by(CommunityNeed.submitted_at.desc(), CommunityNeed.id.desc())
            .options(joinedload(CommunityNeed.community)))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.join(Area, Area.id == CommunityNeed.community_id).where(sa.or_(
            CommunityNeed.description.ilike(pattern, escape="\\"), CommunityNeed.receipt_code.ilike(pattern, escape="\\"),
            Area.name.ilike(pattern, escape="\\")))
    if status in {s.value for s in NeedStatus}:
        stmt = stmt.where(CommunityNeed.status == NeedStatus(status))
    if category in {c.value for c in ServiceCategory}:
        stmt = stmt.where(CommunityNeed.category == ServiceCategory(category))
    page = paginate(stmt)
    template = "procurement/_need_table.html" if is_htmx() else "procurement/needs.html"
    return render_template(template, page=page, q=q, status=status, category=category)


@bp.route("/needs/<int:need_id>")
@login_required
def need(need_id: int):
    item = db.get_or_404(CommunityNeed, need_id)
    require(perms.can_read_procurement(current_user))
    return render_template("procurement/need.html", need=item, reason_form=ReasonForm(), merge_form=MergeForm(),
                           action_form=EmptyForm())


@bp.route("/needs/<int:need_id>/<action>", methods=["POST"])
@login_required
def need_action(need_id: int, action: str):
    item = db.get_or_404(CommunityNeed, need_id)
    require(perms.can_manage_needs(current_user))
    if action not in ("adopt", "decline", "address", "merge"):
        abort(404)
    form = MergeForm() if action == "merge" else ReasonForm()
    if not form.validate_on_submit():
        return render_template("procurement/need.html", need=item, reason_form=ReasonForm(), merge_form=MergeForm(),
                               action_form=EmptyForm(), error=_("Check the form.")), 422
    try:
        if action == "adopt":
            need_services.adopt_need(current_user, item)
        elif action == "decline":
            need_services.decline_need(current_user, item, form.reason.data)
        elif action == "address":
            need_services.address_need(current_user, item, form.reason.data)
        else:
            into = need_services.find_by_receipt(form.into.data)
            if into is None:
                raise ValidationError(_("No need has the receipt code %(c)s.", c=form.into.data), "into")
            need_services.merge_need(current_user, item, into)
    except ValidationError as exc:
        db.session.rollback()
        return render_template("procurement/need.html", need=item, reason_form=ReasonForm(), merge_form=MergeForm(),
                               action_form=EmptyForm(), error=exc.message), 422
    db.session.commit()
    flash(_("Need %(c)s updated.", c=item.receipt_code), "success")
    return redirect_to(url_for("procurement.need", need_id=item.id))


# --- plans ------------------------------------------------------------------------------------


@bp.route("/plans")
@login_required
def plans():
    require(perms.can_read_procurement(current_user))
    q = request.args.get("q", "").strip()
    year = request.args.get("year", "")
    stmt = sa.select(ProjectPlan).order_by(ProjectPlan.fiscal_year.desc(), ProjectPlan.id.desc())
    if q:
        stmt = stmt.where(ProjectPlan.title.ilike(like_pattern(q), escape="\\"))
    if year.isdigit():
        stmt = stmt.where(ProjectPlan.fiscal_year == int(year))
    page = paginate(stmt)
    years = [str(y) for (y,) in db.session.execute(
        sa.select(ProjectPlan.fiscal_year).distinct().order_by(ProjectPlan.fiscal_year.desc()))]
    ids = [p.id for p in page.items]
    tender_counts = dict(db.session.execute(
        sa.select(Tender.plan_id, sa.func.count(Tender.id)).where(Tender.plan_id.in_(ids)).group_by(Tender.plan_id)
    ).all()) if ids else {}
    template = "procurement/_plan_table.html" if is_htmx() else "procurement/plans.html"
    return render_template(template, page=page, q=q, year=year, year_options=[(y, y) for y in years],
                           tender_counts=tender_counts)


def _plan_choices(form: PlanForm, plan: ProjectPlan | None = None) -> None:
    communities = db.session.execute(
        sa.select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).unique().scalars().all()
    open_needs = db.session.execute(
        sa.select(CommunityNeed).where(sa.or_(CommunityNeed.status == NeedStatus.SUBMITTED,
                                              CommunityNeed.plan_id == (plan.id if plan else -1)))
        .order_by(CommunityNeed.submitted_at)).unique().scalars().all()
    form.fill_choices(communities, open_needs)


def _plan_values(form: PlanForm) -> dict:
    communities = db.session.execute(sa.select(Area).where(Area.id.in_(form.communities.data or []))).unique().scalars().all()
    return dict(fiscal_year=form.fiscal_year.data, title=form.title.data, category=ServiceCategory(form.category.data),
                budget_fen=form.budget.fen, description=form.description.data or "", communities=list(communities),
                targets={name: getattr(form, name).data for name in TARGET_FIELDS})


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def plan_new():
    require(perms.can_manage_plans(current_user))
    form = PlanForm()
    _plan_choices(form)
    if request.method == "GET":
        form.fiscal_year.data = clock.to_local(clock.now()).year + 1
        form.needs.data = [int(i) for i in request.args.getlist("need") if i.isdigit()]
    if form.validate_on_submit():
        try:
            chosen = db.session.execute(sa.select(CommunityNeed).where(
                CommunityNeed.id.in_(form.needs.data or []))).unique().scalars().all()
            plan = need_services.create_plan(current_user, needs=list(chosen), **_plan_values(form))
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Plan %(t)s created.", t=plan.title), "success")
            return redirect_to(url_for("procurement.plan", plan_id=plan.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/plan_form.html", form=form, plan=None), status


@bp.route("/plans/<int:plan_id>")
@login_required
def plan(plan_id: int):
    item = db.get_or_404(ProjectPlan, plan_id)
    require(perms.can_read_procurement(current_user))
    committed = workflow._committed_ceilings(item)
    return render_template("procurement/plan.html", plan=item, committed=committed)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def plan_edit(plan_id: int):
    item = db.get_or_404(ProjectPlan, plan_id)
    require(perms.can_manage_plans(current_user))
    form = PlanForm(obj=item) if request.method == "GET" else PlanForm()
    _plan_choices(form, item)
    if request.method == "GET":
        form.budget.data = fen_to_yuan_text(item.budget_fen)
        form.category.data = item.category.value
        form.communities.data = [c.id for c in item.communities]
        form.needs.data = [n.id for n in item.needs]
        form.version.data = str(item.version)
    if form.validate_on_submit():
        try:
            check_version(item, form.version.data)
            need_services.update_plan(current_user, item, **_plan_values(form))
            chosen = db.session.execute(sa.select(CommunityNeed).where(
                CommunityNeed.id.in_(form.needs.data or []))).unique().scalars().all()
            for n in chosen:
                need_services.link_need(current_user, item, n)
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(item.version)
            return render_template("procurement/plan_form.html", form=form, plan=item, stale=exc.message), 409
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Plan %(t)s saved.", t=item.title), "success")
            return redirect_to(url_for("procurement.plan", plan_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/plan_form.html", form=form, plan=item), status


# --- tenders: lists and the tender page -------------------------------------------------------


def _scoped_tenders(stmt: sa.Select) -> sa.Select:
    """Staff and auditors see every tender; bidders the public ones; experts those on their panel."""
    if perms.can_read_procurement(current_user):
        return stmt
    if current_user.role == Role.ORG_MANAGER:
        return stmt.where(Tender.status != S.DRAFT)
    if current_user.role == Role.EXPERT:
        return stmt.where(Tender.id.in_(sa.select(TenderExpert.tender_id).where(TenderExpert.user_id == current_user.id)))
    return stmt.where(sa.false())


def can_list_tenders(user) -> bool:
    return perms.can_read_procurement(user) or user.role in (Role.ORG_MANAGER, Role.EXPERT)


@bp.route("/tenders")
@login_required
def tenders():
    require(can_list_tenders(current_user))
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    method = request.args.get("method", "")
    stmt = _scoped_tenders(sa.select(Tender).order_by(Tender.id.desc()))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(Tender.title.ilike(pattern, escape="\\"), Tender.number.ilike(pattern, escape="\\")))
    if status in {s.value for s in S}:
        stmt = stmt.where(Tender.status == S(status))
    if method in {m.value for m in TenderMethod}:
        stmt = stmt.where(Tender.method == TenderMethod(method))
    page = paginate(stmt)
    ids = [t.id for t in page.items]
    # Counts of bids received: a number only, never who or at what price.
    counts = dict(db.session.execute(
        sa.select(Bid.tender_id, sa.func.count(Bid.id)).where(Bid.tender_id.in_(ids), Bid.status == BidStatus.SUBMITTED)
        .group_by(Bid.tender_id)).all()) if ids and perms.can_read_procurement(current_user) else {}
    template = "procurement/_tender_table.html" if is_htmx() else "procurement/tenders.html"
    return render_template(template, page=page, counts=counts, q=q, status=status, method=method)


@bp.route("/tenders/export.csv")
@login_required
def tenders_export():
    require(perms.can_read_procurement(current_user))
    rows = db.session.execute(sa.select(Tender).order_by(Tender.id)).unique().scalars().all()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["number", "title", "method", "status", "ceiling_yuan", "bids_received", "opened_at",
                     "awarded_organization", "awarded_price_yuan"])
    for t in rows:
        submitted = [b for b in t.bids if b.status == BidStatus.SUBMITTED]
        awarded = t.awarded_bid if t.status == S.AWARDED else None
        writer.writerow([t.number, t.title, t.method.value, t.status.value, fen_to_yuan_text(t.ceiling_fen),
                         len(submitted), local_datetime(t.opened_at),
                         awarded.organization.name if awarded else "",
                         fen_to_yuan_text(awarded.price_fen) if awarded else ""])
    return Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="tenders.csv"'})


def _tender_for_page(tender_id: int) -> Tender:
    tender = db.get_or_404(Tender, tender_id, options=[
        selectinload(Tender.bids).joinedload(Bid.organization), selectinload(Tender.criteria),
        selectinload(Tender.documents).joinedload(TenderDocument.file),
        selectinload(Tender.experts).joinedload(TenderExpert.user), joinedload(Tender.plan)])
    allowed = (perms.can_read_procurement(current_user)
               or (current_user.role == Role.ORG_MANAGER and tender.is_public)
               or perms.panel_member(current_user, tender) is not None)
    require(allowed)
    return tender


def _tender_context(tender: Tender) -> dict:
    user = current_user
    submitted = [b for b in tender.bids if b.status == BidStatus.SUBMITTED]
    own_bid = None
    own_content = None
    if user.role == Role.ORG_MANAGER:
        own_bid = next((b for b in tender.bids if b.organization_id == user.organization_id), None)
        if own_bid is not None and own_bid.status == BidStatus.SUBMITTED:
            own_content = workflow.own_bid_content(user, own_bid)
    member = perms.panel_member(user, tender)
    questions = db.session.execute(sa.select(Clarification).where(Clarification.tender_id == tender.id)
                                   .order_by(Clarification.asked_at)).scalars().all()
    if not perms.can_manage_tenders(user) and not perms.can_read_procurement(user):
        # Bidders see answered questions, and their own unanswered ones.
        questions = [c for c in questions if c.answered_at or c.organization_id == user.organization_id]
    objections = db.session.execute(sa.select(Objection).where(Objection.tender_id == tender.id)
                                    .order_by(Objection.filed_at)).unique().scalars().all()
    if not perms.can_read_procurement(user):
        objections = [o for o in objections if o.organization_id == user.organization_id]
    experts = []
    if perms.can_manage_tenders(user):
        taken = {m.user_id for m in tender.experts}
        experts = [u for u in db.session.execute(sa.select(User).where(User.role == Role.EXPERT, User.active.is_(True))
                                                 .order_by(User.username)).unique().scalars() if u.id not in taken]
    opened = tender.opened_at is not None
    show_ranking = tender.status in (S.SCORED, S.AWARD_PROPOSED, S.IN_PUBLICITY, S.AWARDED) and (
        perms.can_read_procurement(user) or member is not None
        or tender.status in (S.IN_PUBLICITY, S.AWARDED))
    ranking = sorted([b for b in submitted if b.rank], key=lambda b: b.rank) if show_ranking else []
    assign_form = AssignExpertForm()
    assign_form.expert.choices = [(str(u.id), f"{u.full_name or u.username} ({u.username})") for u in experts]
    eligibility = []
    if user.role == Role.ORG_MANAGER and user.organization is not None:
        eligibility = eligibility_problems(user.organization, tender)
    contract = None
    if tender.status == S.AWARDED:
        from ..contracts.models import Contract

        contract = db.session.execute(sa.select(Contract).where(Contract.tender_id == tender.id)).unique().scalar_one_or_none()
    return dict(
        contract=contract, tender=tender, now=clock.now(), submitted_count=len(submitted), opened=opened, own_bid=own_bid,
        own_content=own_content, member=member, questions=questions, objections=objections, ranking=ranking,
        opening_rows=submitted if opened and perms.can_read_procurement(user) else [],
        weights_problem=workflow.weights_problem(tender), action_form=EmptyForm(), reason_form=ReasonForm(),
        assign_form=assign_form, document_form=DocumentForm(), question_form=QuestionForm(),
        answer_form=AnswerForm(), objection_answer_form=ObjectionAnswerForm(), eligibility=eligibility,
        blocking=workflow.blocking_objections(tender) if tender.status == S.IN_PUBLICITY else [],
        min_bids=workflow.min_valid_bids(tender.method), min_experts=workflow.min_experts(tender.method),
    )


@bp.route("/tenders/<int:tender_id>")
@login_required
def tender(tender_id: int):
    item = _tender_for_page(tender_id)
    return render_template("procurement/tender.html", **_tender_context(item))


def _tender_values(form: TenderForm) -> dict:
    return dict(title=form.title.data, method=form.method.data, ceiling_fen=form.ceiling.fen,
                min_rating=form.min_rating.data, price_weight=Decimal(form.price_weight.data),
                description=form.description.data or "",
                clarification_deadline=_utc(form.clarification_deadline.data),
                bid_deadline=_utc(form.bid_deadline.data), opening_at=_utc(form.opening_at.data),
                publicity_days=form.publicity_days.data)


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
        form.ceiling.data = fen_to_yuan_text(plan_item.budget_fen - workflow._committed_ceilings(plan_item))
        form.price_weight.data = "20"
    if form.validate_on_submit():
        try:
            item = workflow.create_tender(current_user, plan_item, **_tender_values(form))
            workflow.set_criteria(current_user, item, rows)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Tender %(n)s drafted.", n=item.number), "success")
            return redirect_to(url_for("procurement.tender", tender_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/tender_form.html", form=form, plan=plan_item, tender=None, rows=rows), status


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def tender_edit(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_tenders(current_user))
    if item.status != S.DRAFT:
        raise DomainError(_("Only a draft tender can be edited."))
    form = TenderForm(obj=item) if request.method == "GET" else TenderForm()
    form.fill_choices()
    if request.method == "GET":
        form.method.data, form.min_rating.data = item.method.value, item.min_rating.value
        form.ceiling.data = fen_to_yuan_text(item.ceiling_fen)
        form.price_weight.data = points(item.price_weight)
        for name in ("clarification_deadline", "bid_deadline", "opening_at"):
            getattr(form, name).data = clock.to_local(getattr(item, name)).replace(tzinfo=None)
        form.version.data = str(item.version)
        rows = [{"name": c.name, "weight": points(c.weight), "description": c.description}
                for c in item.criteria]
    else:
        rows = _criteria_rows()
    if form.validate_on_submit():
        try:
            check_version(item, form.version.data)
            workflow.update_tender(current_user, item, **_tender_values(form))
            workflow.set_criteria(current_user, item, rows)
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(item.version)
            return render_template("procurement/tender_form.html", form=form, plan=item.plan, tender=item, rows=rows,
                                   stale=exc.message), 409
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Tender %(n)s saved.", n=item.number), "success")
            return redirect_to(url_for("procurement.tender", tender_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/tender_form.html", form=form, plan=item.plan, tender=item, rows=rows), status


@bp.route("/tenders/criteria-row")
@login_required
def criterion_row():
    require(perms.can_manage_tenders(current_user))
    return render_template("procurement/_criterion_row.html", row={"name": "", "weight": "", "description": ""})


@bp.route("/tenders/<int:tender_id>/documents", methods=["POST"])
@login_required
def tender_document_add(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_tenders(current_user))
    form = DocumentForm()
    if not form.validate_on_submit():
        abort(400)
    uploads = [f for f in request.files.getlist("file") if f.filename]
    if not uploads:
        raise ValidationError(_("Choose a file to upload."), "file")
    for upload in uploads:
        workflow.add_tender_document(current_user, item, upload, form.title.data if len(uploads) == 1 else "")
    db.session.commit()
    flash(_("Document added."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


TRANSITIONS = {
    "publish": (workflow.publish_tender, _l("Tender published.")),
    "close": (workflow.close_bidding, _l("Bidding closed.")),
    "open": (workflow.open_bids, _l("Bids opened.")),
    "finish-scoring": (workflow.finish_scoring, _l("Scoring finished.")),
    "propose": (workflow.propose_award, _l("Award proposed.")),
    "publicity": (workflow.start_publicity, _l("Publicity started.")),
    "confirm": (workflow.confirm_award, _l("Award confirmed.")),
}


@bp.route("/tenders/<int:tender_id>/do/<action>", methods=["POST"])
@login_required
def tender_transition(tender_id: int, action: str):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_tenders(current_user))
    if action not in TRANSITIONS:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    function, message = TRANSITIONS[action]
    function(current_user, item)
    db.session.commit()
    flash(str(message) if item.status != S.FAILED else _("The tender failed: %(r)s", r=item.status_reason),
          "success" if item.status != S.FAILED else "info")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/tenders/<int:tender_id>/cancel", methods=["POST"])
@login_required
def tender_cancel(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_tenders(current_user))
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    objection = None
    if request.form.get("objection", "").isdigit():
        objection = db.get_or_404(Objection, int(request.form["objection"]))
        if objection.tender_id != item.id:
            abort(404)  # else cancelling this tender would mark another tender's objection resolved
    workflow.cancel_tender(current_user, item, form.reason.data, objection)
    db.session.commit()
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


# --- experts ----------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/experts", methods=["POST"])
@login_required
def expert_assign(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_manage_tenders(current_user))
    form = AssignExpertForm()
    form.expert.choices = [(request.form.get("expert", ""), "")]
    if not form.validate_on_submit() or not form.expert.data.isdigit():
        raise ValidationError(_("Choose an expert."), "expert")
    expert = db.get_or_404(User, int(form.expert.data))
    workflow.assign_expert(current_user, item, expert)
    db.session.commit()
    flash(_("%(n)s added to the panel.", n=expert.full_name or expert.username), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/panel/<int:member_id>/remove", methods=["POST"])
@login_required
def expert_remove(member_id: int):
    member = db.get_or_404(TenderExpert, member_id)
    require(perms.can_manage_tenders(current_user))
    if not EmptyForm().validate_on_submit():
        abort(400)
    tender_id = member.tender_id
    workflow.remove_expert(current_user, member)
    db.session.commit()
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
    if form.validate_on_submit():
        workflow.declare_conflicts(current_user, member, form.related.data or [], form.note.data or "")
        db.session.commit()
        if member.conflicted:
            flash(_("Thank you. Because of the declared relation you will not score this tender."), "info")
            return redirect_to(url_for("procurement.tender", tender_id=item.id))
        flash(_("Declaration recorded. You can now score the bids."), "success")
        return redirect_to(url_for("procurement.score", tender_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/declare.html", tender=item, member=member, form=form, orgs=orgs), status


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
    if not EmptyForm().validate_on_submit():
        abort(400)
    error = None
    try:
        workflow.save_score(current_user, member, bid, criterion, request.form.get("points", ""),
                            request.form.get("comment", ""))
    except ValidationError as exc:
        db.session.rollback()
        error = exc.message
    else:
        db.session.commit()
    context = _scoring_context(item, member)
    return render_template("procurement/_score_cell.html", bid=bid, criterion=criterion, error=error,
                           submitted_points=request.form.get("points", ""), **context), (422 if error else 200)


@bp.route("/tenders/<int:tender_id>/score/submit", methods=["POST"])
@login_required
def score_submit(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    member = _own_member(item)
    if not EmptyForm().validate_on_submit():
        abort(400)
    workflow.submit_scores(current_user, member)
    db.session.commit()
    flash(_("Your scores are submitted."), "success")
    return redirect_to(url_for("procurement.score", tender_id=item.id))


@bp.route("/bids/<int:bid_id>/invalid", methods=["POST"])
@login_required
def bid_invalid(bid_id: int):
    bid = db.get_or_404(Bid, bid_id)
    require(perms.can_manage_tenders(current_user) or perms.panel_member(current_user, bid.tender) is not None)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    workflow.rule_bid_invalid(current_user, bid, form.reason.data)
    db.session.commit()
    flash(_("Bid of %(o)s ruled invalid.", o=bid.organization.name), "success")
    back = "procurement.score" if current_user.role == Role.EXPERT else "procurement.tender"
    return redirect_to(url_for(back, tender_id=bid.tender_id))


# --- bids -------------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/bid", methods=["GET", "POST"])
@login_required
def bid_form(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_bid(current_user) and item.is_public)
    form = BidForm()
    if form.validate_on_submit():
        try:
            bid = workflow.submit_bid(current_user, item, price_fen=form.price.fen,
                                      declaration=str(form.declaration_accepted.label.text),
                                      declaration_accepted=form.declaration_accepted.data,
                                      uploads=request.files.getlist("documents"))
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "price")
        else:
            db.session.commit()
            flash(_("Bid submitted. Keep your receipt."), "success")
            return redirect_to(url_for("procurement.bid_receipt", bid_id=bid.id))
    status = 422 if request.method == "POST" else 200
    problems = eligibility_problems(current_user.organization, item)
    return render_template("procurement/bid_form.html", tender=item, form=form, problems=problems,
                           now=clock.now()), status


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
    require(perms.is_bidder_manager(current_user, bid.organization_id))
    if not EmptyForm().validate_on_submit():
        abort(400)
    workflow.withdraw_bid(current_user, bid)
    db.session.commit()
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
    page = paginate(sa.select(Bid).where(Bid.organization_id == current_user.organization_id)
                    .order_by(Bid.submitted_at.desc(), Bid.id.desc()).options(joinedload(Bid.tender)))
    template = "procurement/_my_bid_table.html" if is_htmx() else "procurement/my_bids.html"
    return render_template(template, page=page)


# --- clarifications ---------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@login_required
def question_ask(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_bid(current_user) and item.is_public)
    form = QuestionForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the question in a few words at least."), "question")
    workflow.ask_question(current_user, item, form.question.data)
    db.session.commit()
    flash(_("Question sent. The answer will be published to all bidders without naming you."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.id))


@bp.route("/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def question_answer(question_id: int):
    item = db.get_or_404(Clarification, question_id)
    require(perms.can_manage_tenders(current_user))
    form = AnswerForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the answer."), "answer")
    workflow.answer_question(current_user, item, form.answer.data)
    db.session.commit()
    flash(_("Answer published to all bidders."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))


# --- objections -------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/objections/new", methods=["GET", "POST"])
@login_required
def objection_new(tender_id: int):
    item = db.get_or_404(Tender, tender_id)
    require(perms.can_object(current_user, item))
    form = ObjectionForm()
    if form.validate_on_submit():
        try:
            workflow.file_objection(current_user, item, form.reasons.data, request.files.getlist("files"))
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "reasons")
        else:
            db.session.commit()
            flash(_("Objection filed. The award waits until it is answered."), "success")
            return redirect_to(url_for("procurement.tender", tender_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("procurement/objection_form.html", tender=item, form=form), status


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@login_required
def objection_answer(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_manage_tenders(current_user))
    form = ObjectionAnswerForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Write the answer to the objection; the bidder receives it."), "answer")
    workflow.answer_objection(current_user, item, upheld=form.decision.data == "upheld", answer=form.answer.data)
    db.session.commit()
    flash(_("Objection answered."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=item.tender_id))


@bp.route("/objections/<int:objection_id>/rescore", methods=["POST"])
@login_required
def objection_rescore(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    require(perms.can_manage_tenders(current_user))
    if not EmptyForm().validate_on_submit():
        abort(400)
    tender_item = db.get_or_404(Tender, item.tender_id)
    workflow.return_to_scoring(current_user, tender_item, item)
    db.session.commit()
    flash(_("The tender is back with the panel for scoring."), "success")
    return redirect_to(url_for("procurement.tender", tender_id=tender_item.id))
