"""Administrators' account pages: create, edit, deactivate, reset a password — each audited."""
from __future__ import annotations

import re

import pytest

from svcproc.accounts import passwords
from svcproc.accounts.models import User
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import DEFAULT_PASSWORD, UserFactory
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login

NEW_USER_PASSWORD = "Initial-Pass-42"


@pytest.fixture
def admin(client):
    user = UserFactory(role=Role.ADMIN, username="chief")
    login(client, user)
    return user


@pytest.fixture
def orgs():
    return {None: None, "service": OrganizationFactory(), "evaluation": OrganizationFactory(evaluation=True)}


def _reload(user) -> User:
    return db.session.get(User, user.id)


def _new_user_form(role, org=None, overrides=None) -> dict:
    data = {"username": "newperson", "full_name": "王芳", "email": "wangfang@example.org", "role": Role(role).value,
            "organization_id": str(org.id) if org else "", "password": NEW_USER_PASSWORD}
    data.update(overrides or {})
    return data


# --- creating -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role, org_kind", [
    (Role.ADMIN, None), (Role.PROCUREMENT, None), (Role.EXPERT, None), (Role.AUDITOR, None),
    (Role.ORG_MANAGER, "service"), (Role.SOCIAL_WORKER, "service"),
    (Role.EVALUATOR, "evaluation"), (Role.EVALUATOR, None),
])
def test_admin_creates_an_account(client, admin, orgs, role, org_kind):
    org = orgs[org_kind]

    response = client.post("/admin/users/new", data=_new_user_form(role, org))

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users"
    user = db.session.execute(db.select(User).filter_by(username="newperson")).unique().scalar_one()
    assert (user.role, user.organization_id) == (role, org.id if org else None)
    assert user.must_change_password is True
    assert passwords.verify_password(user.password_hash, NEW_USER_PASSWORD)
    [event] = audit_events("user.created")
    assert (event.actor_id, event.object_id) == (admin.id, str(user.id))
    assert event.changes["username"] == [None, "newperson"]
    assert event.changes["role"] == [None, role.value]
    assert "password_hash" not in event.changes


@pytest.mark.parametrize("role, org_kind", [
    (Role.ORG_MANAGER, None), (Role.ORG_MANAGER, "evaluation"),
    (Role.SOCIAL_WORKER, None), (Role.SOCIAL_WORKER, "evaluation"),
    (Role.EVALUATOR, "service"),
    (Role.ADMIN, "service"), (Role.PROCUREMENT, "evaluation"), (Role.EXPERT, "service"), (Role.AUDITOR, "service"),
])
def test_role_and_organization_must_fit(client, admin, orgs, role, org_kind):
    users_before = count(User)

    response = client.post("/admin/users/new", data=_new_user_form(role, orgs[org_kind]))

    assert response.status_code == 422
    assert count(User) == users_before
    assert audit_events("user.created") == []


@pytest.mark.parametrize("overrides", [
    pytest.param({"password": ""}, id="no-password"),
    pytest.param({"password": "short1"}, id="weak-password"),
    pytest.param({"password": "Newperson-123"}, id="password-contains-user-name"),
    pytest.param({"username": "chief"}, id="user-name-taken"),
    pytest.param({"username": "CHIEF"}, id="user-name-taken-other-case"),
    pytest.param({"username": "new person"}, id="space-in-user-name"),
    pytest.param({"username": "ab"}, id="user-name-too-short"),
    pytest.param({"role": "superuser"}, id="unknown-role"),
    pytest.param({"organization_id": "99999"}, id="unknown-organization"),
    pytest.param({"email": "not-an-address"}, id="bad-email"),
])
def test_invalid_new_accounts_are_refused(client, admin, overrides):
    users_before = count(User)

    response = client.post("/admin/users/new", data=_new_user_form(Role.PROCUREMENT, overrides=overrides))

    assert response.status_code == 422
    assert count(User) == users_before
    assert audit_events("user.created") == []


def test_a_new_account_must_change_its_password_at_first_login(client, admin, make_client):
    client.post("/admin/users/new", data=_new_user_form(Role.EXPERT))
    browser = make_client()
    login(browser, "newperson", NEW_USER_PASSWORD)

    response = browser.get("/registry/areas")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


# --- editing ------------------------------------------------------------------------------------


def test_admin_edits_an_account_and_the_change_is_audited(client, admin, orgs):
    user = UserFactory(role=Role.EXPERT, full_name="旧名字", email="old@example.org")

    response = client.post(f"/admin/users/{user.id}/edit", data={
        "full_name": "新名字", "email": "new@example.org", "role": "org_manager",
        "organization_id": str(orgs["service"].id)})

    assert response.status_code == 303
    saved = _reload(user)
    assert (saved.full_name, saved.email, saved.role, saved.organization_id) == (
        "新名字", "new@example.org", Role.ORG_MANAGER, orgs["service"].id)
    [event] = audit_events("user.updated")
    assert event.actor_id == admin.id
    assert event.changes == {
        "full_name": ["旧名字", "新名字"], "email": ["old@example.org", "new@example.org"],
        "role": ["expert", "org_manager"], "organization_id": [None, orgs["service"].id],
    }


def test_the_user_name_cannot_be_changed(client, admin):
    user = UserFactory(role=Role.EXPERT)

    client.post(f"/admin/users/{user.id}/edit", data={
        "username": "renamed", "full_name": "x", "email": "", "role": "expert", "organization_id": ""})

    assert _reload(user).username == user.username


def test_a_role_change_ends_the_person_s_sessions(client, admin, make_client):
    user = UserFactory(role=Role.EXPERT)
    browser = make_client()
    login(browser, user)

    client.post(f"/admin/users/{user.id}/edit", data={
        "full_name": user.full_name, "email": user.email, "role": "auditor", "organization_id": ""})

    assert browser.get("/registry/areas").status_code == 302


def test_an_edit_breaking_the_role_rule_changes_nothing(client, admin):
    user = UserFactory(role=Role.EXPERT, full_name="原名")

    response = client.post(f"/admin/users/{user.id}/edit", data={
        "full_name": "新名", "email": "", "role": "org_manager", "organization_id": ""})

    assert response.status_code == 422
    saved = _reload(user)
    assert (saved.role, saved.full_name) == (Role.EXPERT, "原名")
    assert audit_events("user.updated") == []


def test_an_admin_cannot_change_their_own_role(client, admin):
    response = client.post(f"/admin/users/{admin.id}/edit", data={
        "full_name": admin.full_name, "email": admin.email, "role": "auditor", "organization_id": ""})

    assert response.status_code == 409
    assert _reload(admin).role == Role.ADMIN
    assert audit_events("user.updated") == []


def test_saving_without_changes_writes_no_event(client, admin):
    user = UserFactory(role=Role.EXPERT)

    response = client.post(f"/admin/users/{user.id}/edit", data={
        "full_name": user.full_name, "email": user.email, "role": "expert", "organization_id": ""})

    assert response.status_code == 303
    assert audit_events("user.updated") == []


def test_editing_a_missing_account_is_404(client, admin):
    assert client.get("/admin/users/999999/edit").status_code == 404


# --- deactivating -------------------------------------------------------------------------------


def test_admin_deactivates_an_account(client, admin, make_client):
    user = UserFactory(role=Role.EXPERT)
    browser = make_client()
    login(browser, user)

    response = client.post(f"/admin/users/{user.id}/active", data={"active": "0"})

    assert response.status_code == 303
    assert _reload(user).active is False
    [event] = audit_events("user.deactivated")
    assert (event.actor_id, event.object_id, event.changes) == (admin.id, str(user.id), {"active": [True, False]})
    assert browser.get("/registry/areas").status_code == 302
    assert login(make_client(), user).status_code == 422


def test_admin_reactivates_an_account(client, admin):
    user = UserFactory(role=Role.EXPERT, active=False)

    response = client.post(f"/admin/users/{user.id}/active", data={"active": "1"})

    assert response.status_code == 303
    assert _reload(user).active is True
    [event] = audit_events("user.activated")
    assert event.changes == {"active": [False, True]}


def test_an_admin_cannot_deactivate_their_own_account(client, admin):
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})

    assert response.status_code == 409
    assert _reload(admin).active is True
    assert audit_events("user.deactivated") == []
    assert client.get("/admin/users").status_code == 200


# --- resetting a password -----------------------------------------------------------------------


def test_admin_resets_a_password(client, admin, make_client, clock):
    user = UserFactory(role=Role.EXPERT, failed_logins=3, locked_until=clock.now.replace(year=2030))

    response = client.post(f"/admin/users/{user.id}/reset-password")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new_password = re.search(r'<p class="secret"><code>([^<]+)</code></p>', response.get_data(as_text=True)).group(1)
    saved = _reload(user)
    assert saved.must_change_password is True
    assert (saved.failed_logins, saved.locked_until) == (0, None)
    assert passwords.verify_password(saved.password_hash, new_password)
    assert not passwords.verify_password(saved.password_hash, DEFAULT_PASSWORD)
    [event] = audit_events("user.password_reset")
    assert (event.actor_id, event.object_id) == (admin.id, str(user.id))
    assert new_password not in str(event.changes)
    browser = make_client()
    assert login(browser, user, new_password).status_code == 303
    assert browser.get("/").headers["Location"] == "/account/password"


def test_a_password_reset_ends_the_person_s_sessions(client, admin, make_client):
    user = UserFactory(role=Role.EXPERT)
    browser = make_client()
    login(browser, user)

    client.post(f"/admin/users/{user.id}/reset-password")

    assert browser.get("/registry/areas").status_code == 302
