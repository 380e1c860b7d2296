"""The performance bond on a contract: recorded as received, and as returned once completed."""
from __future__ import annotations

from flask import flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core.errors import ValidationError
from ...core.permissions import require
from ...core.web import first_error
from .. import bonds
from .. import permissions as perms
from ..forms import BondForm, BondReturnForm
from . import bp
from .contracts import _contract, _on_contract_page



@bp.route("/contracts/<int:contract_id>/bond", methods=["POST"])
@login_required
def bond_record(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = BondForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "amount")
    bonds.record_bond(current_user, item, amount_fen=form.amount.fen, form=form.form.data,
                      received_on=form.received_on.data)
    flash(_("Performance bond recorded."), "success")
    return _on_contract_page(item)


@bp.route("/contracts/<int:contract_id>/bond/return", methods=["POST"])
@login_required
def bond_return(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = BondReturnForm()
    if not form.validate_on_submit():
        raise ValidationError(first_error(form, _("Check the form.")), "returned_on")
    bonds.return_bond(current_user, item, returned_on=form.returned_on.data)
    flash(_("Performance bond recorded as returned."), "success")
    return _on_contract_page(item)
