"""What the delivery pages share: the contract they sit under, the community choices, a safe `next`."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, request
from flask_login import current_user

from ...contracts.models import Contract
from ...contracts.permissions import can_view_contract
from ...core import versions
from ...core.permissions import require
from ...core.web import is_local_url
from ...extensions import db
from ...procurement.models import Tender, plan_community
from ...registry.models import Area, AreaLevel
from .. import permissions as perms


# The district's areas change a few times a year; the community choices of the forms and filters
# are kept by each process under the areas' version (core/versions.py) instead of read on every page.
AREAS = "areas"
versions.watch(AREAS, Area, versions.EVERY_COLUMN)
_COMMUNITIES = versions.Kept(AREAS, size=1)


def communities():
    """(id, name) of every community, for the forms' and filters' choices: as plain rows (a page has
    two lists of them; nothing else of an area is needed), kept until an area changes."""
    if "communities" not in g:
        g.communities = _COMMUNITIES.get("communities", lambda: tuple(db.session.execute(
            sa.select(Area.id, Area.name).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).all()))
    return g.communities


_CONTRACT_COMMUNITIES = (sa.select(Area.id, Area.name).join(plan_community, plan_community.c.area_id == Area.id)
                         .join(Tender, Tender.plan_id == plan_community.c.plan_id)
                         .where(Tender.id == sa.bindparam("tender")).order_by(Area.code))


def contract_communities(contract: Contract):
    """(id, name) of the communities the contract's project serves (its plan's), for the entry form."""
    return db.session.execute(_CONTRACT_COMMUNITIES, {"tender": contract.tender_id}).all()


def contract_with_own_worker_or_404(contract_id: int, options: tuple = ()) -> Contract:
    """The contract the login may open, read with the login's own worker row if it is among the
    contract's workers (what `can_record_activity` asks), in one statement. `options`: what else
    to load with the contract, a tuple made once."""
    contract, _own = perms.contract_with_named_workers(contract_id, (), current_user, options)
    if contract is None:
        abort(404)
    require(can_view_contract(current_user, contract))
    return contract


def contract_or_404(contract_id: int, options=()) -> Contract:
    contract = db.get_or_404(Contract, contract_id, options=list(options))
    require(can_view_contract(current_user, contract))
    return contract


def local_or(default: str) -> str:
    """The form's `next` when it stays on this site, else the default."""
    target = request.form.get("next", "")
    return target if is_local_url(target) else default
