"""Who sees which rows of service delivery: each list's query (visible_*) and the page's predicate
(can_view_*) agree, for every person of the world and every row, including another organization's."""
from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa

from svcproc.contracts.models import Contract
from svcproc.core import scoping
from svcproc.delivery.models import Beneficiary, RedFlag, ServiceActivity
from svcproc.extensions import db

pytestmark = pytest.mark.usefixtures("shared_connection")

MODELS = [Contract, Beneficiary, ServiceActivity, RedFlag]


@pytest.fixture
def rows(world):
    """Entries on both organizations' contracts, one pair of them overlapping (a red flag)."""
    world.record()
    world.record(start_time=time(9, 30), end_time=time(11, 0), topic="重叠的活动")
    other = world.users["other_manager"]
    world.record(actor=other, contract=world.other_contract, workers=[world.workers["other_worker"]],
                 participants=[world.people["other_only"]])
    db.session.flush()
    assert db.session.execute(sa.select(sa.func.count()).select_from(RedFlag)).scalar_one() >= 1
    return world


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_list_holds_exactly_what_the_predicate_shows(rows, model):
    scope = scoping.SCOPES[model.__name__]
    everything = db.session.execute(sa.select(model)).unique().scalars().all()
    assert everything
    sizes = set()
    for who, user in rows.users.items():
        shown = {obj.id for obj in everything if scope.can_view(user, obj)}
        assert scoping.visible_ids(user, model) == shown, who
        sizes.add(len(shown))
    assert len(everything) in sizes and len(sizes) > 1  # someone sees all, someone less
