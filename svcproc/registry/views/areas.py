"""Areas of the district: the list, and the forms that add and edit them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from .. import services
from ..forms import AreaForm
from ..models import Area, AreaLevel
from ..permissions import can_manage_areas, can_view_registry
from . import _enum_arg, _typed, bp


@bp.route("/areas")
@login_required
def areas():
    require(can_view_registry(current_user))
    q = request.args.get("q", "").strip()
    level = _enum_arg("level", AreaLevel)
    stmt = sa.select(Area).order_by(Area.code)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(Area.name.ilike(pattern, escape="\\"), Area.code.ilike(pattern, escape="\\")))
    if level:
        stmt = stmt.where(Area.level == level)
    page = paginate(stmt)
    template = "registry/_area_table.html" if is_htmx() else "registry/areas.html"
    return render_template(template, page=page, q=q, level=level.value if level else "")


def _parent_candidates():
    return db.session.execute(
        sa.select(Area).where(Area.level != AreaLevel.GRID).order_by(Area.code)
    ).unique().scalars().all()


def _area_from_id(value) -> Area | None:
    if not value:
        return None
    area = db.session.get(Area, int(value)) if str(value).isdigit() else None
    if area is None:
        raise ValidationError(_("Choose an area from the list."), "parent_id")
    return area


@bp.route("/areas/new", methods=["GET", "POST"])
@login_required
def area_new():
    require(can_manage_areas(current_user))
    form = AreaForm()
    form.fill_choices(_parent_candidates())
    if request.method == "GET" and request.args.get("parent", "").isdigit():
        parent = db.session.get(Area, int(request.args["parent"]))
        if parent is not None:
            form.parent_id.data = str(parent.id)
            form.level.data = {AreaLevel.DISTRICT: AreaLevel.STREET, AreaLevel.STREET: AreaLevel.COMMUNITY,
                               AreaLevel.COMMUNITY: AreaLevel.GRID}.get(parent.level, AreaLevel.GRID).value

    def save():
        services.create_area(current_user, level=AreaLevel(form.level.data), code=form.code.data,
                             name=form.name.data, parent=_area_from_id(form.parent_id.data))
        return url_for("registry.areas")

    return flow.submit(form, save, lambda **extra: render_template("registry/area_form.html", form=form, area=None,
                                                                   **extra),
                       field="code", message=_("Area %(n)s added.", n=_typed(form.name)))


@bp.route("/areas/<int:area_id>/edit", methods=["GET", "POST"])
@login_required
def area_edit(area_id: int):
    area = db.get_or_404(Area, area_id)
    require(can_manage_areas(current_user))
    form = AreaForm(obj=area) if request.method == "GET" else AreaForm()
    form.fill_choices([a for a in _parent_candidates() if a.id != area.id])
    form.level.data = area.level.value  # the level of an existing area is fixed
    if request.method == "GET":
        form.parent_id.data = str(area.parent_id or "")

    def save():
        services.update_area(current_user, area, code=form.code.data, name=form.name.data,
                             parent=_area_from_id(form.parent_id.data))
        return url_for("registry.areas")

    return flow.submit(form, save, lambda **extra: render_template("registry/area_form.html", form=form, area=area,
                                                                   **extra),
                       field="code", obj=area, message=_("Area %(n)s saved.", n=_typed(form.name)))


# --- organizations ----------------------------------------------------------------------------
