"""The performance bond (履约保证金) on a contract: at most PERFORMANCE_BOND_MAX_PERCENT of the contract
amount (《政府采购法实施条例》第四十八条), recorded as received by procurement staff before the contract
is completed, and recorded as returned once it is completed (验收). Each function checks who acts and
the rule, records one audit event and flushes; the view commits.
"""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock
from ..core.errors import DomainError, ValidationError
from ..core.formatting import money
from ..core.workflow import allow
from ..extensions import db
from ..procurement.models import DepositForm
from . import permissions as perms
from .models import Contract, ContractStatus

C = ContractStatus
BOND_SOURCE = "《政府采购法实施条例》第四十八条"
# A bond is taken while the contract is drawn up or under way, and returned once it is completed.
RECEIVABLE = frozenset({C.DRAFT, C.SIGNED, C.IN_PROGRESS})
RETURNABLE = frozenset({C.COMPLETED, C.CLOSED})


def bond_problem(bond_fen: int | None, amount_fen: int) -> str | None:
    """Why a bond of this amount may not be asked on a contract of `amount_fen`, or None."""
    if bond_fen is None or bond_fen <= 0:
        return _("The performance bond must be more than zero.")
    percent = int(current_app.config["PERFORMANCE_BOND_MAX_PERCENT"])
    # In whole fen: the bond may equal the percentage of the amount exactly, not one fen more.
    if bond_fen * 100 > amount_fen * percent:
        return _("The performance bond may be at most %(p)d %% of the contract amount (%(source)s): at most %(max)s "
                 "for %(amount)s.", p=percent, source=BOND_SOURCE, max=money(amount_fen * percent // 100),
                 amount=money(amount_fen))
    return None


def _date(value, field: str) -> date:
    return clock.past_day(value, field)


def record_bond(actor, contract: Contract, *, amount_fen: int | None, form, received_on) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    if contract.status not in RECEIVABLE:
        raise DomainError(_("A performance bond is recorded before the contract is completed."))
    if contract.bond_fen is not None:
        raise DomainError(_("The performance bond of this contract is already recorded."))
    problem = bond_problem(amount_fen, contract.amount_fen)
    if problem:
        raise ValidationError(problem, "amount")
    try:
        form = DepositForm(form)
    except ValueError:
        raise ValidationError(_("Say how the bond was paid."), "form") from None
    received_on = _date(received_on, "received_on")
    contract.bond_fen, contract.bond_form, contract.bond_received_on = amount_fen, form.value, received_on
    db.session.flush()
    record("contract.bond_recorded", actor=actor, obj=contract,
           changes={"bond_fen": [None, amount_fen], "bond_form": [None, form.value],
                    "bond_received_on": [None, received_on.isoformat()]})


def bond_due(contract: Contract) -> bool:
    """The bond is held and the contract completed: it is to be returned."""
    return contract.bond_fen is not None and contract.bond_returned_on is None and contract.status in RETURNABLE


def return_bond(actor, contract: Contract, *, returned_on) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    if contract.bond_fen is None:
        raise DomainError(_("No performance bond is recorded on this contract."))
    if contract.bond_returned_on is not None:
        raise DomainError(_("The performance bond was already returned on %(d)s.",
                            d=contract.bond_returned_on.isoformat()))
    if contract.status not in RETURNABLE:
        raise DomainError(_("The performance bond is returned once the contract is completed."))
    returned_on = _date(returned_on, "returned_on")
    if returned_on < contract.bond_received_on:
        raise ValidationError(_("A bond is returned after it was received (%(d)s).",
                                d=contract.bond_received_on.isoformat()), "returned_on")
    contract.bond_returned_on = returned_on
    db.session.flush()
    record("contract.bond_returned", actor=actor, obj=contract,
           changes={"bond_returned_on": [None, returned_on.isoformat()]})
