"""Logging in and out: sessions, failed-login counting and locking, password changes."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit
from datetime import datetime, timedelta, timezone

import pytest
from itsdangerous import TimestampSigner

from svcproc.accounts import passwords, services
from svcproc.accounts.models import User
from svcproc.core.permissions import Role
from svcproc.extensions import db
from tests.builders.accounts import DEFAULT_PASSWORD, UserFactory
from tests.helpers import audit_events, csrf_token_from, in_page, login, stays_on_site

NEW_PASSWORD = "Fresh-Passw0rd-2"
REFUSED = ("Wrong user name or password, or too many attempts: check them, or wait a few minutes "
           "and try again.")


def _error(html: str) -> str:
    match = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def _logged_in(client) -> bool:
    """The session opens a login-only page (an anonymous visitor is sent to /login)."""
    return client.get("/account/password").status_code == 200


def _reload(user) -> User:
    return db.session.get(User, user.id)


# --- logging in ---------------------------------------------------------------------------------


def test_login_starts_a_session_and_is_audited(client, clock):
    user = UserFactory(failed_logins=2)

    response = login(client, user)

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["_user_id"] == f"{user.id}:{user.session_token}"
        assert session.permanent
    saved = _reload(user)
    assert saved.last_login_at == clock.now
    assert saved.failed_logins == 0
    [event] = audit_events("auth.login")
    assert (event.actor_id, event.object_type, event.object_id) == (user.id, "user", str(user.id))
    assert _logged_in(client)


@pytest.mark.parametrize("password", [DEFAULT_PASSWORD, "Wrong-passw0rd"], ids=["right", "wrong"])
def test_a_login_is_no_edit_of_the_account(make_client, password):
    """Logging in (or failing to) leaves the account's version as it is: the same person logging in
    from two browsers at once, or an administrator saving the account meanwhile, is not refused."""
    user = UserFactory(failed_logins=1)
    version = user.version

    for _ in range(2):
        login(make_client(), user, password)

    saved = _reload(user)
    assert saved.version == version
    assert saved.failed_logins == (0 if password == DEFAULT_PASSWORD else 3)


def test_user_name_is_taken_without_surrounding_spaces(client):
    user = UserFactory()

    response = login(client, f"  {user.username} ")

    assert response.status_code == 303


def test_wrong_password_is_refused_counted_and_audited(client):
    user = UserFactory()

    response = login(client, user, "Wrong-passw0rd")

    assert response.status_code == 422
    assert _error(response.get_data(as_text=True)) == in_page(lambda: services._(REFUSED))
    assert _reload(user).failed_logins == 1
    [event] = audit_events("auth.login_failed")
    assert event.actor_id == user.id and event.changes == {"failed_logins": [None, 1], "address": "127.0.0.1"}
    assert audit_events("auth.login") == []
    assert not _logged_in(client)


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    user = UserFactory()
    wrong_password = login(client, user, "Wrong-passw0rd")

    response = login(client, "nobody-here", "Wrong-passw0rd")

    assert response.status_code == wrong_password.status_code == 422
    assert _error(response.get_data(as_text=True)) == _error(wrong_password.get_data(as_text=True)) != ""
    event = audit_events("auth.login_failed")[-1]
    assert event.actor_id is None
    assert event.actor_name == "nobody-here"
    assert event.changes == {"reason": "unknown_user", "address": "127.0.0.1"}


def test_empty_form_is_refused(client):
    response = client.post("/login", data={})

    assert response.status_code == 422
    assert audit_events() == []


def test_deactivated_account_is_refused(client):
    user = UserFactory(active=False)

    response = login(client, user)

    assert response.status_code == 422
    assert _error(response.get_data(as_text=True)) == in_page(lambda: services._("This account has been deactivated."))
    assert [e.action for e in audit_events()] == ["auth.login_refused_inactive"]
    assert _reload(user).last_login_at is None
    assert not _logged_in(client)


def test_deactivating_an_account_ends_its_open_sessions(client):
    user = UserFactory()
    login(client, user)
    admin = UserFactory(role=Role.ADMIN)
    services.set_user_active(admin, _reload(user), False)

    response = client.get("/registry/areas")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_logged_in_person_visiting_login_goes_home(client):
    login(client, UserFactory())

    response = client.get("/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- locking after repeated failures ------------------------------------------------------------


def _login_from(client, address: str, user_or_name, password: str = DEFAULT_PASSWORD):
    username = getattr(user_or_name, "username", user_or_name)
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _fail(client, user, times: int, address: str = "127.0.0.1"):
    for _ in range(times):
        _login_from(client, address, user, "Wrong-passw0rd")


def test_repeated_failures_lock_the_account_from_that_address(client, app, clock):
    user = UserFactory()
    max_failures = app.config["LOGIN_MAX_FAILURES"]
    assert max_failures == 5
    _fail(client, user, max_failures - 1)
    assert audit_events("auth.locked") == []

    _fail(client, user, 1)

    [event] = audit_events("auth.locked")
    assert event.actor_id == user.id and event.changes == {"address": "127.0.0.1"}
    assert len(audit_events("auth.login_failed")) == max_failures
    refused = _login_from(client, "127.0.0.1", user)
    assert refused.status_code == 422 and not _logged_in(client)
    assert audit_events("auth.login_refused_locked")[-1].actor_id == user.id


def test_a_lock_reads_and_answers_like_a_wrong_password(client, make_client, app):
    """Locked, unknown and wrong all read the same: the answer tells a stranger nothing."""
    user = UserFactory()
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"])

    locked = _login_from(make_client(), "127.0.0.1", user)
    unknown = _login_from(make_client(), "10.9.9.9", "nobody-at-all", "Wrong-passw0rd")
    wrong = _login_from(make_client(), "10.9.9.8", user, "Wrong-passw0rd")

    assert locked.status_code == unknown.status_code == wrong.status_code == 422
    texts = {_error(r.get_data(as_text=True)) for r in (locked, unknown, wrong)}
    assert texts == {in_page(lambda: services._(REFUSED))}


def test_a_stranger_cannot_lock_the_owner_out(client, make_client, app):
    user = UserFactory()
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"] * 2, address="203.0.113.7")
    assert audit_events("auth.locked")

    owner = make_client()
    response = _login_from(owner, "198.51.100.20", user)

    assert response.status_code == 303
    assert _logged_in(owner)


def test_an_address_trying_many_names_is_held_back(client, app):
    from svcproc.accounts.services import ADDRESS_FAILURES_FACTOR

    names = [UserFactory() for _ in range(ADDRESS_FAILURES_FACTOR)]
    for user in names:
        _fail(client, user, app.config["LOGIN_MAX_FAILURES"] - 1, address="203.0.113.9")
    victim = UserFactory()
    _fail(client, victim, ADDRESS_FAILURES_FACTOR, address="203.0.113.9")

    response = _login_from(client, "203.0.113.9", victim)

    assert response.status_code == 422
    assert audit_events("auth.login_refused_locked")[-1].changes == {"address": "203.0.113.9"}


def test_the_right_password_works_once_the_lock_expired(client, app, clock):
    user = UserFactory()
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"])
    clock.advance(minutes=app.config["LOGIN_LOCK_MINUTES"] - 1)
    assert _login_from(client, "127.0.0.1", user).status_code == 422
    clock.advance(minutes=1, seconds=1)

    response = _login_from(client, "127.0.0.1", user)

    assert response.status_code == 303
    assert _reload(user).failed_logins == 0
    assert _logged_in(client)


def test_each_lock_lasts_twice_as_long_as_the_last(client, app, clock):
    from svcproc.accounts.models import LoginThrottle

    user = UserFactory()
    lock = app.config["LOGIN_LOCK_MINUTES"]
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"])
    clock.advance(minutes=lock, seconds=1)
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"])

    row = db.session.get(LoginThrottle, f"account:{user.username.lower()}|127.0.0.1")
    assert row.locks == 2 and row.locked_until == clock.now + timedelta(minutes=2 * lock)


def test_a_password_reset_lifts_the_owners_lock(client, app):
    user = UserFactory()
    _fail(client, user, app.config["LOGIN_MAX_FAILURES"])

    new_password = services.reset_password(UserFactory(role=Role.ADMIN), _reload(user))
    db.session.commit()

    assert _login_from(client, "127.0.0.1", user, new_password).status_code == 303


def test_a_success_resets_the_failure_count(client):
    user = UserFactory()
    for _ in range(3):
        login(client, user, "Wrong-passw0rd")

    login(client, user)

    assert _reload(user).failed_logins == 0


# --- sessions -----------------------------------------------------------------------------------


def test_session_cookie_is_permanent_with_the_configured_lifetime(client, app):
    user = UserFactory()
    before = datetime.now(timezone.utc)

    login(client, user)

    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert lifetime == timedelta(minutes=120)
    expires = cookie.expires.replace(tzinfo=timezone.utc) if cookie.expires.tzinfo is None else cookie.expires
    assert before + lifetime - timedelta(seconds=5) <= expires <= before + lifetime + timedelta(minutes=1)


def _cookie_clock(monkeypatch, later: timedelta):
    """Make the session signer believe `later` has passed since the cookie was signed."""
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: real(self) + int(later.total_seconds()))


def test_session_ends_after_the_lifetime(client, app, monkeypatch):
    login(client, UserFactory())
    _cookie_clock(monkeypatch, app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1))

    response = client.get("/registry/areas")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_session_survives_within_the_lifetime(client, app, monkeypatch):
    login(client, UserFactory())
    _cookie_clock(monkeypatch, app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1))

    response = client.get("/registry/areas")

    assert response.status_code == 200


def test_a_short_configured_lifetime_is_honoured(client, app, monkeypatch):
    login(client, UserFactory())
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(minutes=5))
    _cookie_clock(monkeypatch, timedelta(minutes=6))

    response = client.get("/registry/areas")

    assert response.status_code == 302


def _sets_cookie(response) -> bool:
    return any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))


def test_a_session_cookie_signed_within_the_minute_is_not_sent_again(client):
    login(client, UserFactory())
    client.get("/registry/areas")  # shows (and so takes out of the session) the login's message
    signed = client.get_cookie("session").value

    response = client.get("/registry/areas")

    assert response.status_code == 200
    assert not _sets_cookie(response)
    assert client.get_cookie("session").value == signed


def test_a_request_a_minute_later_renews_the_cookie_and_its_lifetime(client, app, monkeypatch):
    login(client, UserFactory())
    client.get("/registry/areas")
    signed = client.get_cookie("session").value
    _cookie_clock(monkeypatch, timedelta(seconds=app.config["SESSION_RENEW_AFTER_SECONDS"]))

    response = client.get("/registry/areas")

    assert response.status_code == 200
    assert _sets_cookie(response)
    assert client.get_cookie("session").value != signed
    # Renewed, the session lives a whole lifetime from this request: idle for most of one more (the
    # clock moves on from where it was), it is still open; from the first signature it would have ended.
    _cookie_clock(monkeypatch, app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(seconds=30))
    assert client.get("/registry/areas").status_code == 200


def test_a_changed_session_is_sent_at_once(client):
    login(client, UserFactory())
    token = csrf_token_from(client.get("/registry/areas").text)

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code in (302, 303)
    assert _sets_cookie(response)
    assert client.get("/registry/areas").status_code == 302


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get("/registry/areas?q=x")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/registry/areas?q=x"]}


def test_anonymous_htmx_request_is_told_to_redirect(client):
    response = client.get("/registry/areas", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_logout_ends_the_session_and_is_audited(client):
    user = UserFactory()
    login(client, user)

    response = client.post("/logout")

    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert audit_events("auth.logout")[0].actor_id == user.id
    assert not _logged_in(client)


def test_a_copy_of_the_cookie_opens_nothing_after_logout(client, make_client):
    user = UserFactory(role=Role.AUDITOR)
    login(client, user)
    copy = make_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/audit").status_code == 200

    client.post("/logout")

    response = copy.get("/audit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_password_reset_ends_every_session(client):
    user = UserFactory()
    login(client, user)

    services.reset_password(UserFactory(role=Role.ADMIN), _reload(user))
    db.session.commit()

    assert not _logged_in(client)


# --- next ---------------------------------------------------------------------------------------


def test_login_goes_to_next(client):
    response = login(client, UserFactory(), next_url="/registry/organizations?q=阳光")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/registry/organizations?q=")


@pytest.mark.parametrize("target", [
    "//evil.example", "//evil.example/login", "https://evil.example/", "http:evil.example",
    "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "evil.example",
])
def test_login_refuses_to_redirect_off_site(client, target):
    response = login(client, UserFactory(), next_url=target)

    assert response.status_code == 303
    assert stays_on_site(response.headers["Location"])
    assert response.headers["Location"] == "/"


# --- passwords ----------------------------------------------------------------------------------


def _change(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new, "confirm": new if confirm is None else confirm})


@pytest.mark.parametrize("current, new, confirm", [
    pytest.param("Wrong-passw0rd", NEW_PASSWORD, None, id="wrong-current"),
    pytest.param(DEFAULT_PASSWORD, "Short1", None, id="too-short"),
    pytest.param(DEFAULT_PASSWORD, "onlylowercaseletters", None, id="one-kind-of-character"),
    pytest.param(DEFAULT_PASSWORD, "Eleven-ch1", None, id="eleven-characters"),
    pytest.param(DEFAULT_PASSWORD, "Password1234", None, id="common-word-decorated"),
    pytest.param(DEFAULT_PASSWORD, "Qw3rty-2026!", None, id="common-word-in-leet"),
    pytest.param(DEFAULT_PASSWORD, "1qaz2wsx3edc", None, id="keyboard-run"),
    pytest.param(DEFAULT_PASSWORD, DEFAULT_PASSWORD, None, id="same-as-current"),
    pytest.param(DEFAULT_PASSWORD, NEW_PASSWORD, "Something-else-1", id="confirmation-differs"),
])
def test_password_change_refusals_change_nothing(client, current, new, confirm):
    user = UserFactory()
    login(client, user)
    hash_before, token_before = user.password_hash, user.session_token

    response = _change(client, current, new, confirm)

    assert response.status_code == 422
    saved = _reload(user)
    assert (saved.password_hash, saved.session_token) == (hash_before, token_before)
    assert audit_events("auth.password_changed") == []


def test_password_containing_the_user_name_is_refused(client):
    user = UserFactory(username="wangfang")
    login(client, user)

    response = _change(client, new="Wangfang-2025")

    assert response.status_code == 422
    assert passwords.verify_password(_reload(user).password_hash, DEFAULT_PASSWORD)


def test_password_change_ends_the_other_sessions_but_not_this_one(client, make_client):
    user = UserFactory()
    other_browser = make_client()
    login(other_browser, user)
    login(client, user)

    response = _change(client)

    assert response.status_code == 303
    assert passwords.verify_password(_reload(user).password_hash, NEW_PASSWORD)
    assert [e.action for e in audit_events() if e.action.startswith("auth.password")] == ["auth.password_changed"]
    assert _logged_in(client)
    assert not _logged_in(other_browser)


def test_the_new_password_works_and_the_old_one_not(client, make_client):
    user = UserFactory()
    login(client, user)
    _change(client)

    assert login(make_client(), user, DEFAULT_PASSWORD).status_code == 422
    assert login(make_client(), user, NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize("path", ["/", "/registry/areas", "/registry/organizations", "/admin/users"])
def test_must_change_password_sends_every_page_to_the_password_form(client, path):
    login(client, UserFactory(role=Role.ADMIN, must_change_password=True))

    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


def test_must_change_password_also_blocks_posts(client):
    login(client, UserFactory(role=Role.ADMIN, must_change_password=True))

    response = client.post("/registry/areas/new", data={"level": "district", "code": "510199", "name": "新区"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"
    assert audit_events("area.created") == []


def test_changing_the_password_lifts_the_requirement(client):
    user = UserFactory(must_change_password=True)
    login(client, user)

    _change(client)

    assert _reload(user).must_change_password is False
    assert client.get("/registry/areas").status_code == 200


def test_an_outdated_hash_is_upgraded_at_login(client):
    old = passwords.PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(DEFAULT_PASSWORD)
    user = UserFactory(password_hash=old)

    login(client, user)

    saved = _reload(user)
    assert saved.password_hash != old
    assert passwords.verify_password(saved.password_hash, DEFAULT_PASSWORD)
    assert not passwords.needs_rehash(saved.password_hash)
