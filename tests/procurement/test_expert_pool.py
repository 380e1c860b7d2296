"""The expert pool pages: categories and ties to organizations kept by procurement staff, audited,
read by bureau staff and auditors; refusals that change nothing; bounded queries."""
from __future__ import annotations

import pytest

from svcproc.core.errors import PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.procurement import experts as expert_pool
from svcproc.procurement.models import AffiliationKind, ExpertAffiliation, ServiceCategory
from tests.builders.accounts import UserFactory
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login, unchanged


def test_staff_record_an_experts_categories_and_ties_through_the_page(client, staff):
    expert, org = UserFactory(role=Role.EXPERT), OrganizationFactory()
    login(client, staff)

    client.post(f"/procurement/experts/{expert.id}/categories", data={"categories": ["elderly", "children"]})
    response = client.post(f"/procurement/experts/{expert.id}/ties",
                           data={"organization": str(org.id), "kind": "former_staff", "note": "2024年离职"})

    assert response.status_code == 303
    assert expert_pool.categories_of(expert.id) == [ServiceCategory.CHILDREN, ServiceCategory.ELDERLY]
    assert expert_pool.tied_organization_ids(expert) == {org.id}
    assert audit_events("expert.categories_set")[-1].changes["categories"] == [[], ["children", "elderly"]]
    assert audit_events("expert.affiliation_added")[-1].changes["kind"] == [None, "former_staff"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR, Role.EXPERT, Role.ORG_MANAGER])
def test_only_procurement_staff_keep_the_pool(role):
    actor, expert, org = UserFactory(role=role), UserFactory(role=Role.EXPERT), OrganizationFactory()

    with unchanged(), pytest.raises(PermissionDenied):
        expert_pool.add_affiliation(actor, expert, org, AffiliationKind.STAFF)
    with unchanged(), pytest.raises(PermissionDenied):
        expert_pool.set_categories(actor, expert, [ServiceCategory.ELDERLY])
    assert expert_pool.categories_of(expert.id) == []


def test_a_tie_is_recorded_once_and_only_for_experts(staff):
    expert, org = UserFactory(role=Role.EXPERT), OrganizationFactory()
    expert_pool.add_affiliation(staff, expert, org, AffiliationKind.STAFF)

    with unchanged(), pytest.raises(ValidationError):
        expert_pool.add_affiliation(staff, expert, org, AffiliationKind.STAFF)
    with unchanged(), pytest.raises(ValidationError):
        expert_pool.add_affiliation(staff, UserFactory(role=Role.EVALUATOR), org, AffiliationKind.STAFF)
    assert count(ExpertAffiliation) == 1


def test_removing_a_tie_is_audited(client, staff):
    expert, org = UserFactory(role=Role.EXPERT), OrganizationFactory(name="锦江区新星社会工作服务中心")
    tie = expert_pool.add_affiliation(staff, expert, org, AffiliationKind.RELATION)
    login(client, staff)

    response = client.post(f"/procurement/experts/ties/{tie.id}/remove")

    assert response.status_code == 303 and count(ExpertAffiliation) == 0
    assert audit_events("expert.affiliation_removed")[-1].changes["organization"] == [org.name, None]


@pytest.mark.parametrize("path", ["/procurement/experts", "/procurement/experts/{id}"])
def test_the_pool_pages_run_a_bounded_number_of_queries(client, staff, count_queries, path):
    def grow(n):
        experts = [UserFactory(role=Role.EXPERT) for _ in range(n)]
        for e in experts:
            expert_pool.set_categories(staff, e, [ServiceCategory.ELDERLY, ServiceCategory.YOUTH])
            expert_pool.add_affiliation(staff, e, OrganizationFactory(), AffiliationKind.STAFF)
            expert_pool.add_affiliation(staff, e, OrganizationFactory(), AffiliationKind.RELATION)
        return experts[0]

    login(client, staff)
    first = grow(1)
    client.get(path.format(id=first.id))  # the session's first page after the login loads a little more
    with count_queries() as few:
        assert client.get(path.format(id=first.id)).status_code == 200
    grow(6)
    with count_queries() as many:
        assert client.get(path.format(id=first.id)).status_code == 200

    assert many.count == few.count
