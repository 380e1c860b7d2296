"""Organizations: the list, the organization page, its forms and its status."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from .. import permissions as perms
from .. import services, workflow
from ..forms import OrganizationForm, OrgStatusForm
from ..models import Area, AreaLevel, Organization, OrgKind, OrgRating, OrgStatus, SocialWorker
from ..permissions import (can_create_organization, can_edit_organization, can_set_org_status, can_view_registry,
                           can_view_workers, visible_organizations, visible_workers)
from . import _enum_arg, _typed, bp


@bp.route("/organizations")
@login_required
def organizations():
    require(can_view_registry(current_user))
    q = request.args.get("q", "").strip()
    status = _enum_arg("status", OrgStatus)
    rating = _enum_arg("rating", OrgRating)
    kind = _enum_arg("kind", OrgKind)
    stmt = visible_organizations(current_user).order_by(Organization.name).options(joinedload(Organization.area))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(Organization.name.ilike(pattern, escape="\\"),
                                 Organization.credit_code.ilike(pattern, escape="\\")))
    if status:
        stmt = stmt.where(Organization.status == status)
    if rating:
        stmt = stmt.where(Organization.rating == rating)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    page = paginate(stmt)
    ids = [o.id for o in page.items]
    counts = dict(db.session.execute(
        sa.select(SocialWorker.organization_id, sa.func.count(SocialWorker.id))
        .where(SocialWorker.organization_id.in_(ids), SocialWorker.active.is_(True))
        .group_by(SocialWorker.organization_id)
    ).all()) if ids else {}
    template = "registry/_org_table.html" if is_htmx() else "registry/organizations.html"
    return render_template(template, page=page, counts=counts, q=q,
                           status=status.value if status else "", rating=rating.value if rating else "",
                           kind=kind.value if kind else "")


@functools.cache
def _organization_with_area() -> sa.Select:
    """The organization with its area, street and district (the page shows its path): a statement
    made once, where a `get` with these options was built again for every request."""
    return (sa.select(Organization).where(Organization.id == sa.bindparam("org"))
            .options(joinedload(Organization.area).joinedload(Area.parent).joinedload(Area.parent)))


@bp.route("/organizations/<int:org_id>")
@login_required
def organization(org_id: int):
    org = db.session.execute(_organization_with_area(), {"org": org_id}).scalar_one_or_none()
    if org is None:
        abort(404)
    require(perms.can_view_organization(current_user, org))
    return _organization_page(org)


def _organization_page(org: Organization, status_form: OrgStatusForm | None = None):
    workers, worker_count = [], 0
    mine = visible_workers(current_user).where(SocialWorker.organization_id == org.id)
    if can_view_workers(current_user):
        workers = db.session.execute(mine.order_by(SocialWorker.name, SocialWorker.id).limit(WORKERS_SHOWN)
                                     ).scalars().all()
        worker_count = len(workers) if len(workers) < WORKERS_SHOWN else db.session.execute(
            sa.select(sa.func.count()).select_from(mine.subquery())).scalar_one()
    if status_form is None:
        status_form = OrgStatusForm()
        status_form.fill_choices()
    from ...evaluations.consequences import organization_grades
    from ...evaluations.permissions import viewable_round_ids

    grades, grade_count, bars = organization_grades(org.id, GRADES_SHOWN) if org.kind == OrgKind.SERVICE \
        else ([], 0, [])
    return render_template("registry/organization.html", org=org, workers=workers, worker_count=worker_count,
                           status_form=status_form, grades=grades, grade_count=grade_count, bars=bars,
                           openable=viewable_round_ids(current_user, [r.id for r in grades]))


# The organization's page lists its newest final grades (its performance history report has them
# all) and its first social workers (the list of social workers has them all).
GRADES_SHOWN = 20
WORKERS_SHOWN = 30


def _areas_for_orgs():
    return db.session.execute(
        sa.select(Area).where(Area.level.in_([AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY]))
        .order_by(Area.code)
    ).unique().scalars().all()


def _area_or_none(value) -> Area | None:
    if not value:
        return None
    area = db.session.get(Area, int(value)) if str(value).isdigit() else None
    if area is None:
        raise ValidationError(_("Choose an area from the list."), "area_id")
    return area


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
def organization_new():
    require(can_create_organization(current_user))
    form = OrganizationForm()
    form.fill_choices(_areas_for_orgs())

    def save():
        org = services.create_organization(
            current_user, name=form.name.data, credit_code=form.credit_code.data,
            kind=OrgKind(form.kind.data), registration_type=form.registration_type.data,
            rating=OrgRating(form.rating.data), rated_on=form.rated_on.data, scale=form.scale.data or "unstated",
            area=_area_or_none(form.area_id.data),
            address=form.address.data or "", contact_name=form.contact_name.data or "",
            contact_phone=form.contact_phone.data or "", contact_email=form.contact_email.data or "",
        )
        return url_for("registry.organization", org_id=org.id)

    return flow.submit(form, save, lambda **extra: render_template("registry/organization_form.html", form=form,
                                                                   org=None, **extra),
                       field="name", message=_("Organization %(n)s registered.", n=_typed(form.name)))


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def organization_edit(org_id: int):
    org = db.get_or_404(Organization, org_id)
    require(can_edit_organization(current_user, org))
    bureau = can_set_org_status(current_user, org)
    form = OrganizationForm(obj=org) if request.method == "GET" else OrganizationForm()
    form.fill_choices(_areas_for_orgs())
    if request.method == "GET":
        form.kind.data, form.rating.data = org.kind.value, org.rating.value
        form.scale.data = org.scale.value
        form.registration_type.data = org.registration_type.value
        form.area_id.data = str(org.area_id or "")
    if not bureau:
        # Organizations keep their profile; code, kind and rating are the bureau's record.
        form.credit_code.data, form.kind.data, form.rating.data = org.credit_code, org.kind.value, org.rating.value
        form.scale.data = org.scale.value

    def save():
        values = dict(name=form.name.data, registration_type=form.registration_type.data,
                      address=form.address.data or "", contact_name=form.contact_name.data or "",
                      contact_phone=form.contact_phone.data or "", contact_email=form.contact_email.data or "")
        if bureau:
            values.update(credit_code=form.credit_code.data, kind=form.kind.data, rating=form.rating.data,
                          rated_on=form.rated_on.data, scale=form.scale.data)
        values["area_id"] = (a.id if (a := _area_or_none(form.area_id.data)) else None)
        services.update_organization(current_user, org, may_set_status=bureau, **values)
        return url_for("registry.organization", org_id=org.id)

    return flow.submit(form, save, lambda **extra: render_template("registry/organization_form.html", form=form,
                                                                   org=org, bureau=bureau, **extra),
                       field="name", obj=org, message=_("Organization %(n)s saved.", n=_typed(form.name)))


@bp.route("/organizations/<int:org_id>/status", methods=["POST"])
@login_required
def organization_status(org_id: int):
    org = db.get_or_404(Organization, org_id)
    require(can_set_org_status(current_user, org))
    form = OrgStatusForm()
    form.fill_choices()

    def save():
        workflow.set_organization_status(current_user, org, OrgStatus(form.status.data), form.reason.data)
        return url_for("registry.organization", org_id=org.id)

    def page(**extra):
        if is_htmx():
            return render_template("registry/_status_form.html", org=org, status_form=form)
        return _organization_page(org, status_form=form)

    return flow.submit(form, save, page, field="reason", message=_("Status of %(n)s changed.", n=org.name))


# --- social workers ---------------------------------------------------------------------------
