"""Who may read the audit trail."""
from ..core.permissions import has_permission


def can_view_audit(user) -> bool:
    return has_permission(user, "audit.read")
