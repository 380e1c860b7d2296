"""Rate limits on what a stranger can repeat: logging in, raising a need, verifying a report. The
limited answer is a message in the person's language, and nothing is done."""
from __future__ import annotations

import pytest

from svcproc.extensions import limiter_of
from tests.helpers import audit_events


@pytest.fixture
def limits_on(app, monkeypatch):
    limiter = limiter_of(app)
    monkeypatch.setattr(limiter, "enabled", True)
    limiter.reset()
    yield
    limiter.reset()


def test_logins_from_one_address_are_limited(client, app, limits_on):
    allowed = int(app.config["RATE_LIMITS"]["accounts.login"][1].split()[0])
    for _ in range(allowed):
        assert client.post("/login", data={"username": "nobody", "password": "x"}).status_code == 422
    events = len(audit_events())

    response = client.post("/login", data={"username": "nobody", "password": "x"})

    assert response.status_code == 429
    assert "Retry-After" in response.headers or "X-RateLimit-Reset" in response.headers
    assert len(audit_events()) == events  # the refused attempt did not reach the login
    assert client.get("/login").status_code == 200  # reading the page is not limited


def test_another_address_is_not_held_back(client, app, limits_on):
    allowed = int(app.config["RATE_LIMITS"]["accounts.login"][1].split()[0])
    for _ in range(allowed + 1):
        client.post("/login", data={"username": "nobody", "password": "x"})

    response = client.post("/login", data={"username": "nobody", "password": "x"},
                           environ_base={"REMOTE_ADDR": "198.51.100.4"})

    assert response.status_code == 422


def test_report_verification_is_limited(client, app, limits_on):
    allowed = int(app.config["RATE_LIMITS"]["reports.verify"][1].split()[0])
    for _ in range(allowed):
        assert client.get("/verify/ABCD-EFGH").status_code == 200

    assert client.get("/verify/ABCD-EFGH").status_code == 429


def test_report_files_handed_in_are_limited_with_the_codes(client, app, limits_on):
    """Typed codes and files handed in count apart, each up to the same limit."""
    allowed = int(app.config["RATE_LIMITS"]["reports.verify_upload"][1].split()[0])
    for _ in range(allowed):
        assert client.post("/verify", data={}).status_code == 422

    assert client.post("/verify", data={}).status_code == 429
    assert client.get("/verify/ABCD-EFGH").status_code == 200


def test_off_limits_let_every_attempt_through(client, app):
    assert not limiter_of(app).enabled
    for _ in range(15):
        assert client.post("/login", data={"username": "nobody", "password": "x"}).status_code == 422
