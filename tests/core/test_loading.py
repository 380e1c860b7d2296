"""`hand_out`: collections read by a page's own statements, given to their parents as if loaded."""
from __future__ import annotations

import sqlalchemy as sa

from svcproc.contracts.models import ContractStatus, Milestone
from svcproc.core.loading import hand_out, point_to
from svcproc.extensions import db
from tests.builders.contracts import contract_in

THREE = ((30, "30"), (60, "30"), ("end", "40"))


def test_each_parent_gets_its_own_children_in_the_order_read_and_reading_them_asks_nothing(clock, count_queries):
    first = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    second = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    ids = {first.id: [m.id for m in first.milestones], second.id: [m.id for m in second.milestones]}
    db.session.expunge_all()
    parents = db.session.execute(sa.select(type(first)).where(type(first).id.in_(list(ids)))).scalars().all()
    children = db.session.execute(sa.select(Milestone).where(Milestone.contract_id.in_(list(ids)))
                                  .order_by(Milestone.id.desc())).scalars().all()

    hand_out(parents, "milestones", children, "contract_id")

    with count_queries() as counted:
        handed = {p.id: [m.id for m in p.milestones] for p in parents}
    assert counted.count == 0
    assert handed == {pid: sorted(mids, reverse=True) for pid, mids in ids.items()}
    assert not db.session.dirty and not any(db.session.is_modified(p) for p in parents)


def test_a_child_of_none_of_the_parents_is_left_out_and_a_parent_without_children_gets_none(clock):
    busy = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    other = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    db.session.expunge_all()
    parent = db.session.get(type(busy), busy.id)
    empty = db.session.get(type(other), other.id)
    strays = db.session.execute(sa.select(Milestone).where(Milestone.contract_id == other.id)).scalars().all()

    hand_out([parent, empty], "milestones", [], "contract_id")
    assert parent.milestones == [] and empty.milestones == []

    hand_out([parent], "milestones", strays, "contract_id")
    assert parent.milestones == []


def test_each_child_points_to_its_own_target_and_reading_it_asks_nothing(clock, count_queries):
    first = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    second = contract_in(ContractStatus.IN_PROGRESS, clock, schedule=THREE).contract
    owner = {m.id: first.id for m in first.milestones} | {m.id: second.id for m in second.milestones}
    db.session.expunge_all()
    milestones = db.session.execute(sa.select(Milestone).where(Milestone.id.in_(list(owner)))).scalars().all()
    contracts = db.session.execute(sa.select(type(first)).where(type(first).id == first.id)).scalars().all()

    point_to(milestones, "contract", contracts, "contract_id")

    with count_queries() as counted:
        pointed = {m.id: (m.contract.id if m.contract is not None else None) for m in milestones}
    assert counted.count == 0
    assert pointed == {mid: (cid if cid == first.id else None) for mid, cid in owner.items()}
    assert not db.session.dirty
