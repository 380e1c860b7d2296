"""Who may see a contract and its files, and who may change what."""
from __future__ import annotations

from ..core.permissions import ORG_ROLES, Role, has_permission


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
