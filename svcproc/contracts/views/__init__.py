"""Contract pages: from the award to the contract, its schedule, deliverables, payments and reminders.

One blueprint, its routes in a module per page family: the contract list, form and page
(`contracts`), a milestone's deliverables, review and payments (`milestones`), reminders and the
public notices (`notices`).
"""
from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ...core import nav
from ...procurement.labels import TARGET_LABELS
from .. import labels
from .. import permissions as perms
from ..reminders import badge as reminder_badge

bp = Blueprint("contracts", __name__)

nav.menu("contracts.contracts", _l("Contracts"), order=20, visible=perms.can_list_contracts)
nav.menu("contracts.payments", _l("Payments"), order=21, visible=perms.can_list_contracts)
nav.menu("contracts.reminders", _l("Reminders"), order=22, visible=perms.can_list_contracts, badge=reminder_badge)
nav.predicates(perms)
nav.template_global("field_label", lambda name: labels.AMENDABLE_LABELS.get(name) or TARGET_LABELS.get(name) or name)


@bp.app_context_processor
def _labels():
    return {"contract_status_labels": labels.CONTRACT_STATUS_LABELS,
            "milestone_status_labels": labels.MILESTONE_STATUS_LABELS,
            "deliverable_kind_labels": labels.DELIVERABLE_KIND_LABELS, "art23_labels": labels.ART23_LABELS}


from . import bonds, contracts, milestones, notices, payments  # noqa: E402,F401  (the routes register on `bp`)
