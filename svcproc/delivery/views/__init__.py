"""Pages for the beneficiary register, service logs, ledger imports, progress and red flags.

One blueprint, its routes in a module per page family: `beneficiaries` (the register and the
participant picker), `activities` (a contract's service log, its entries, groups and workers),
`imports` (ledger files and their jobs), `progress`, `flags` and `privacy` (withdrawing consent,
who read a record, a person's own data for them).
"""
from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ...core import nav
from .. import labels
from .. import permissions as perms

bp = Blueprint("delivery", __name__)

nav.menu("delivery.beneficiaries", _l("Beneficiaries"), order=30, visible=perms.can_list_beneficiaries)
nav.menu("delivery.red_flags", _l("Red flags"), order=31, visible=perms.can_view_red_flags)
nav.predicates(perms)


@bp.app_context_processor
def _labels():
    return {"activity_type_labels": labels.ACTIVITY_TYPE_LABELS, "gender_labels": labels.GENDER_LABELS,
            "beneficiary_category_labels": labels.CATEGORY_LABELS, "consent_by_labels": labels.CONSENT_BY_LABELS,
            "consent_method_labels": labels.CONSENT_METHOD_LABELS, "import_status_labels": labels.IMPORT_STATUS_LABELS,
            "red_flag_labels": labels.RED_FLAG_LABELS, "person_status_labels": labels.PERSON_STATUS_LABELS,
            "view_kind_labels": labels.VIEW_KIND_LABELS, "import_state": labels.import_state}


@bp.app_template_filter("category_label")
def _category_label(code: str) -> str:
    return str(labels.CATEGORY_LABELS.get(code, code))


@bp.app_template_filter("worker_names")
def _worker_names(activity) -> str:
    """An entry's workers, namesakes on its contract told apart by number and masked phone."""
    workers = {w.id: w for w in list(activity.contract.workers) + list(activity.workers)}
    names = labels.worker_labels(workers.values())
    return "、".join(names[w.id] for w in activity.workers)


from .. import tasks  # noqa: E402,F401  (registers the ledger jobs)
from . import activities, beneficiaries, flags, imports, privacy, progress  # noqa: E402,F401  (routes on `bp`)
