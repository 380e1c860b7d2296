"""Pages for bureau staff, bidders and experts along a tender's life, from needs to the award.

One blueprint, `bp`, its routes split by page family: needs, plans, tenders (lists, the tender
page, drafting and transitions), questions, panel (experts, declarations and scoring), bids and
objections. Every view runs in the request's one transaction (core.flow): it never commits.
"""
from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ...core import nav
from .. import permissions as perms

bp = Blueprint("procurement", __name__, url_prefix="/procurement")

nav.menu("procurement.needs", _l("Needs"), order=10, visible=perms.can_read_procurement)
nav.menu("procurement.plans", _l("Plans"), order=11, visible=perms.can_read_procurement)
nav.menu("procurement.tenders", _l("Tenders"), order=12, visible=perms.can_list_tenders)
nav.menu("procurement.experts", _l("Experts"), order=13, visible=perms.can_view_experts)
nav.predicates(perms)

# The page families register their routes on `bp`.
from . import bids, experts, guarantees, needs, objections, panel, plans, questions, tenders  # noqa: E402,F401
