"""What every template can use: permission predicates, navigation, vendor scripts, locale."""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, g, url_for
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user

from ..accounts import permissions as account_perms
from ..audit import permissions as audit_perms
from ..contracts import permissions as contract_perms
from ..delivery import permissions as delivery_perms
from ..evaluations import permissions as evaluation_perms
from ..procurement import permissions as procurement_perms
from ..registry import permissions as registry_perms
from ..reports import permissions as report_perms
from .i18n import locale_code
from .permissions import Role

PREDICATE_MODULES = (account_perms, audit_perms, contract_perms, delivery_perms, evaluation_perms, procurement_perms,
                     registry_perms, report_perms)


@lru_cache(maxsize=8)
def _sri(path: str) -> str | None:
    file = Path(path)
    if not file.exists():
        return None
    digest = hashlib.sha384(file.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def public_navigation() -> list[tuple[str, str, str]]:
    """What residents and the press can use without an account."""
    return [("public.notices", _l("Public notices"), url_for("public.notices")),
            ("public.need_new", _l("Raise a community need"), url_for("public.need_new")),
            ("public.need_track", _l("Follow a need"), url_for("public.need_track"))]


def navigation(user) -> list[tuple[str, str, str]]:
    """(endpoint, label, url) entries the person may use, in menu order."""
    if not user.is_authenticated:
        return []
    items = [("main.home", _l("Home"), url_for("main.home"))]
    if report_perms.can_use_audit_desk(user):
        items.append(("reports.desk", _l("Auditor's desk"), url_for("reports.desk")))
    if procurement_perms.can_read_procurement(user):
        items.append(("procurement.needs", _l("Needs"), url_for("procurement.needs")))
        items.append(("procurement.plans", _l("Plans"), url_for("procurement.plans")))
    if procurement_perms.can_read_procurement(user) or user.role in (Role.ORG_MANAGER, Role.EXPERT):
        items.append(("procurement.tenders", _l("Tenders"), url_for("procurement.tenders")))
    if contract_perms.can_list_contracts(user):
        items.append(("contracts.contracts", _l("Contracts"), url_for("contracts.contracts")))
        items.append(("contracts.reminders", _l("Reminders"), url_for("contracts.reminders")))
    if delivery_perms.can_list_beneficiaries(user):
        items.append(("delivery.beneficiaries", _l("Beneficiaries"), url_for("delivery.beneficiaries")))
    if delivery_perms.can_view_red_flags(user):
        items.append(("delivery.red_flags", _l("Red flags"), url_for("delivery.red_flags")))
    if evaluation_perms.can_list_evaluations(user):
        items.append(("evaluations.rounds", _l("Evaluations"), url_for("evaluations.rounds")))
    if evaluation_perms.can_list_rectification(user):
        items.append(("evaluations.rectification", _l("Rectification"), url_for("evaluations.rectification")))
    if evaluation_perms.can_view_templates(user):
        items.append(("evaluations.templates", _l("Indicator templates"), url_for("evaluations.templates")))
    if registry_perms.can_view_registry(user):
        items.append(("registry.organizations", _l("Organizations"), url_for("registry.organizations")))
        items.append(("registry.workers", _l("Social workers"), url_for("registry.workers")))
        items.append(("registry.areas", _l("Areas"), url_for("registry.areas")))
    if account_perms.can_manage_users(user):
        items.append(("accounts.users", _l("Users"), url_for("accounts.users")))
    if audit_perms.can_view_audit(user):
        items.append(("audit.events", _l("Audit trail"), url_for("audit.events")))
    return items


def _reminder_count() -> int:
    """The menu badge: milestones overdue, due within a week, or waiting for acceptance."""
    if not current_user.is_authenticated or not contract_perms.can_list_contracts(current_user):
        return 0
    if "reminder_count" not in g:
        from ..contracts.reminders import badge_count
        from ..contracts.workflow import today

        g.reminder_count = badge_count(current_user, today())
    return g.reminder_count


def init_app(app) -> None:
    for module in PREDICATE_MODULES:
        for name in dir(module):
            if name.startswith("can_"):
                app.jinja_env.globals[name] = getattr(module, name)
    app.jinja_env.globals["Role"] = Role
    from ..accounts.forms import ROLE_LABELS

    from . import clock

    app.jinja_env.globals["now_utc"] = clock.now
    # (value, label) pairs for a select, from a {enum member: label} mapping.
    app.jinja_env.globals["options"] = lambda labels: [(getattr(k, "value", k), str(v)) for k, v in labels.items()]
    from ..contracts.labels import AMENDABLE_LABELS
    from ..procurement.labels import TARGET_LABELS

    app.jinja_env.globals["field_label"] = lambda name: (AMENDABLE_LABELS.get(name) or TARGET_LABELS.get(name)
                                                         or name)
    app.jinja_env.globals["role_label"] = lambda role: ROLE_LABELS.get(Role(role), role)

    @app.context_processor
    def _globals():
        vendor = Path(current_app.static_folder) / "vendor" / "htmx.min.js"
        return {
            "nav_items": navigation(current_user),
            "public_nav_items": public_navigation(),
            "reminder_count": _reminder_count(),
            "current_locale": locale_code(get_locale()),
            "htmx_cdn_url": current_app.config.get("HTMX_CDN_URL"),
            "htmx_sri": _sri(str(vendor)),
            "csp_nonce": getattr(g, "csp_nonce", ""),
            "app_version": current_app.config["VERSION"],
        }
