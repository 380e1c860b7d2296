"""What each domain adds to every page: its menu entries, its home-page panels and its template
helpers. Domains register here when their blueprint is made; core reads the lists and imports no
domain."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import url_for


@dataclass(frozen=True)
class MenuEntry:
    endpoint: str
    label: Any                                  # a lazy string
    order: int
    visible: Callable[[Any], bool]              # visible(user)
    badge: Callable[[Any], int] | None = None   # badge(user): a count shown beside the label
    public: bool = False                        # for residents without an account


@dataclass(frozen=True)
class HomePanel:
    """A box on the home page: `template` rendered with `context(user)`, when `visible(user)`."""

    name: str
    template: str
    order: int
    visible: Callable[[Any], bool]
    context: Callable[[Any], dict]


MENU: dict[str, MenuEntry] = {}
PANELS: dict[str, HomePanel] = {}
TEMPLATE_GLOBALS: dict[str, Any] = {}


def menu(endpoint: str, label, *, order: int, visible: Callable[[Any], bool], badge=None, public: bool = False):
    MENU[endpoint] = MenuEntry(endpoint, label, order, visible, badge, public)


def panel(name: str, template: str, *, order: int, visible: Callable[[Any], bool], context: Callable[[Any], dict]):
    PANELS[name] = HomePanel(name, template, order, visible, context)


def template_global(name: str, value) -> None:
    TEMPLATE_GLOBALS[name] = value


def predicates(module) -> None:
    """Every `can_<verb>` predicate of a permissions module, for templates to ask."""
    for name in dir(module):
        if name.startswith("can_"):
            TEMPLATE_GLOBALS[name] = getattr(module, name)


def navigation(user) -> list[tuple[str, Any, str, int]]:
    """(endpoint, label, url, badge) of the entries the person may use, in menu order."""
    if not user.is_authenticated:
        return []
    entries = sorted((e for e in MENU.values() if not e.public), key=lambda e: e.order)
    return [(e.endpoint, e.label, url_for(e.endpoint), e.badge(user) if e.badge else 0)
            for e in entries if e.visible(user)]


def public_navigation() -> list[tuple[str, Any, str]]:
    """What residents and the press can use without an account."""
    entries = sorted((e for e in MENU.values() if e.public), key=lambda e: e.order)
    return [(e.endpoint, e.label, url_for(e.endpoint)) for e in entries]


def home_panels(user) -> list[tuple[str, dict]]:
    """(template, context) of the home-page panels for this person, in order."""
    return [(p.template, p.context(user)) for p in sorted(PANELS.values(), key=lambda p: p.order) if p.visible(user)]
