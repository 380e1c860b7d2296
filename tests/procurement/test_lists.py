"""The procurement list pages answer with a bounded number of SQL queries, however many rows they show."""
from __future__ import annotations

import pytest

from svcproc.core.permissions import Role
from svcproc.procurement import workflow
from tests.builders.accounts import UserFactory
from tests.builders.procurement import make_plan, new_tender, submit_need, tender_in
from tests.builders.registry import CommunityFactory, OrganizationFactory
from tests.helpers import login

QUERY_BOUND = 8


def _needs(n, clock, staff):
    community = CommunityFactory()
    for i in range(n):
        submit_need(community, description=f"第{i}条需求：独居老人希望有人定期上门探访。")


def _plans(n, clock, staff):
    community = CommunityFactory()
    for i in range(n):
        plan = make_plan(staff, communities=[community], title=f"项目{i:03d}")
        new_tender(staff, plan)


def _tenders(n, clock, staff):
    """n published tenders without bids and one awarded tender (whose notice names the winner)."""
    plan = make_plan(staff, budget_fen=10**12)
    for _ in range(n):
        workflow.publish_tender(staff, new_tender(staff, plan, ceiling_fen=1_000_000))
    start = clock.now
    tender_in("awarded", clock, staff=staff)
    clock.set(start)


LISTS = {
    "needs": ("/procurement/needs", Role.PROCUREMENT, _needs),
    "plans": ("/procurement/plans", Role.AUDITOR, _plans),
    "tenders-staff": ("/procurement/tenders", Role.PROCUREMENT, _tenders),
    "tenders-bidder": ("/procurement/tenders", Role.ORG_MANAGER, _tenders),
    "notices": ("/notices", None, _tenders),
    "awards": ("/notices?kind=awards", None, _tenders),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_queries_do_not_grow_with_the_rows(client, clock, count_queries, staff, name):
    url, role, make = LISTS[name]
    if role is not None:
        login(client, UserFactory(role=role, organization=OrganizationFactory() if role == Role.ORG_MANAGER else None))
    make(2, clock, staff)
    client.get(url)  # the menu's badge is counted once per change of contracts, then kept
    with count_queries() as few:
        assert client.get(url).status_code == 200
    make(10, clock, staff)
    client.get(url)

    with count_queries() as many:
        response = client.get(url)

    assert response.status_code == 200
    assert many.count == few.count, "\n".join(many.statements)
    assert many.count <= QUERY_BOUND, "\n".join(many.statements)
