"""What every template can use: the predicates and menu the domains registered, vendor scripts, locale."""
from __future__ import annotations

import base64
import hashlib
from collections import ChainMap
from functools import lru_cache
from pathlib import Path

from flask import current_app, g
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import Template
from jinja2.runtime import new_context
from markupsafe import Markup

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


class _Template(Template):
    """Jinja's template, reading its globals as one dictionary: Jinja keeps them as a ChainMap (the
    template's own over the app's two hundred), which every render, include and import copied and
    tested key by key in Python. A context is made from a plain merge of the two, and an
    `{% import %}` asks which of the importing page's globals the imported template lacks with one
    set operation."""

    def new_context(self, vars=None, shared=False, locals=None):
        globals_ = self.globals
        if isinstance(globals_, ChainMap):
            merged: dict = {}
            for mapping in reversed(globals_.maps):
                merged.update(mapping)
            globals_ = merged
        return new_context(self.environment, self.name, self.blocks, vars, shared, globals_, locals)

    def _get_default_module(self, ctx=None):
        if ctx is not None and not self.environment.is_async:
            keys = ctx.globals_keys.difference(self.globals)
            if keys:
                return self.make_module({k: ctx.parent[k] for k in keys})
            ctx = None
        return super()._get_default_module(ctx)


def init_app(app) -> None:
    from . import clock

    app.jinja_env.template_class = _Template

    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["url_of"] = url_of
    app.jinja_env.globals["now_utc"] = clock.now
    # (value, label) pairs for a select, from a {enum member: label} mapping.
    app.jinja_env.globals["options"] = lambda labels: [(getattr(k, "value", k), str(v)) for k, v in labels.items()]
    # A table's labels as words in the request's language, translated once for its rows (each lazy
    # label translates itself again wherever it is shown).
    app.jinja_env.globals["label_words"] = lambda labels: {k: str(v) for k, v in labels.items()}
    # What the domains registered (core/nav.py): their predicates and label helpers.
    app.jinja_env.globals.update(nav.TEMPLATE_GLOBALS)
    from ..extensions import babel
    from .i18n import install_fast_domain

    install_fast_domain(app, babel)

    vendor = str(Path(app.static_folder) / "vendor" / "htmx.min.js")
    app.jinja_env.globals["menu_html"] = menu_html

    @app.context_processor
    def _globals():
        # Every render asks for these, an htmx fragment included: what only the page's layout
        # shows (the menu and its badge, the public menu) is worked out when the layout reads it.
        return {
            "nav_items": Deferred(lambda: nav.navigation(current_user)),
            "public_nav_items": Deferred(nav.public_navigation),
            "bureau_name": bureau_name(),
            "current_locale": locale_code(get_locale()),
            "htmx_cdn_url": current_app.config.get("HTMX_CDN_URL"),
            "htmx_sri": _sri(vendor),
            "csp_nonce": getattr(g, "csp_nonce", ""),
            "app_version": current_app.config["VERSION"],
        }


class Deferred:
    """A list worked out the first time a template reads it."""

    __slots__ = ("_make", "_value")

    def __init__(self, make):
        self._make = make
        self._value = None

    def _get(self) -> list:
        if self._value is None:
            self._value = self._make()
        return self._value

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __bool__(self) -> bool:
        return bool(self._get())

    def __getitem__(self, index):
        return self._get()[index]


# The menu bar's HTML by (language, current page, the person's entries with their addresses and
# badges): everything it shows follows from these, so people of one role share one rendering. It is
# derived from the code and the request alone, so every host builds the same; bounded, it is
# emptied when full.
_MENUS: dict[tuple, Markup] = {}
MENU_CACHE_SIZE = 512


def menu_html() -> Markup:
    """The signed-in person's menu bar (templates/_menu.html), rendered once per distinct menu."""
    from flask import request

    items = nav.navigation(current_user)
    endpoint = request.endpoint
    key = (locale_code(get_locale()), endpoint, tuple((e, u, b) for e, _label, u, b in items))
    html = _MENUS.get(key)
    if html is None:
        template = current_app.jinja_env.get_template("_menu.html")
        html = Markup(template.render(groups=nav.grouped_navigation(current_user, items), current=endpoint))
        if len(_MENUS) >= MENU_CACHE_SIZE:
            _MENUS.clear()
        _MENUS[key] = html
    return html
