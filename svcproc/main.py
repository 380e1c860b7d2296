"""Home page, health check and the language switch."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _nl
from flask_login import current_user

from .core import nav
from .core.i18n import LANG_COOKIE, supported
from .core.web import is_local_url
from .extensions import db

bp = Blueprint("main", __name__)
nav.menu("main.home", _nl("Home"), order=0, visible=lambda user: True)
nav.template_global("home_panels", nav.home_panels)


@bp.route("/")
def home():
    from .core.permissions import Role

    if current_user.is_authenticated and current_user.role == Role.AUDITOR:
        # An auditor's home is the auditor's desk (reports.desk), with the auditor's panels (the risk
        # overview) under its heading.
        from .core.permissions import require
        from .reports import desk as desk_module
        from .reports.permissions import can_use_audit_desk

        require(can_use_audit_desk(current_user))
        return render_template("reports/desk_home.html", **desk_module.overview())
    return render_template("home.html")


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, don't raise: this page exists to say what is wrong
        current_app.logger.warning("health check: database unreachable: %s", exc)
        database = "error"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", version=current_app.config["VERSION"],
                   database=database), status


@bp.route("/lang/<locale>", methods=["POST"])
def set_language(locale: str):
    # CSRFProtect has checked the token before this runs.
    chosen = supported(locale) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated:
        from .accounts.services import set_locale

        set_locale(current_user, chosen)
    target = request.form.get("next") or url_for("main.home")
    if not is_local_url(target):
        target = url_for("main.home")
    response = redirect(target, code=303)
    response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
