"""Who may manage accounts, and which accounts a person's lists hold (`visible_users` beside
`can_view_user`)."""
from __future__ import annotations

import sqlalchemy as sa

from ..core import scoping
from ..core.permissions import has_permission
from .models import User


def can_manage_users(user, target=None) -> bool:
    return has_permission(user, "users.manage")


def can_view_user(user, target) -> bool:
    """Accounts are listed to the administrators who manage them."""
    return can_manage_users(user, target)


def visible_users(user) -> sa.Select:
    stmt = sa.select(User)
    return stmt if can_manage_users(user) else stmt.where(sa.false())


def can_deactivate_user(user, target) -> bool:
    """An administrator deactivates an active account other than their own."""
    return can_manage_users(user, target) and target.active and target.id != user.id


def can_activate_user(user, target) -> bool:
    return can_manage_users(user, target) and not target.active and target.id != user.id


def can_change_own_password(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


scoping.register(User, visible_users, can_view_user)
