"""Pages for areas, organizations and social workers: lists that filter as you type, forms."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _nl
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..core import flow, nav
from ..core.errors import ValidationError
from ..core.permissions import ORG_ROLES, has_permission, require
from ..core.web import is_htmx, like_pattern, paginate
from ..extensions import db
from . import permissions as perms
from . import services, workflow
from .forms import (AREA_LEVEL_LABELS, CERTIFICATION_LABELS, ORG_KIND_LABELS, RATING_LABELS,
                    REGISTRATION_TYPE_LABELS, STATUS_LABELS, AreaForm, OrganizationForm, OrgStatusForm,
                    WorkerForm)
from .models import (Area, AreaLevel, CertificationLevel, Organization, OrgKind, OrgRating, OrgStatus,
                     SocialWorker)
from .permissions import (can_add_workers, can_create_organization, can_edit_organization, can_edit_worker,
                          can_manage_areas, can_manage_workers, can_set_org_status, can_view_registry,
                          can_view_workers, visible_organizations, visible_workers)

bp = Blueprint("registry", __name__, url_prefix="/registry")
nav.menu("registry.organizations", _nl("Organizations"), order=50, visible=perms.can_view_registry)
nav.menu("registry.workers", _nl("Social workers"), order=51, visible=perms.can_view_registry)
nav.menu("registry.areas", _nl("Areas"), order=52, visible=perms.can_view_registry)
nav.predicates(perms)


LABELS = {
    "area_levels": AREA_LEVEL_LABELS, "org_kinds": ORG_KIND_LABELS, "ratings": RATING_LABELS,
    "statuses": STATUS_LABELS, "registration_types": REGISTRATION_TYPE_LABELS,
    "certifications": CERTIFICATION_LABELS,
}


@bp.context_processor
def _labels():
    return LABELS


def _typed(field) -> str:
    """A name as the services store it (for the message shown once it is saved)."""
    return (field.data or "").strip()


def _enum_arg(name: str, enum_cls):
    value = request.args.get(name, "")
    return enum_cls(value) if value in {m.value for m in enum_cls} else None


# --- areas ------------------------------------------------------------------------------------


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


@bp.route("/organizations/<int:org_id>")
@login_required
def organization(org_id: int):
    org = db.get_or_404(Organization, org_id)
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
    from ..evaluations.consequences import bidding_bars, final_grade_count, final_grades

    service = org.kind == OrgKind.SERVICE
    grades = final_grades(org.id, limit=GRADES_SHOWN) if service else []
    grade_count = final_grade_count(org.id) if len(grades) == GRADES_SHOWN else len(grades)
    bars = bidding_bars(org.id) if service else []
    return render_template("registry/organization.html", org=org, workers=workers, worker_count=worker_count,
                           status_form=status_form, grades=grades, grade_count=grade_count, bars=bars)


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
            rating=OrgRating(form.rating.data), area=_area_or_none(form.area_id.data),
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
        form.registration_type.data = org.registration_type.value
        form.area_id.data = str(org.area_id or "")
    if not bureau:
        # Organizations keep their profile; code, kind and rating are the bureau's record.
        form.credit_code.data, form.kind.data, form.rating.data = org.credit_code, org.kind.value, org.rating.value

    def save():
        values = dict(name=form.name.data, registration_type=form.registration_type.data,
                      address=form.address.data or "", contact_name=form.contact_name.data or "",
                      contact_phone=form.contact_phone.data or "", contact_email=form.contact_email.data or "")
        if bureau:
            values.update(credit_code=form.credit_code.data, kind=form.kind.data, rating=form.rating.data)
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


@bp.route("/workers")
@login_required
def workers():
    require(can_view_workers(current_user))
    q = request.args.get("q", "").strip()
    certification = _enum_arg("certification", CertificationLevel)
    active = request.args.get("active", "")
    org_id = request.args.get("org", "")
    stmt = (visible_workers(current_user).order_by(SocialWorker.name, SocialWorker.id)
            .options(joinedload(SocialWorker.organization)))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(SocialWorker.name.ilike(pattern, escape="\\"),
                                 SocialWorker.certificate_number.ilike(pattern, escape="\\")))
    if certification:
        stmt = stmt.where(SocialWorker.certification_level == certification)
    if active in ("1", "0"):
        stmt = stmt.where(SocialWorker.active.is_(active == "1"))
    if org_id.isdigit():
        stmt = stmt.where(SocialWorker.organization_id == int(org_id))
    page = paginate(stmt)
    organizations = []
    if has_permission(current_user, "workers.read_all"):
        organizations = [(str(i), name) for i, name in db.session.execute(
            visible_organizations(current_user).with_only_columns(Organization.id, Organization.name)
            .where(Organization.kind == OrgKind.SERVICE).order_by(Organization.name))]
    template = "registry/_worker_table.html" if is_htmx() else "registry/workers.html"
    return render_template(template, page=page, q=q, certification=certification.value if certification else "",
                           active=active, org_id=org_id, organizations=organizations)


def _worker_orgs():
    if has_permission(current_user, "workers.manage"):
        return db.session.execute(
            visible_organizations(current_user).where(Organization.kind == OrgKind.SERVICE).order_by(Organization.name)
        ).unique().scalars().all()
    if current_user.role in ORG_ROLES and current_user.organization is not None:
        return [current_user.organization]
    return []


@bp.route("/workers/new", methods=["GET", "POST"])
@login_required
def worker_new():
    require(can_add_workers(current_user))
    orgs = _worker_orgs()
    form = WorkerForm()
    form.fill_choices(orgs)
    if request.method == "GET":
        form.organization_id.data = request.args.get("org") or (str(orgs[0].id) if len(orgs) == 1 else "")

    def save():
        org = next((o for o in orgs if str(o.id) == form.organization_id.data), None)
        if org is None:
            raise ValidationError(_("Choose an organization from the list."), "organization_id")
        require(can_manage_workers(current_user, org))
        services.create_worker(
            current_user, org, name=form.name.data,
            certification_level=CertificationLevel(form.certification_level.data),
            certificate_number=form.certificate_number.data or "", phone=form.phone.data or "",
            active=form.active.data)
        return url_for("registry.workers")

    return flow.submit(form, save, lambda **extra: render_template("registry/worker_form.html", form=form,
                                                                   worker=None, **extra),
                       field="name", message=_("Social worker %(n)s added.", n=_typed(form.name)))


@bp.route("/workers/<int:worker_id>/edit", methods=["GET", "POST"])
@login_required
def worker_edit(worker_id: int):
    worker = db.get_or_404(SocialWorker, worker_id)
    require(can_edit_worker(current_user, worker))
    form = WorkerForm(obj=worker) if request.method == "GET" else WorkerForm()
    form.fill_choices([worker.organization])
    form.organization_id.data = str(worker.organization_id)
    if request.method == "GET":
        form.certification_level.data = worker.certification_level.value

    def save():
        services.update_worker(current_user, worker, name=form.name.data,
                               certification_level=CertificationLevel(form.certification_level.data),
                               certificate_number=form.certificate_number.data or "",
                               phone=form.phone.data or "", active=form.active.data)
        return url_for("registry.workers")

    return flow.submit(form, save, lambda **extra: render_template("registry/worker_form.html", form=form,
                                                                   worker=worker, **extra),
                       field="name", obj=worker, message=_("Social worker %(n)s saved.", n=_typed(form.name)))
