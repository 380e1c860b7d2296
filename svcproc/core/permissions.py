"""The one permission table (role -> permissions) and the `require` door every view goes through.

Domain packages build their `can_<verb>(user, obj)` predicates on `has_permission`; a template
shows a button only where the same predicate the view checks says yes.
"""
from __future__ import annotations

import enum

from .errors import PermissionDenied


class Role(str, enum.Enum):
    ADMIN = "admin"
    PROCUREMENT = "procurement"
    EXPERT = "expert"
    ORG_MANAGER = "org_manager"
    SOCIAL_WORKER = "social_worker"
    EVALUATOR = "evaluator"
    AUDITOR = "auditor"


# Roles whose accounts belong to exactly one (service) organization.
ORG_ROLES = frozenset({Role.ORG_MANAGER, Role.SOCIAL_WORKER})
# Bureau staff: the district civil affairs bureau's own people.
BUREAU_ROLES = frozenset({Role.ADMIN, Role.PROCUREMENT})

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({
        "users.manage",
        "areas.manage",
        "orgs.manage",
        "orgs.set_status",
        "workers.manage",
        "workers.read_all",
        "registry.read",
        "audit.read",
        "procurement.read",
        "templates.manage",
        "evaluations.read",
        "evaluations.reopen",
        "reports.read",
        "reports.generate",
    }),
    Role.PROCUREMENT: frozenset({
        "procurement.read",
        "needs.manage",
        "plans.manage",
        "tenders.manage",
        "contracts.manage",
        "payments.record",
        "flags.explain",
        "orgs.manage",
        "orgs.set_status",
        "workers.manage",
        "workers.read_all",
        "registry.read",
        "evaluations.read",
        "evaluations.manage",
        "rectification.review",
        "reports.read",
        "reports.generate",
        "monitoring.read",
        "monitoring.answer",
    }),
    Role.EXPERT: frozenset({
        "registry.read",
        "tenders.score",
    }),
    Role.ORG_MANAGER: frozenset({
        "registry.read",
        "orgs.edit_own",
        "workers.manage_own",
        "tenders.bid",
        "contracts.deliver",
        "delivery.manage",
        "delivery.record",
        "beneficiaries.reveal",
        "beneficiaries.export",
        "beneficiaries.view_log",
        "flags.explain",
        "evaluations.respond",
    }),
    Role.SOCIAL_WORKER: frozenset({
        "registry.read",
        "delivery.record",
    }),
    Role.EVALUATOR: frozenset({
        "registry.read",
        "evaluations.score",
    }),
    Role.AUDITOR: frozenset({
        "registry.read",
        "workers.read_all",
        "audit.read",
        "procurement.read",
        "evaluations.read",
        "reports.read",
        "reports.generate",
        "beneficiaries.view_log",
        "monitoring.read",
        "monitoring.open",
    }),
}


def has_permission(user, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permission in PERMISSIONS.get(Role(user.role), frozenset())


def is_system(actor) -> bool:
    """No person: the command line or the demo loader acting for the bureau."""
    return actor is None


def require(allowed: bool) -> None:
    """Refuse the request (403) unless the predicate said yes."""
    if not allowed:
        raise PermissionDenied()
