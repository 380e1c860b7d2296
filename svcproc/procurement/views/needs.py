"""Community needs: the bureau's list and a need's page with its decisions."""
from __future__ import annotations

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
from ...registry.models import Area
from .. import needs as need_services
from .. import permissions as perms
from ..forms import EmptyForm, MergeForm, ReasonForm
from ..models import CommunityNeed, NeedStatus, ServiceCategory
from . import bp


@bp.route("/needs")
@login_required
def needs():
    require(perms.can_view_need(current_user))
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    stmt = (perms.visible_needs(current_user)
            .order_by(CommunityNeed.submitted_at.desc(), CommunityNeed.id.desc())
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
