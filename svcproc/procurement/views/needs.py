"""Community needs: the bureau's list and a need's page with its decisions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import exports, flow
from ...core.errors import ValidationError
from ...core.formatting import local_datetime, mask_name
from ...core.permissions import require
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from ...registry.models import Area
from .. import needs as need_services
from .. import permissions as perms
from ..forms import EmptyForm, MergeForm, ReasonForm
from ..labels import CATEGORY_LABELS, NEED_STATUS_LABELS
from ..models import CommunityNeed, NeedStatus, ProjectPlan, ServiceCategory
from . import bp


NEED_ORDER = (CommunityNeed.submitted_at.desc(), CommunityNeed.id.desc())


def _listed_needs() -> tuple[sa.Select, str, str, str]:
    """The needs the list shows with the request's filters (the page and its export). The
    community's name is matched through a subquery, so the export can join the community itself."""
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    stmt = perms.visible_needs(current_user)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(
            CommunityNeed.description.ilike(pattern, escape="\\"), CommunityNeed.receipt_code.ilike(pattern, escape="\\"),
            CommunityNeed.community_id.in_(sa.select(Area.id).where(Area.name.ilike(pattern, escape="\\")))))
    if status in {s.value for s in NeedStatus}:
        stmt = stmt.where(CommunityNeed.status == NeedStatus(status))
    if category in {c.value for c in ServiceCategory}:
        stmt = stmt.where(CommunityNeed.category == ServiceCategory(category))
    return stmt, q, status, category


@bp.route("/needs")
@login_required
def needs():
    require(perms.can_view_need(current_user))
    stmt, q, status, category = _listed_needs()
    stmt = stmt.order_by(*NEED_ORDER).options(joinedload(CommunityNeed.community))
    page = paginate(stmt)
    template = "procurement/_need_table.html" if is_htmx() else "procurement/needs.html"
    return render_template(template, page=page, q=q, status=status, category=category)


@bp.route("/needs/export.<any(csv, xlsx):fmt>")
@login_required
def needs_export(fmt: str):
    """The needs as listed. A resident's contact leaves only masked (family name, phone's ends), even
    for the staff who may read it in full on the need's page."""
    require(perms.can_view_need(current_user))
    listed, _q, _status, _category = _listed_needs()
    N = CommunityNeed
    stmt = exports.bounded(
        sa.select(N.receipt_code, N.submitted_at, Area.name, N.category, N.description, N.status, N.status_reason,
                  ProjectPlan.title, N.contact_name, N.contact_phone_masked)
        .select_from(N).join(Area, Area.id == N.community_id).outerjoin(ProjectPlan, ProjectPlan.id == N.plan_id)
        .where(exports.rows_of(listed)).order_by(*NEED_ORDER))

    def rows():
        for code, submitted, community, category, description, status, reason, plan, contact, phone in \
                db.session.execute(stmt):
            yield [code, local_datetime(submitted), community, CATEGORY_LABELS[category], description,
                   NEED_STATUS_LABELS[status], reason, plan or "", mask_name(contact), phone]

    return exports.export_response(
        fmt, exports.stamped(_("Community needs")),
        [_("Receipt code"), _("Submitted"), _("Community"), _("Kind of need"), _("What is needed"), _("Status"),
         _("Reason"), _("Project plan"), _("Contact (masked)"), _("Phone (masked)")], rows(),
        title=_("Community needs"))


def _need_page(item: CommunityNeed, error: str | None = None):
    return render_template("procurement/need.html", need=item, reason_form=ReasonForm(), merge_form=MergeForm(),
                           action_form=EmptyForm(), error=error)


@bp.route("/needs/<int:need_id>")
@login_required
def need(need_id: int):
    item = db.get_or_404(CommunityNeed, need_id)
    require(perms.can_view_need(current_user, item))
    return _need_page(item)


NEED_ACTIONS = ("adopt", "decline", "address", "merge")


@bp.route("/needs/<int:need_id>/<action>", methods=["POST"])
@login_required
def need_action(need_id: int, action: str):
    item = db.get_or_404(CommunityNeed, need_id)
    require(perms.can_manage_needs(current_user))
    if action not in NEED_ACTIONS:
        abort(404)
    form = MergeForm() if action == "merge" else ReasonForm()

    def save():
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
        return url_for("procurement.need", need_id=item.id)

    def page(**_extra):
        errors = [message for field in form for message in field.errors]
        return _need_page(item, error=errors[0] if errors else _("Check the form."))

    return flow.submit(form, save, page, field="into" if action == "merge" else "reason",
                       message=_("Need %(c)s updated.", c=item.receipt_code))
