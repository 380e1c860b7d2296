"""What each domain adds to every page: its menu entries, its home-page panels and its template
helpers. Domains register here when their blueprint is made; core reads the lists and imports no
domain."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import url_for
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MenuEntry:
    endpoint: str
    label: Any                                  # a lazy string
    order: int
    visible: Callable[[Any], bool]              # visible(user)
    badge: Callable[[Any], int] | None = None   # badge(user): a count shown beside the label
    public: bool = False                        # for residents without an account
    group: str = ""                             # the menu's stage this entry sits under


@dataclass(frozen=True)
class HomePanel:
    """A box on the home page: `template` rendered with `context(user)`, when `visible(user)`."""

    name: str
    template: str
    order: int
    visible: Callable[[Any], bool]
    context: Callable[[Any], dict]
    # The kinds of data (core/versions.py) the context is worked out from: it is kept for each
    # person until one of them changes. Empty: worked out on every page.
    kept: tuple[str, ...] = ()
    # What of the clock the context reads: "day" (today's date) or "minute" (the moment, compared
    # with deadlines): it is worked out again when that changes. None: it reads no clock.
    clock: str | None = None


# The menu's stages, in order: a bar of at most seven entries (home and these six), each opening the
# pages of its stage. An entry's stage defaults to its blueprint's.
GROUPS = {
    "procurement": _l("Procurement"),
    "contracts": _l("Contracts"),
    "delivery": _l("Service delivery"),
    "evaluation": _l("Evaluation"),
    "registry": _l("Registry"),
    "audit": _l("Audit"),
}
_GROUP_OF_BLUEPRINT = {"procurement": "procurement", "contracts": "contracts", "delivery": "delivery",
                       "evaluations": "evaluation", "registry": "registry", "accounts": "registry",
                       "audit": "audit", "reports": "audit"}

MENU: dict[str, MenuEntry] = {}
PANELS: dict[str, HomePanel] = {}
TEMPLATE_GLOBALS: dict[str, Any] = {}


def menu(endpoint: str, label, *, order: int, visible: Callable[[Any], bool], badge=None, public: bool = False,
         group: str | None = None):
    if group is None:
        group = _GROUP_OF_BLUEPRINT.get(endpoint.partition(".")[0], "")
    MENU[endpoint] = MenuEntry(endpoint, label, order, visible, badge, public, group)


def panel(name: str, template: str, *, order: int, visible: Callable[[Any], bool], context: Callable[[Any], dict],
          kept: tuple[str, ...] = (), clock: str | None = None):
    if clock not in (None, "day", "minute"):
        raise ValueError(f"panel {name}: clock is 'day', 'minute' or None, not {clock!r}")
    PANELS[name] = HomePanel(name, template, order, visible, context, tuple(kept), clock)


def template_global(name: str, value) -> None:
    TEMPLATE_GLOBALS[name] = value


def predicates(module) -> None:
    """Every `can_<verb>` predicate of a permissions module, for templates to ask."""
    for name in dir(module):
        if name.startswith("can_"):
            value = getattr(module, name)
            known = TEMPLATE_GLOBALS.get(name)
            if known is not None and known is not value:
                # Templates would ask one domain's rule in another's page.
                raise RuntimeError(f"two domains name a predicate {name}: {known.__module__} and {module.__name__}")
            TEMPLATE_GLOBALS[name] = value


def navigation(user) -> list[tuple[str, Any, str, int]]:
    """(endpoint, label, url, badge) of the entries the person may use, in menu order."""
    from flask import g

    user = getattr(user, "_get_current_object", lambda: user)()  # the predicates read it often
    if not user.is_authenticated:
        return []
    cached = g.get("nav_entries")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    entries = sorted((e for e in MENU.values() if not e.public), key=lambda e: e.order)
    result = [(e.endpoint, e.label, menu_url(e.endpoint), e.badge(user) if e.badge else 0)
              for e in entries if e.visible(user)]
    g.nav_entries = (user.id, result)
    return result


@dataclass
class MenuGroup:
    key: str
    label: Any
    entries: list  # (endpoint, label, url, badge)

    @property
    def badge(self) -> int:
        return sum(entry[3] for entry in self.entries)

    def holds(self, endpoint: str | None) -> bool:
        return any(entry[0] == endpoint for entry in self.entries)


def grouped_navigation(user, items: list | None = None) -> list[MenuGroup]:
    """The menu bar: entries without a stage stand alone; the others sit under their stage.
    `items`: the person's navigation(user) when the caller has it already."""
    groups: list[MenuGroup] = []
    by_key: dict[str, MenuGroup] = {}
    for endpoint, label, url, badge in (navigation(user) if items is None else items):
        key = MENU[endpoint].group
        if not key:
            groups.append(MenuGroup("", label, [(endpoint, label, url, badge)]))
            continue
        if key not in by_key:
            by_key[key] = MenuGroup(key, GROUPS.get(key, key), [])
            groups.append(by_key[key])
        by_key[key].entries.append((endpoint, label, url, badge))
    return groups


def public_navigation() -> list[tuple[str, Any, str]]:
    """What residents and the press can use without an account."""
    entries = sorted((e for e in MENU.values() if e.public), key=lambda e: e.order)
    return [(e.endpoint, e.label, menu_url(e.endpoint)) for e in entries]


# A menu entry's address depends only on its endpoint and the root the app is served under.
_URLS: dict[tuple[str, str], str] = {}


def menu_url(endpoint: str) -> str:
    """`url_for(endpoint)` of a menu entry (entries take no arguments), routed once per root."""
    from flask import request

    key = (request.script_root, endpoint)
    url = _URLS.get(key)
    if url is None:
        url = _URLS[key] = url_for(endpoint)
    return url


def home_panels(user) -> list[tuple[str, dict]]:
    """(template, context) of the home-page panels for this person, in order."""
    return [(p.template, _context(p, user)) for p in sorted(PANELS.values(), key=lambda p: p.order)
            if p.visible(user)]


# Panels' contexts kept per version of their kinds (core/versions.py), one store per panel.
_KEPT: dict[str, Any] = {}


def _context(p: HomePanel, user) -> dict:
    if not p.kept:
        return p.context(user)
    from flask import request
    from flask_babel import get_locale

    from . import clock, versions

    store = _KEPT.get(p.name)
    if store is None:
        store = _KEPT[p.name] = versions.Kept(p.kept, size=512)
    moment = None
    if p.clock == "day":
        moment = clock.to_local(clock.now()).date()
    elif p.clock == "minute":
        moment = clock.now().replace(second=0, microsecond=0)
    key = (user.id, user.role, user.organization_id, str(get_locale()), request.script_root, moment)
    return store.get(key, lambda: p.context(user))
