"""Who may read and change areas, organizations and social workers."""
from ..core.permissions import ORG_ROLES, Role, has_permission


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


def can_view_workers(user) -> bool:
    """Bureau staff and auditors see every organization's workers; org staff their own."""
    if has_permission(user, "workers.read_all"):
        return True
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id is not None)


def can_view_worker_contact(user, worker) -> bool:
    if has_permission(user, "workers.manage"):
        return True
    return bool(user is not None and user.is_authenticated and user.role in ORG_ROLES
                and user.organization_id == worker.organization_id)


def can_manage_areas(user) -> bool:
    return has_permission(user, "areas.manage")


def can_create_organization(user) -> bool:
    return has_permission(user, "orgs.manage")


def can_edit_organization(user, org) -> bool:
    if has_permission(user, "orgs.manage"):
        return True
    return has_permission(user, "orgs.edit_own") and _own_org(user, org.id)


def can_set_org_status(user, org=None) -> bool:
    """Rating and status (suspension, dishonesty list) are the bureau's call, never the org's."""
    return has_permission(user, "orgs.set_status")


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
