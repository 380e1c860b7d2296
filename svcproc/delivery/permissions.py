"""Who sees beneficiaries and service logs, who records them, who may reveal an identity number."""
from __future__ import annotations

from ..core.permissions import ORG_ROLES, Role, has_permission


def _staff_of(user, organization_id) -> bool:
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id is not None and user.organization_id == organization_id)


def can_view_beneficiaries(user, organization_id) -> bool:
    """The organization's own staff, bureau staff and auditors; nobody else."""
    return has_permission(user, "procurement.read") or _staff_of(user, organization_id)


def can_list_beneficiaries(user) -> bool:
    return has_permission(user, "procurement.read") or bool(
        user is not None and user.is_authenticated and user.role in ORG_ROLES and user.organization_id)


def can_edit_beneficiary(user, organization_id) -> bool:
    return has_permission(user, "delivery.record") and _staff_of(user, organization_id)


def can_reveal_identity(user, beneficiary) -> bool:
    """Reading a full identity number is its own permission, and every use is audited."""
    return has_permission(user, "beneficiaries.reveal") and _staff_of(user, beneficiary.organization_id)


def worker_record(user):
    """The social worker record behind a login, if any."""
    from ..registry.models import SocialWorker
    from ..extensions import db
    import sqlalchemy as sa

    from flask import g, has_request_context

    if user is None or not user.is_authenticated:
        return None
    if has_request_context():  # asked by several predicates of one page: looked up once per request
        cache = g.setdefault("worker_records", {})
        if user.id not in cache:
            cache[user.id] = db.session.execute(
                sa.select(SocialWorker).where(SocialWorker.user_id == user.id)).scalar_one_or_none()
        return cache[user.id]
    return db.session.execute(sa.select(SocialWorker).where(SocialWorker.user_id == user.id)).scalar_one_or_none()


def can_record_activity(user, contract) -> bool:
    """Staff of the contract's organization: its manager, or a social worker assigned to the contract."""
    if not has_permission(user, "delivery.record") or not _staff_of(user, contract.organization_id):
        return False
    if user.role == Role.ORG_MANAGER:
        return True
    worker = worker_record(user)
    return worker is not None and worker.active and any(w.id == worker.id for w in contract.workers)


def can_manage_delivery(user, contract) -> bool:
    """Assign workers, import ledgers: the organization's manager."""
    return has_permission(user, "delivery.manage") and _staff_of(user, contract.organization_id)


def can_view_red_flags(user) -> bool:
    return has_permission(user, "procurement.read")


def can_explain_flag(user, flag) -> bool:
    if has_permission(user, "flags.explain") and user.role != Role.ORG_MANAGER:
        return True
    return has_permission(user, "flags.explain") and _staff_of(user, flag.contract.organization_id)
