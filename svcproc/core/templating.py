"""What every template can use: the predicates and menu the domains registered, vendor scripts, locale."""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, g
from flask_babel import get_locale
from flask_login import current_user

from . import nav
from .i18n import locale_code
from .permissions import Role


@lru_cache(maxsize=8)
def _sri(path: str) -> str | None:
    file = Path(path)
    if not file.exists():
        return None
    digest = hashlib.sha384(file.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def bureau_name() -> str:
    """The purchasing bureau's name in the page's language (BUREAU_NAME, BUREAU_NAME_EN)."""
    if locale_code(get_locale()) == "en" and current_app.config.get("BUREAU_NAME_EN"):
        return current_app.config["BUREAU_NAME_EN"]
    return current_app.config["BUREAU_NAME"]


# A number no record has, put in an address to find where the record's number goes.
_MARK = 918273645


def url_of(endpoint: str, arg: str, **values):
    """`url_for(endpoint, arg=n, **values)` as a function of the number n, routed once: a list of
    hundreds of rows then writes each row's address by joining strings, not by routing each."""
    from flask import url_for

    head, mark, tail = url_for(endpoint, **{arg: _MARK}, **values).partition(str(_MARK))
    if not mark or str(_MARK) in tail:
        raise ValueError(f"{endpoint}: {arg} does not appear once in its address")
    return lambda number: f"{head}{int(number)}{tail}"


def init_app(app) -> None:
    from . import clock

    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["url_of"] = url_of
    app.jinja_env.globals["now_utc"] = clock.now
    # (value, label) pairs for a select, from a {enum member: label} mapping.
    app.jinja_env.globals["options"] = lambda labels: [(getattr(k, "value", k), str(v)) for k, v in labels.items()]
    # What the domains registered (core/nav.py): their predicates and label helpers.
    app.jinja_env.globals.update(nav.TEMPLATE_GLOBALS)
    from ..extensions import babel
    from .i18n import install_fast_domain

    install_fast_domain(app, babel)

    @app.context_processor
    def _globals():
        vendor = Path(current_app.static_folder) / "vendor" / "htmx.min.js"
        items = nav.navigation(current_user)
        return {
            "nav_items": items,
            "nav_groups": nav.grouped_navigation(current_user, items),
            "bureau_name": bureau_name(),
            "public_nav_items": nav.public_navigation(),
            "current_locale": locale_code(get_locale()),
            "htmx_cdn_url": current_app.config.get("HTMX_CDN_URL"),
            "htmx_sri": _sri(str(vendor)),
            "csp_nonce": getattr(g, "csp_nonce", ""),
            "app_version": current_app.config["VERSION"],
        }
