"""Who may read and change areas, organizations and social workers, and which of them a person's
lists hold (`visible_<things>` beside each `can_view_<thing>`)."""
from __future__ import annotations

import sqlalchemy as sa

from ..core import scoping
from ..core.permissions import ORG_ROLES, Role, has_permission
from .models import Organization, SocialWorker


def _own_org(user, organization_id) -> bool:
    return (
        user is not None
        and user.is_authenticated
        and user.role == Role.ORG_MANAGER
        and user.organization_id is not None
        and user.organization_id == organization_id
    )


def can_view_registry(user) -> bool:
    return has_permission(user, "registry.read")


def can_view_organization(user, org) -> bool:
    """Every signed-in role reads the register of organizations."""
    return can_view_registry(user)


def visible_organizations(user) -> sa.Select:
    stmt = sa.select(Organization)
    return stmt if can_view_registry(user) else stmt.where(sa.false())


def can_view_workers(user) -> bool:
    """Bureau staff and auditors see every organization's workers; org staff their own."""
    if has_permission(user, "workers.read_all"):
        return True
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id is not None)


def can_view_worker(user, worker) -> bool:
    """Bureau staff and auditors see every social worker; org staff those of their organization."""
    if has_permission(user, "workers.read_all"):
        return True
    return bool(user is not None and user.is_authenticated and user.is_active and user.role in ORG_ROLES
                and user.organization_id is not None and user.organization_id == worker.organization_id)


def visible_workers(user) -> sa.Select:
    stmt = sa.select(SocialWorker)
    if has_permission(user, "workers.read_all"):
        return stmt
    if can_view_workers(user) and user.is_active:
        return stmt.where(SocialWorker.organization_id == user.organization_id)
    return stmt.where(sa.false())


def can_view_worker_contact(user, worker) -> bool:
    if has_permission(user, "workers.manage"):
        return True
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id == worker.organization_id)


def can_manage_areas(user) -> bool:
    return has_permission(user, "areas.manage")


def can_view_calendar(user) -> bool:
    """The bureau's working-day calendar: bureau staff and auditors read it."""
    return has_permission(user, "procurement.read")


def can_manage_calendar(user) -> bool:
    """Administrators and procurement staff add and remove local days (audited)."""
    return has_permission(user, "calendar.manage")


def can_create_organization(user) -> bool:
    return has_permission(user, "orgs.manage")


def can_edit_organization(user, org) -> bool:
    if has_permission(user, "orgs.manage"):
        return True
    return has_permission(user, "orgs.edit_own") and _own_org(user, org.id)


def can_set_org_status(user, org=None) -> bool:
    """Rating and status (suspension, dishonesty list) are the bureau's call, never the org's."""
    return has_permission(user, "orgs.set_status")


def _status_allows(verb: str, org) -> bool:
    from .workflow import ORGANIZATION

    return org is not None and ORGANIZATION.allows(verb, org)


def can_suspend_organization(user, org) -> bool:
    return can_set_org_status(user, org) and _status_allows("suspend", org)


def can_list_organization_dishonest(user, org) -> bool:
    return can_set_org_status(user, org) and _status_allows("list_dishonest", org)


def can_reinstate_organization(user, org) -> bool:
    return can_set_org_status(user, org) and _status_allows("reinstate", org)


def can_change_org_status(user, org) -> bool:
    """The status form is offered when the bureau may act and the status allows some change."""
    return (can_suspend_organization(user, org) or can_list_organization_dishonest(user, org)
            or can_reinstate_organization(user, org))


def can_manage_workers(user, org) -> bool:
    if has_permission(user, "workers.manage"):
        return True
    return has_permission(user, "workers.manage_own") and _own_org(user, org.id)


def can_edit_worker(user, worker) -> bool:
    if has_permission(user, "workers.manage"):
        return True
    return has_permission(user, "workers.manage_own") and _own_org(user, worker.organization_id)


def can_add_workers(user) -> bool:
    """Bureau staff add workers to any organization; an org manager to their own."""
    if has_permission(user, "workers.manage"):
        return True
    return has_permission(user, "workers.manage_own") and user.organization_id is not None


scoping.register(Organization, visible_organizations, can_view_organization)
scoping.register(SocialWorker, visible_workers, can_view_worker)
