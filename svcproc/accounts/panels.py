"""The administrator's box on the home page: accounts locked after failed logins (a password reset
unlocks them)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..core import clock, nav
from ..core.queues import Queue, Row, fetch
from . import permissions as perms
from .models import User


def locked_accounts(user) -> dict:
    rows, total = fetch(sa.select(User.id, User.username, User.full_name, User.locked_until)
                        .where(User.locked_until > clock.now()).order_by(User.locked_until, User.id))
    return {"key": "accounts", "heading": _l("Users"), "queues": [
        Queue("locked", _l("Accounts locked"), total=total, more_url=url_for("accounts.users"),
              rows=[Row(label=f"{r.full_name or r.username} ({r.username})", action=_l("Reset password"),
                        url=url_for("accounts.user_edit", user_id=r.id)) for r in rows])]}


nav.panel("accounts", "accounts/_panel_queue.html", order=45, visible=perms.can_manage_users, context=locked_accounts)
