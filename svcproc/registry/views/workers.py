"""Social workers: the list and the forms that add and edit them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import flow
from ...core.errors import ValidationError
from ...core.permissions import ORG_ROLES, has_permission, require
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from .. import services
from ..forms import WorkerForm
from ..models import CertificationLevel, Organization, OrgKind, SocialWorker
from ..permissions import (can_add_workers, can_edit_worker, can_manage_workers, can_view_workers,
                           visible_organizations, visible_workers)
from . import _enum_arg, _typed, bp


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
