"""The home page, the health check and the language switch."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from svcproc.accounts.models import User
from svcproc.core.i18n import LANG_COOKIE
from svcproc.extensions import db
from tests.builders.accounts import UserFactory
from tests.helpers import audit_events, login, stays_on_site


def test_healthz_reports_version_and_database(client, app):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "version": app.config["VERSION"], "database": "ok"}


def test_healthz_reports_an_unreachable_database(client, monkeypatch, db_session):
    def unreachable(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(type(db_session()), "execute", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"] == "error"
    assert response.get_json()["status"] == "degraded"


def test_pages_are_in_chinese_by_default(client):
    response = client.get("/")

    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)


def test_choosing_english_sets_a_cookie_that_sticks(client):
    response = client.post("/lang/en", data={"next": "/login"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    cookie = client.get_cookie(LANG_COOKIE)
    assert cookie is not None and cookie.value == "en"
    assert cookie.http_only
    for path in ("/", "/login"):
        assert '<html lang="en">' in client.get(path).get_data(as_text=True)


def test_choosing_chinese_again_switches_back(client):
    client.post("/lang/en")

    client.post("/lang/zh_CN")

    assert client.get_cookie(LANG_COOKIE).value == "zh_CN"
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_an_unknown_language_falls_back_to_chinese(client):
    response = client.post("/lang/xx")

    assert response.status_code == 303
    assert client.get_cookie(LANG_COOKIE).value == "zh_CN"


def test_a_logged_in_person_s_language_choice_is_saved_on_the_account(client):
    user = UserFactory(locale=None)
    login(client, user)

    response = client.post("/lang/en")

    assert response.status_code == 303
    assert db.session.get(User, user.id).locale == "en"
    [event] = audit_events("user.locale_changed")
    assert event.actor_id == user.id and event.changes == {"locale": [None, "en"]}


def test_the_account_language_wins_over_the_cookie(make_client):
    user = UserFactory(locale="en")
    browser = make_client()
    browser.set_cookie(LANG_COOKIE, "zh_CN")
    login(browser, user)

    response = browser.get("/")

    assert '<html lang="en">' in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/lang/en", data={"next": target})

    assert response.status_code == 303
    assert stays_on_site(response.headers["Location"])


def test_the_content_security_policy_trusts_only_the_pinned_htmx_file(app):
    url = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
    app.config["HTMX_CDN_URL"] = url
    try:
        policy = app.test_client().get("/login").headers["Content-Security-Policy"]
    finally:
        app.config["HTMX_CDN_URL"] = ""
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src")).split()
    assert url in script_src
    assert "https://cdn.jsdelivr.net" not in script_src and "*" not in policy
