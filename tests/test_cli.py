"""`svcproc create-user` and `svcproc demo`, run through Flask's CLI test runner."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.accounts import passwords
from svcproc.accounts.models import User
from svcproc.audit.verification import verify_chain
from svcproc.core.permissions import Role
from svcproc.demo import USERS
from svcproc.evaluations.models import (EvaluationRound, ItemStatus, RectificationItem, RoundEvaluator, RoundKind,
                                        RoundStatus)
from svcproc.extensions import db
from svcproc.registry import creditcode
from svcproc.registry.models import Area, AreaLevel, Organization, OrgKind, OrgStatus, SocialWorker
from tests.builders.accounts import UserFactory
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login

PASSWORD = "Cli-Passw0rd-1"
DEMO_PASSWORD = "Demo-Passw0rd-9"


def _user(username: str) -> User | None:
    return db.session.execute(sa.select(User).where(User.username == username)).unique().scalar_one_or_none()


# --- create-user --------------------------------------------------------------------------------


def test_create_user(cli):
    result = cli("create-user", "zhangwei", "--role", "procurement", "--password", PASSWORD, "--full-name", "张伟")

    assert result.exit_code == 0, result.output
    assert "zhangwei" in result.output
    user = _user("zhangwei")
    assert (user.role, user.full_name, user.organization_id) == (Role.PROCUREMENT, "张伟", None)
    assert user.must_change_password is True
    assert passwords.verify_password(user.password_hash, PASSWORD)
    [event] = audit_events("user.created")
    assert event.actor_id is None and event.object_id == str(user.id)


def test_create_user_in_an_organization_by_credit_code(cli):
    org = OrganizationFactory()

    result = cli("create-user", "manager1", "--role", "org_manager", "--org", org.credit_code.lower(),
                 "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert _user("manager1").organization_id == org.id


def test_create_user_with_an_unknown_organization_is_refused(cli):
    unknown = creditcode.make("52", "510107", "T9999999")

    result = cli("create-user", "manager1", "--role", "org_manager", "--org", unknown, "--password", PASSWORD)

    assert result.exit_code != 0
    assert unknown in result.output
    assert _user("manager1") is None
    assert audit_events() == []


@pytest.mark.parametrize("args", [
    pytest.param(["--role", "org_manager"], id="org-manager-without-organization"),
    pytest.param(["--role", "admin", "--password", "short"], id="weak-password"),
    pytest.param(["--role", "wizard"], id="unknown-role"),
])
def test_create_user_refusals_create_nothing(cli, args):
    if "--password" not in args:
        args = args + ["--password", PASSWORD]
    users_before = count(User)

    result = cli("create-user", "someone", *args)

    assert result.exit_code != 0
    assert count(User) == users_before
    assert audit_events() == []


def test_create_user_with_a_taken_name_is_refused(cli):
    UserFactory(username="taken")

    result = cli("create-user", "taken", "--role", "admin", "--password", PASSWORD)

    assert result.exit_code != 0
    assert count(User, User.username == "taken") == 1


def test_a_created_user_can_log_in(cli, client):
    cli("create-user", "zhangwei", "--role", "auditor", "--password", PASSWORD)

    assert login(client, "zhangwei", PASSWORD).status_code == 303


# --- demo ---------------------------------------------------------------------------------------


def test_demo_loads_a_district(cli):
    result = cli("demo", "--password", DEMO_PASSWORD)

    assert result.exit_code == 0, result.output
    assert count(Area, Area.level == AreaLevel.DISTRICT) == 1
    assert count(Area, Area.level == AreaLevel.STREET) == 3
    assert count(Area, Area.level == AreaLevel.COMMUNITY) >= 10
    service_orgs = db.session.execute(
        sa.select(Organization).where(Organization.kind == OrgKind.SERVICE)).unique().scalars().all()
    assert len(service_orgs) == 6
    for org in service_orgs:
        assert creditcode.validate(org.credit_code) == org.credit_code
    assert sum(org.status == OrgStatus.SUSPENDED for org in service_orgs) == 1
    assert count(SocialWorker) == 20
    roles = set(db.session.execute(sa.select(User.role)).scalars())
    assert roles == set(Role)
    for username, *_ in USERS:
        assert username in result.output
    assert verify_chain().ok


def test_demo_holds_finished_and_running_evaluations(cli):
    result = cli("demo", "--password", DEMO_PASSWORD)

    assert result.exit_code == 0, result.output
    rounds = db.session.execute(sa.select(EvaluationRound)).unique().scalars().all()
    final = next(r for r in rounds if r.kind == RoundKind.FINAL and r.status == RoundStatus.FINALIZED)
    assert final.grade in {"excellent", "good", "pass", "fail"} and final.total is not None
    assert [p.name for p in final.parties] and sum(p.weight for p in final.parties) == 100
    assert len({e.party_id for e in final.evaluators}) == 3
    # Output leaves were computed from real service logs, the satisfaction leaf from two surveys.
    assert any(Decimal(v["actual"]) > 0 for v in final.computed.values() if v["kind"] == "output")
    assert len([s for s in final.surveys if s.leaf_key == "satisfaction.beneficiaries"]) == 2
    running = next(r for r in rounds if r.status == RoundStatus.SCORING)
    members = running.evaluators
    assert any(m.submitted_at is not None for m in members)
    assert any(m.submitted_at is None and m.scores for m in members)  # the scoring page is in use
    assert running.evidence
    items = db.session.execute(sa.select(RectificationItem)).unique().scalars().all()
    assert {i.status for i in items} == {ItemStatus.OPEN, ItemStatus.RESPONDED, ItemStatus.CLOSED}
    closed = next(i for i in items if i.status == ItemStatus.CLOSED)
    assert closed.responses and closed.responses[0].files
    assert any(i.overdue for i in items if i.status == ItemStatus.OPEN)
    assert count(RoundEvaluator) >= 10
    assert verify_chain().ok


def test_demo_users_log_in_with_the_given_password(cli, client):
    cli("demo", "--password", DEMO_PASSWORD)

    response = login(client, "orgmanager", DEMO_PASSWORD)

    assert response.status_code == 303
    assert client.get("/registry/workers").status_code == 200


def test_demo_if_empty_does_nothing_the_second_time(cli):
    cli("demo", "--password", DEMO_PASSWORD)
    counts = [count(model) for model in (Area, Organization, SocialWorker, User)]
    events = len(audit_events())

    result = cli("demo", "--password", DEMO_PASSWORD, "--if-empty")

    assert result.exit_code == 0
    assert [count(model) for model in (Area, Organization, SocialWorker, User)] == counts
    assert len(audit_events()) == events
    assert verify_chain().ok
    assert "reset-password" in result.output and all(username in result.output for username, *_r in USERS)


def test_demo_refuses_a_database_with_data(cli):
    OrganizationFactory()

    result = cli("demo", "--password", DEMO_PASSWORD)

    assert result.exit_code != 0
    assert count(User) == 0


def test_demo_refuses_a_password_some_demo_user_could_not_have(cli):
    result = cli("demo", "--password", "admin-Passw0rd")  # contains the user name "admin"

    assert result.exit_code != 0
    assert count(Organization) == 0 and count(Area) == 0


def test_demo_without_password_prints_generated_ones(cli):
    result = cli("demo")

    assert result.exit_code == 0
    lines = [line.split() for line in result.output.splitlines() if line.startswith("  ")]
    logins = {parts[0]: parts[1] for parts in lines}
    assert set(logins) == {username for username, *_ in USERS}
    admin = _user("admin")
    assert passwords.verify_password(admin.password_hash, logins["admin"])


# --- user reset-password ------------------------------------------------------------------------


def test_reset_password_prints_a_one_time_password_and_unlocks(cli, client):
    cli("create-user", "zhangwei", "--role", "procurement", "--password", PASSWORD)
    user = _user("zhangwei")
    user.failed_logins, user.must_change_password = 5, False
    db.session.commit()

    result = cli("user", "reset-password", "zhangwei")

    assert result.exit_code == 0, result.output
    new = result.output.split(": ", 1)[1].split()[0]
    user = _user("zhangwei")
    assert passwords.verify_password(user.password_hash, new) and not passwords.verify_password(user.password_hash, PASSWORD)
    assert (user.failed_logins, user.must_change_password) == (0, True)
    assert audit_events("user.password_reset")[-1].object_id == str(user.id)
    assert login(client, "zhangwei", new).status_code == 303


def test_reset_password_of_an_unknown_account_changes_nothing(cli):
    events = len(audit_events())

    result = cli("user", "reset-password", "nobody")

    assert result.exit_code != 0 and "nobody" in result.output
    assert len(audit_events()) == events
