"""The organization's status machine as a table: every change from every status, who may make it,
the predicates templates ask, and which rows each role's lists hold."""
from __future__ import annotations

import pytest

from svcproc.accounts.models import User
from svcproc.accounts.permissions import can_view_user
from svcproc.core.errors import DomainError, PermissionDenied
from svcproc.core.permissions import Role
from svcproc.core.scoping import SCOPES, visible_ids
from svcproc.registry import permissions as perms
from svcproc.registry.models import Organization, OrgStatus, SocialWorker
from svcproc.registry.workflow import ORGANIZATION, set_organization_status
from tests.builders.accounts import user_for_role
from tests.builders.registry import OrganizationFactory, SocialWorkerFactory
from tests.helpers import audit_events, events_after, last_seq, unchanged

S = OrgStatus
PREDICATE = {S.ACTIVE: perms.can_reinstate_organization, S.SUSPENDED: perms.can_suspend_organization,
             S.DISHONEST: perms.can_list_organization_dishonest}


def _org_in(status: OrgStatus) -> Organization:
    return OrganizationFactory(status=status, status_reason="" if status == S.ACTIVE else "年检不合格")


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_change_of_status(clock, source, target):
    org, admin = _org_in(source), user_for_role(Role.ADMIN)
    reason = "" if target == S.ACTIVE else "列入严重失信名单"
    if source == target:
        with unchanged(org), pytest.raises(DomainError):
            set_organization_status(admin, org, target, reason)
        return
    later = clock.advance(days=1)
    seq = last_seq()

    set_organization_status(admin, org, target, reason)

    assert (org.status, org.status_reason, org.status_changed_at) == (target, reason, later)
    [event] = events_after(seq)
    assert event.action == f"organization.status.{target.value}"
    assert event.changes["status"] == [source.value, target.value]


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.ADMIN, Role.PROCUREMENT)])
def test_only_the_bureau_changes_a_status(role):
    org = _org_in(S.ACTIVE)
    actor = user_for_role(role, organization=org if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER) else None)

    with unchanged(org), pytest.raises(PermissionDenied):
        set_organization_status(actor, org, S.SUSPENDED, "自查")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", list(S))
def test_predicates_ask_role_and_state(role, status):
    org = _org_in(status)
    user = user_for_role(role)
    bureau = role in (Role.ADMIN, Role.PROCUREMENT)

    for target, predicate in PREDICATE.items():
        assert predicate(user, org) == (bureau and target != status)
    assert perms.can_change_org_status(user, org) == bureau


def test_the_machine_leads_to_every_status_from_every_other():
    for status in S:
        assert sorted(ORGANIZATION.verbs_from(status)) == sorted(
            verb for verb, step in ORGANIZATION.transitions.items() if step.target != status)
    assert audit_events() == []


@pytest.mark.parametrize("role", list(Role))
def test_lists_hold_what_the_predicates_allow(role):
    own, other = OrganizationFactory(), OrganizationFactory()
    workers = [SocialWorkerFactory(organization=own), SocialWorkerFactory(organization=other)]
    user = user_for_role(role, organization=own if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER) else None)
    rows = {Organization: [own, other], SocialWorker: workers, User: [user, user_for_role(Role.EXPERT)]}
    predicates = {Organization: perms.can_view_organization, SocialWorker: perms.can_view_worker,
                  User: can_view_user}

    for model, objects in rows.items():
        assert SCOPES[model.__name__].can_view is predicates[model]
        visible = visible_ids(user, model)
        assert {o.id for o in objects if predicates[model](user, o)} == {o.id for o in objects} & visible
