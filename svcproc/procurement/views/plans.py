"""Project plans: the list, a plan's page and its form."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import clock, flow
from ...core.formatting import fen_to_yuan_text
from ...core.permissions import require
from ...core.targets import TARGET_FIELDS
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from ...registry.models import Area, AreaLevel
from .. import needs as need_services
from .. import permissions as perms
from .. import workflow
from ..forms import PlanForm
from ..models import CommunityNeed, NeedStatus, ProjectPlan, ServiceCategory, Tender
from . import bp


@bp.route("/plans")
@login_required
def plans():
    require(perms.can_view_plan(current_user))
    q = request.args.get("q", "").strip()
    year = request.args.get("year", "")
    visible = perms.visible_plans(current_user)
    stmt = visible.order_by(ProjectPlan.fiscal_year.desc(), ProjectPlan.id.desc())
    if q:
        stmt = stmt.where(ProjectPlan.title.ilike(like_pattern(q), escape="\\"))
    if year.isdigit():
        stmt = stmt.where(ProjectPlan.fiscal_year == int(year))
    page = paginate(stmt)
    years = [str(y) for (y,) in db.session.execute(
        visible.with_only_columns(ProjectPlan.fiscal_year).distinct().order_by(ProjectPlan.fiscal_year.desc()))]
    ids = [p.id for p in page.items]
    tender_counts = dict(db.session.execute(
        sa.select(Tender.plan_id, sa.func.count(Tender.id)).where(Tender.plan_id.in_(ids)).group_by(Tender.plan_id)
    ).all()) if ids else {}
    template = "procurement/_plan_table.html" if is_htmx() else "procurement/plans.html"
    return render_template(template, page=page, q=q, year=year, year_options=[(y, y) for y in years],
                           tender_counts=tender_counts)


def _plan_choices(form: PlanForm, plan: ProjectPlan | None = None) -> None:
    """Every community, and the needs the plan may answer: those it answers or the form chose, and
    the waiting needs of the communities it serves (a district holds thousands of waiting needs; a
    form that offered them all weighed a third of a megabyte). A first form opened from a need
    serves that need's community."""
    communities = db.session.execute(
        sa.select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).unique().scalars().all()
    if request.method == "POST":
        served, chosen = set(form.communities.data or []), set(form.needs.data or [])
    elif plan is not None:
        served, chosen = {c.id for c in plan.communities}, set()
    else:
        served, chosen = set(), {int(i) for i in request.args.getlist("need") if i.isdigit() and len(i) <= 18}
    waiting_here = sa.and_(CommunityNeed.status == NeedStatus.SUBMITTED, sa.or_(
        CommunityNeed.community_id.in_(sorted(served)),
        CommunityNeed.community_id.in_(sa.select(CommunityNeed.community_id).where(CommunityNeed.id.in_(sorted(chosen))))))
    offered = db.session.execute(
        perms.visible_needs(current_user).where(sa.or_(
            CommunityNeed.id.in_(sorted(chosen)), CommunityNeed.plan_id == (plan.id if plan else -1), waiting_here))
        .order_by(CommunityNeed.submitted_at)).unique().scalars().all()
    form.fill_choices(communities, offered)
    if request.method == "GET" and plan is None and chosen:
        form.communities.data = sorted({n.community_id for n in offered if n.id in chosen})


def _needs_asked() -> bool:
    """The form sent back only to list the waiting needs of the communities now chosen (the needs'
    button, or htmx as the communities change): shown again, nothing saved."""
    return request.method == "POST" and request.form.get("show_needs") == "1"


def _plan_values(form: PlanForm) -> dict:
    communities = db.session.execute(sa.select(Area).where(Area.id.in_(form.communities.data or []))).unique().scalars().all()
    return dict(fiscal_year=form.fiscal_year.data, title=form.title.data, category=ServiceCategory(form.category.data),
                budget_fen=form.budget.fen, description=form.description.data or "", communities=list(communities),
                targets={name: getattr(form, name).data for name in TARGET_FIELDS})


def _chosen_needs(form: PlanForm) -> list[CommunityNeed]:
    return list(db.session.execute(perms.visible_needs(current_user).where(
        CommunityNeed.id.in_(form.needs.data or []))).unique().scalars().all())


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def plan_new():
    require(perms.can_manage_plans(current_user))
    form = PlanForm()
    _plan_choices(form)
    if request.method == "GET":
        form.fiscal_year.data = clock.to_local(clock.now()).year + 1
        form.needs.data = [int(i) for i in request.args.getlist("need") if i.isdigit()]
    created: list[ProjectPlan] = []

    def save():
        created.append(need_services.create_plan(current_user, needs=_chosen_needs(form), **_plan_values(form)))
        return url_for("procurement.plan", plan_id=created[0].id)

    def page(**extra):
        return render_template("procurement/plan_form.html", form=form, plan=None, **extra)

    if _needs_asked():
        return page()
    return flow.submit(form, save, page, field="title",
                       message=lambda: _("Plan %(t)s created.", t=created[0].title))


@bp.route("/plans/<int:plan_id>")
@login_required
def plan(plan_id: int):
    item = db.get_or_404(ProjectPlan, plan_id)
    require(perms.can_view_plan(current_user, item))
    committed = workflow.committed_ceilings(item)
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

    def save():
        need_services.update_plan(current_user, item, **_plan_values(form))
        for n in _chosen_needs(form):
            need_services.link_need(current_user, item, n)
        return url_for("procurement.plan", plan_id=item.id)

    def page(**extra):
        return render_template("procurement/plan_form.html", form=form, plan=item, **extra)

    if _needs_asked():
        return page()
    return flow.submit(form, save, page, field="title", obj=item,
                       message=lambda: _("Plan %(t)s saved.", t=item.title))
