"""A person's information through its life: withdrawing consent, who read the record, and
everything held about the person, downloaded for them."""
from __future__ import annotations

import json

from flask import Response, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import flow
from ...core.permissions import require
from ...core.web import is_htmx, paginate
from ...extensions import db
from .. import permissions as perms
from .. import privacy, services
from ..forms import WithdrawConsentForm
from ..models import Beneficiary, BeneficiaryView
from . import bp


def _person(beneficiary_id: int) -> Beneficiary:
    person = db.get_or_404(Beneficiary, beneficiary_id)
    require(perms.can_view_beneficiary(current_user, person))
    return person


@bp.route("/beneficiaries/<int:beneficiary_id>/withdraw", methods=["GET", "POST"])
@login_required
def beneficiary_withdraw(beneficiary_id: int):
    """A pause before consent ends: what it erases, when and how the person withdrew."""
    person = _person(beneficiary_id)
    require(perms.can_edit_beneficiary(current_user, person.organization_id))
    privacy.PERSON.check("withdraw", person)
    form = WithdrawConsentForm()
    if not form.is_submitted():
        form.withdrawn_on.data = services.today()

    def save():
        privacy.withdraw_consent(current_user, person, form.withdrawn_on.data, form.reason.data)
        return url_for("delivery.beneficiary", beneficiary_id=person.id)

    def page(**extra):
        return render_template("delivery/beneficiary_withdraw.html", form=form, person=person, **extra)

    return flow.submit(form, save, page, field="reason",
                       message=_("Consent withdrawn: the identity number, phone and sensitive categories are erased."))


@bp.route("/beneficiaries/<int:beneficiary_id>/views")
@login_required
def beneficiary_views(beneficiary_id: int):
    """Who read the record, newest first, a page at a time."""
    person = _person(beneficiary_id)
    require(perms.can_view_person_log(current_user, person))
    views = paginate(privacy.view_log(person).options(joinedload(BeneficiaryView.user)))
    template = "delivery/_view_log.html" if is_htmx() else "delivery/beneficiary_views.html"
    return render_template(template, person=person, views=views)


@bp.route("/beneficiaries/<int:beneficiary_id>/export", methods=["POST"])
@login_required
def beneficiary_export(beneficiary_id: int):
    person = _person(beneficiary_id)
    require(perms.can_export_person(current_user, person))
    data = privacy.export_person(current_user, person)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="person-{person.id}.json"', "Cache-Control": "no-store"})
