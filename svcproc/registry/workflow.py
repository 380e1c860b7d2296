"""The organization's status (active, suspended, on the dishonesty list): its transitions and the
one function that changes it, through core.workflow's door."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.errors import ValidationError
from ..core.workflow import StateMachine, Transition, allow, register
from . import permissions as perms
from .forms import STATUS_LABELS
from .models import Organization, OrgStatus

S = OrgStatus

ORGANIZATION = register(StateMachine("organization", {
    "reinstate": Transition({S.SUSPENDED, S.DISHONEST}, S.ACTIVE, "organization.status.active"),
    "suspend": Transition({S.ACTIVE, S.DISHONEST}, S.SUSPENDED, "organization.status.suspended"),
    "list_dishonest": Transition({S.ACTIVE, S.SUSPENDED}, S.DISHONEST, "organization.status.dishonest"),
}, labels=lambda: STATUS_LABELS, refusal=_l("The organization already has this status."), reason=None))

# The verb that leads to each status.
VERB_TO = {step.target: verb for verb, step in ORGANIZATION.transitions.items()}


def set_organization_status(actor, org: Organization, status: OrgStatus, reason: str) -> Organization:
    """Suspend, list as dishonest or reinstate; every status but active needs its reason."""
    status = OrgStatus(status)
    reason = (reason or "").strip()
    verb = VERB_TO[status]
    allow(actor, perms.can_set_org_status(actor, org))
    ORGANIZATION.check(verb, org)
    if status != OrgStatus.ACTIVE and not reason:
        raise ValidationError(_("Give the reason for suspending or listing the organization."), "reason")
    before = org.status_reason
    # The reason replaces the last one, also when reinstating clears it.
    org.status_reason = reason
    changes = {"status_reason": [before, reason]} if before != reason else {}
    ORGANIZATION.move(actor, org, verb, changes=changes)
    return org
