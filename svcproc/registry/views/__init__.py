"""Pages for areas, organizations and social workers: lists that filter as you type, forms.

One blueprint; its pages live by family in areas.py, organizations.py and workers.py."""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import lazy_gettext as _nl

from ...core import nav
from .. import permissions as perms
from .. import ratings
from ..forms import (AREA_LEVEL_LABELS, CERTIFICATION_LABELS, ORG_KIND_LABELS, RATING_LABELS,
                    REGISTRATION_TYPE_LABELS, SCALE_LABELS, STATUS_LABELS)

bp = Blueprint("registry", __name__, url_prefix="/registry")
nav.menu("registry.organizations", _nl("Organizations"), order=50, visible=perms.can_view_registry)
nav.menu("registry.workers", _nl("Social workers"), order=51, visible=perms.can_view_registry)
nav.menu("registry.areas", _nl("Areas"), order=52, visible=perms.can_view_registry)
nav.menu("registry.working_days", _nl("Working days"), order=53, visible=perms.can_view_calendar)
nav.predicates(perms)


LABELS = {
    "area_levels": AREA_LEVEL_LABELS, "org_kinds": ORG_KIND_LABELS, "ratings": RATING_LABELS,
    "statuses": STATUS_LABELS, "registration_types": REGISTRATION_TYPE_LABELS,
    "certifications": CERTIFICATION_LABELS, "org_scales": SCALE_LABELS,
}


@bp.context_processor
def _labels():
    return {**LABELS, "rating_state": ratings.rating_state, "rating_years": ratings.valid_years}


def _typed(field) -> str:
    """A name as the services store it (for the message shown once it is saved)."""
    return (field.data or "").strip()


def _enum_arg(name: str, enum_cls):
    value = request.args.get(name, "")
    return enum_cls(value) if value in {m.value for m in enum_cls} else None


# --- areas ------------------------------------------------------------------------------------


from . import areas, calendar, organizations, workers  # noqa: E402,F401  (their routes join the blueprint)
