"""The expert pool: each expert's categories and the ties the bureau recorded with organizations."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...accounts.models import User
from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import Role, require
from ...core.web import redirect_to
from ...extensions import db
from ...registry.models import Organization
from .. import experts as expert_pool
from .. import permissions as perms
from ..forms import EmptyForm, ExpertCategoriesForm, ExpertTieForm
from ..labels import AFFILIATION_LABELS
from ..models import ExpertAffiliation, ServiceCategory, expert_category
from . import bp


@bp.route("/experts")
@login_required
def experts():
    require(perms.can_view_experts(current_user))
    people = expert_pool.experts_of_pool()
    categories: dict[int, list[ServiceCategory]] = {}
    for user_id, category in db.session.execute(sa.select(expert_category.c.user_id, expert_category.c.category)
                                                .order_by(expert_category.c.category)):
        categories.setdefault(user_id, []).append(ServiceCategory(category))
    ties: dict[int, int] = dict(db.session.execute(
        sa.select(ExpertAffiliation.user_id, sa.func.count(ExpertAffiliation.id)).group_by(ExpertAffiliation.user_id)).all())
    return render_template("procurement/experts.html", people=people, categories=categories, ties=ties)


def _expert(user_id: int) -> User:
    expert = db.get_or_404(User, user_id)
    if expert.role != Role.EXPERT:
        abort(404)
    return expert


def _organizations():
    return db.session.execute(sa.select(Organization).order_by(Organization.name)).unique().scalars().all()


def _expert_page(expert: User, categories_form=None, tie_form=None, **extra):
    categories_form = categories_form or ExpertCategoriesForm(categories=[c.value for c in
                                                                         expert_pool.categories_of(expert.id)])
    categories_form.fill_choices()
    if tie_form is None:
        tie_form = ExpertTieForm()
    tie_form.fill_choices(_organizations())
    ties = db.session.execute(sa.select(ExpertAffiliation).where(ExpertAffiliation.user_id == expert.id)
                              .options(joinedload(ExpertAffiliation.organization))
                              .order_by(ExpertAffiliation.id)).unique().scalars().all()
    return render_template("procurement/expert.html", expert=expert, categories_form=categories_form,
                           tie_form=tie_form, ties=ties, action_form=EmptyForm(),
                           affiliation_labels=AFFILIATION_LABELS, **extra)


@bp.route("/experts/<int:user_id>")
@login_required
def expert(user_id: int):
    require(perms.can_view_experts(current_user))
    return _expert_page(_expert(user_id))


@bp.route("/experts/<int:user_id>/categories", methods=["POST"])
@login_required
def expert_categories(user_id: int):
    require(perms.can_manage_experts(current_user))
    person = _expert(user_id)
    form = ExpertCategoriesForm()
    form.fill_choices()

    def save():
        expert_pool.set_categories(current_user, person, form.categories.data or [])
        return url_for("procurement.expert", user_id=person.id)

    return flow.submit(form, save, lambda **extra: _expert_page(person, categories_form=form, **extra),
                       field="categories", message=_("Categories saved."))


@bp.route("/experts/<int:user_id>/ties", methods=["POST"])
@login_required
def expert_tie_add(user_id: int):
    require(perms.can_manage_experts(current_user))
    person = _expert(user_id)
    form = ExpertTieForm()
    form.fill_choices(_organizations())

    def save():
        organization = db.session.get(Organization, int(form.organization.data)) \
            if form.organization.data.isdigit() else None
        if organization is None:
            raise ValidationError(_("Choose an organization from the list."), "organization")
        expert_pool.add_affiliation(current_user, person, organization, form.kind.data, form.note.data or "")
        return url_for("procurement.expert", user_id=person.id)

    return flow.submit(form, save, lambda **extra: _expert_page(person, tie_form=form, **extra),
                       field="organization", message=_("Tie recorded."))


@bp.route("/experts/ties/<int:tie_id>/remove", methods=["POST"])
@login_required
def expert_tie_remove(tie_id: int):
    tie = db.get_or_404(ExpertAffiliation, tie_id)
    require(perms.can_manage_experts(current_user))
    user_id = tie.user_id
    expert_pool.remove_affiliation(current_user, tie)
    flash(_("Tie removed."), "success")
    return redirect_to(url_for("procurement.expert", user_id=user_id))
