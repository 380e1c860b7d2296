"""Who may manage accounts."""
from ..core.permissions import has_permission


def can_manage_users(user, target=None) -> bool:
    return has_permission(user, "users.manage")


def can_change_own_password(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)
