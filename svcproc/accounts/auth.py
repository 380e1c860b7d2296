"""Flask-Login wiring: loading the person behind a session, refusing ended sessions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, request, session, url_for
from flask_babel import lazy_gettext as _l

from ..core import versions
from ..extensions import db, login_manager
from .models import User, UserSession


_ACCOUNT: list = []


def _account_statement() -> sa.Select:
    """The statement every request runs first, built once (the kinds of data are all named by then)."""
    if not _ACCOUNT or _ACCOUNT[0][0] != tuple(sorted(versions.WATCHED)):
        stmt = (sa.select(User, *versions.columns()).join(UserSession, UserSession.user_id == User.id)
                .where(User.id == sa.bindparam("user_id"), UserSession.id == sa.bindparam("session_id")))
        _ACCOUNT[:] = [(tuple(sorted(versions.WATCHED)), stmt)]
    return _ACCOUNT[0][1]


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(user_key: str):
        user_id, _, token = user_key.partition(":")
        session_id = session.get("sid")
        if not user_id.isdigit() or not session_id:
            return None
        # The account and its server-side session in one statement: a session ended by logging
        # out (or by a password change, reset or deactivation) no longer finds its row.
        # The versions of the kinds of data the menu's figures are kept under come in the same
        # statement (core/versions.py).
        row = db.session.execute(_account_statement(), {"user_id": int(user_id), "session_id": session_id}
                                 ).one_or_none()
        if row is None:
            return None
        user = row[0]
        if not user.active or user.session_token != token:
            return None
        versions.remember(row[1:])
        return user

    @login_manager.unauthorized_handler
    def _unauthorized():
        if request.headers.get("HX-Request"):
            response = app.response_class("", 401)
            response.headers["HX-Redirect"] = url_for("accounts.login", next=request.full_path)
            return response
        from flask import flash

        flash(str(login_manager.login_message), "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
