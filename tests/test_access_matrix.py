"""Every endpoint × every role (and anonymous): the status a GET, or a POST with empty data, answers.

The table is written out by hand from the rules in DOMAIN.md — not computed from
svcproc.core.permissions — so a change in the permission table that breaks a rule fails here, and
a new endpoint without a row fails `test_the_table_covers_every_endpoint`.

POSTs carry no data and CSRF is off (as in the rest of the suite): an allowed role's empty form
answers 422; button-only forms (logout, deactivate, reset password) carry nothing but the token,
so an allowed role's empty POST simply does the action (303, or 200 for the page showing the new
password). Anonymous visitors are sent to /login (302) from every page that needs a login.
"""
from __future__ import annotations

import pytest

from svcproc.core.permissions import Role
from tests.factories import AreaFactory, OrganizationFactory, SocialWorkerFactory, UserFactory, user_for_role
from tests.helpers import login

ANON = "anonymous"
COLUMNS = (ANON, "admin", "procurement", "expert", "org_manager", "social_worker", "evaluator", "auditor")

# endpoint, method:                                 anon  admin proc  expert orgmgr socwkr eval  auditor
MATRIX = {
    ("main.home", "GET"):                            (200, 200, 200, 200, 200, 200, 200, 200),
    ("main.healthz", "GET"):                         (200, 200, 200, 200, 200, 200, 200, 200),
    ("main.set_language", "POST"):                   (303, 303, 303, 303, 303, 303, 303, 303),
    ("accounts.login", "GET"):                       (200, 302, 302, 302, 302, 302, 302, 302),
    ("accounts.login", "POST"):                      (422, 302, 302, 302, 302, 302, 302, 302),
    ("accounts.logout", "POST"):                     (302, 303, 303, 303, 303, 303, 303, 303),
    ("accounts.change_password", "GET"):             (302, 200, 200, 200, 200, 200, 200, 200),
    ("accounts.change_password", "POST"):            (302, 422, 422, 422, 422, 422, 422, 422),
    ("accounts.users", "GET"):                       (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_new", "GET"):                    (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_new", "POST"):                   (302, 422, 403, 403, 403, 403, 403, 403),
    ("accounts.user_edit", "GET"):                   (302, 200, 403, 403, 403, 403, 403, 403),
    ("accounts.user_edit", "POST"):                  (302, 422, 403, 403, 403, 403, 403, 403),
    ("accounts.user_set_active", "POST"):            (302, 303, 403, 403, 403, 403, 403, 403),
    ("accounts.user_reset_password", "POST"):        (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.areas", "GET"):                       (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.area_new", "GET"):                    (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.area_new", "POST"):                   (302, 422, 403, 403, 403, 403, 403, 403),
    ("registry.area_edit", "GET"):                   (302, 200, 403, 403, 403, 403, 403, 403),
    ("registry.area_edit", "POST"):                  (302, 422, 403, 403, 403, 403, 403, 403),
    ("registry.organizations", "GET"):               (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.organization", "GET"):                (302, 200, 200, 200, 200, 200, 200, 200),
    ("registry.organization_new", "GET"):            (302, 200, 200, 403, 403, 403, 403, 403),
    ("registry.organization_new", "POST"):           (302, 422, 422, 403, 403, 403, 403, 403),
    ("registry.organization_edit", "GET"):           (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.organization_edit", "POST"):          (302, 422, 422, 403, 422, 403, 403, 403),
    ("registry.organization_status", "POST"):        (302, 422, 422, 403, 403, 403, 403, 403),
    ("registry.workers", "GET"):                     (302, 200, 200, 403, 200, 200, 403, 200),
    ("registry.worker_new", "GET"):                  (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.worker_new", "POST"):                 (302, 422, 422, 403, 422, 403, 403, 403),
    ("registry.worker_edit", "GET"):                 (302, 200, 200, 403, 200, 403, 403, 403),
    ("registry.worker_edit", "POST"):                (302, 422, 422, 403, 422, 403, 403, 403),
    ("audit.events", "GET"):                         (302, 200, 403, 403, 403, 403, 403, 200),
    ("audit.export_csv", "GET"):                     (302, 200, 403, 403, 403, 403, 403, 200),
    ("audit.verify", "GET"):                         (302, 200, 403, 403, 403, 403, 403, 200),
}

IGNORED_ENDPOINTS = {"static"}
CASES = [
    pytest.param(endpoint, method, who, status, id=f"{endpoint}-{method}-{who}")
    for (endpoint, method), statuses in MATRIX.items()
    for who, status in zip(COLUMNS, statuses, strict=True)
]


@pytest.fixture
def world():
    """The objects the URLs point at; the org manager and social worker belong to `org`."""
    org = OrganizationFactory()
    return {
        "org": org,
        "worker": SocialWorkerFactory(organization=org),
        "area": AreaFactory(),
        "target_user": UserFactory(role=Role.EXPERT),
    }


def _url(app, endpoint: str, world: dict) -> str:
    values = {"org_id": world["org"].id, "worker_id": world["worker"].id, "area_id": world["area"].id,
              "user_id": world["target_user"].id, "locale": "en"}
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{name: values[name] for name in rule.arguments})


@pytest.mark.parametrize("endpoint, method, who, expected", CASES)
def test_access(app, client, world, endpoint, method, who, expected):
    if who != ANON:
        user = user_for_role(Role(who), organization=world["org"] if who in ("org_manager", "social_worker") else None)
        assert login(client, user).status_code == 303
    url = _url(app, endpoint, world)

    response = client.open(url, method=method, data={} if method == "POST" else None)

    assert response.status_code == expected, f"{method} {url} as {who}"
    if expected == 302 and who == ANON:
        assert response.headers["Location"].startswith("/login")


def test_the_table_covers_every_endpoint(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        routes.setdefault(rule.endpoint, set()).update(rule.methods & {"GET", "POST", "PUT", "PATCH", "DELETE"})

    in_table = {}
    for endpoint, method in MATRIX:
        in_table.setdefault(endpoint, set()).add(method)

    assert set(in_table) == set(routes), "endpoints without a row (or rows without an endpoint)"
    assert in_table == routes, "each method an endpoint accepts needs its own row"


# --- an org manager of another organization ------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["registry.organization_edit", "registry.worker_edit"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_org_manager_of_another_organization_is_refused(app, client, world, endpoint, method):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory()))

    response = client.open(_url(app, endpoint, world), method=method, data={} if method == "POST" else None)

    assert response.status_code == 403


def test_org_manager_of_another_organization_cannot_add_workers_there(app, client, world):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory()))

    response = client.post("/registry/workers/new", data={
        "name": "某社工", "organization_id": str(world["org"].id), "certification_level": "none"})

    assert response.status_code in (403, 422)
    assert response.status_code != 303
