"""CSRF protection: a POST without the token is refused and changes nothing; htmx's header is accepted."""
from __future__ import annotations

import pytest

from svcproc.core.i18n import LANG_COOKIE
from svcproc.core.permissions import Role
from svcproc.registry.models import Area
from tests.builders.accounts import UserFactory
from tests.helpers import count, csrf_token_from, events_after, last_seq, login

NEW_DISTRICT = {"level": "district", "code": "510199", "name": "新区"}


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.fixture
def admin_client(client):
    login(client, UserFactory(role=Role.ADMIN))  # before CSRF is switched on
    return client


def _token(client) -> str:
    return csrf_token_from(client.get("/registry/areas/new").get_data(as_text=True))


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="plain-form"),
    pytest.param({"HX-Request": "true"}, id="htmx"),
])
def test_a_post_without_the_token_is_refused_and_changes_nothing(admin_client, csrf_on, headers):
    seq = last_seq()

    response = admin_client.post("/registry/areas/new", data=NEW_DISTRICT, headers=headers)

    assert response.status_code == 400
    assert count(Area) == 0
    assert events_after(seq) == []


def test_a_post_with_a_wrong_token_is_refused(admin_client, csrf_on):
    response = admin_client.post("/registry/areas/new", data=NEW_DISTRICT, headers={"X-CSRFToken": "forged"})

    assert response.status_code == 400
    assert count(Area) == 0


def test_the_token_in_the_htmx_header_is_accepted(admin_client, csrf_on):
    token = _token(admin_client)

    response = admin_client.post("/registry/areas/new", data=NEW_DISTRICT,
                                 headers={"X-CSRFToken": token, "HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/registry/areas"
    assert count(Area) == 1


def test_the_token_in_the_form_is_accepted(admin_client, csrf_on):
    token = _token(admin_client)

    response = admin_client.post("/registry/areas/new", data=NEW_DISTRICT | {"csrf_token": token})

    assert response.status_code == 303
    assert count(Area) == 1


def test_another_session_s_token_is_refused(admin_client, make_client, csrf_on):
    other = make_client()
    foreign_token = csrf_token_from(other.get("/login").get_data(as_text=True))

    response = admin_client.post("/registry/areas/new", data=NEW_DISTRICT, headers={"X-CSRFToken": foreign_token})

    assert response.status_code == 400
    assert count(Area) == 0


def test_login_needs_the_token_too(client, csrf_on):
    user = UserFactory()
    seq = last_seq()

    response = login(client, user)

    assert response.status_code == 400
    assert events_after(seq) == []
    assert client.get("/account/password").status_code == 302


def test_logout_without_the_token_keeps_the_session(admin_client, csrf_on):
    response = admin_client.post("/logout")

    assert response.status_code == 400
    assert admin_client.get("/account/password").status_code == 200


def test_language_switch_without_the_token_sets_nothing(client, csrf_on):
    response = client.post("/lang/en")

    assert response.status_code == 400
    assert client.get_cookie(LANG_COOKIE) is None
