"""Who may see a contract and its files, and who may change what."""
from __future__ import annotations

import sqlalchemy as sa

from ..core import scoping
from ..core.permissions import ORG_ROLES, Role, has_permission
from . import workflow as _flow
from .models import Contract


def can_view_contract(user, contract) -> bool:
    """The bureau and auditors see every contract; an organization only its own."""
    if has_permission(user, "procurement.read"):
        return True
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id is not None and user.organization_id == contract.organization_id)


def can_list_contracts(user) -> bool:
    return has_permission(user, "procurement.read") or bool(
        user is not None and user.is_authenticated and user.role in ORG_ROLES and user.organization_id)


def can_manage_contracts(user, contract=None) -> bool:
    return has_permission(user, "contracts.manage")


def can_deliver(user, contract) -> bool:
    """The organization's manager uploads deliverables and submits milestones."""
    return (has_permission(user, "contracts.deliver") and user.role == Role.ORG_MANAGER
            and user.organization_id == contract.organization_id)


def can_review_milestones(user, contract=None) -> bool:
    return has_permission(user, "contracts.manage")


def can_record_payments(user, contract=None) -> bool:
    return has_permission(user, "payments.record")


# --- what a person may do to a contract now: who acts AND what its state allows -----------------
# The views check these before acting and the pages ask them before offering a button, so a page
# never offers what the workflow (contracts/workflow.py, CONTRACT and MILESTONE) would refuse.


def can_record_bond(user, contract) -> bool:
    """Procurement staff record the performance bond received, once, before the contract is completed."""
    from .bonds import RECEIVABLE

    return can_manage_contracts(user, contract) and contract.bond_fen is None and contract.status in RECEIVABLE


def can_return_bond(user, contract) -> bool:
    """Procurement staff record the bond returned once the contract is completed."""
    from .bonds import bond_due

    return can_manage_contracts(user, contract) and bond_due(contract)


def can_view_services(user, contract) -> bool:
    """The service log and progress exist once the contract is signed."""
    return can_view_contract(user, contract) and _flow.CONTRACT.allows("show_services", contract)


def can_edit_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("edit", contract)


def can_sign_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("sign", contract)


def can_start_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("start", contract)


def can_complete_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("complete", contract)


def can_close_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("close", contract)


def can_terminate_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("terminate", contract)


def can_amend_contract(user, contract) -> bool:
    return can_manage_contracts(user, contract) and _flow.CONTRACT.allows("amend", contract)


def can_add_deliverable(user, milestone) -> bool:
    return (can_deliver(user, milestone.contract) and _flow.CONTRACT.allows("deliver", milestone.contract)
            and _flow.MILESTONE.allows("add_deliverable", milestone))


def can_submit_milestone(user, milestone) -> bool:
    return (can_deliver(user, milestone.contract) and _flow.CONTRACT.allows("deliver", milestone.contract)
            and _flow.MILESTONE.allows("submit", milestone))


def can_review_milestone(user, milestone) -> bool:
    """Accept or return: the bureau, for a submitted milestone of a contract in service."""
    return (can_review_milestones(user, milestone.contract) and _flow.CONTRACT.allows("deliver", milestone.contract)
            and _flow.MILESTONE.allows("accept", milestone))


def can_pay_milestone(user, milestone) -> bool:
    return (can_record_payments(user, milestone.contract) and _flow.CONTRACT.allows("pay", milestone.contract)
            and _flow.MILESTONE.allows("record_payment", milestone))


def can_reopen_period(user, milestone, period_status=None) -> bool:
    """Unlock the service entries behind a paid milestone: procurement staff, with a reason.
    `period_status`: the period's state when the caller has it (the contract page reads them at once)."""
    from .models import PeriodStatus

    if not can_manage_contracts(user) or milestone.status != _flow.M.PAID:
        return False
    return period_status != PeriodStatus.REOPENED


def can_close_period(user, milestone, period_status=None) -> bool:
    """Lock again the entries behind a paid milestone that were reopened."""
    from .models import PeriodStatus

    return (can_manage_contracts(user) and milestone.status == _flow.M.PAID
            and period_status == PeriodStatus.REOPENED)


# --- which contracts a person's lists hold -----------------------------------------------------


def contract_scope(user) -> sa.ColumnElement[bool]:
    """The condition on contract rows that `can_view_contract` states for this person (for queries
    that reach contracts through a join, such as the reminders)."""
    if has_permission(user, "procurement.read"):
        return sa.true()
    if (user is not None and user.is_authenticated and user.role in ORG_ROLES
            and user.organization_id is not None):
        return Contract.organization_id == user.organization_id
    return sa.false()


def visible_contracts(user) -> sa.Select:
    """The contracts `can_view_contract` lets the person open, as one query: every list, export and
    search starts here."""
    return sa.select(Contract).where(contract_scope(user))


def visible_payments(user) -> sa.Select:
    """The payments of the contracts the person sees: a payment is read on its contract's page."""
    from .models import Payment

    return sa.select(Payment).where(Payment.contract_id.in_(
        visible_contracts(user).with_only_columns(Contract.id).order_by(None)))


scoping.register(Contract, visible_contracts, can_view_contract)
