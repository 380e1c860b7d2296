"""The audit trail pages: filters by actor, object, action and Shanghai calendar days; CSV export."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest

from svcproc.audit.services import record
from svcproc.audit.views import CSV_COLUMNS
from svcproc.core.permissions import Role
from tests.factories import UserFactory
from tests.helpers import is_fragment, login


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def auditor(client):
    user = UserFactory(role=Role.AUDITOR, username="shenji")
    login(client, user)  # writes auth.login at the clock's default time (2025-03-12)
    return user


@pytest.fixture
def events(clock, auditor):
    """Events on both sides of midnight in Shanghai (UTC+8)."""
    wang = UserFactory(username="wangfang", role=Role.PROCUREMENT)
    li = UserFactory(username="lixiaomei", role=Role.ORG_MANAGER)
    clock.set(_utc(2025, 3, 10, 15, 30))  # 2025-03-10 23:30 in Shanghai
    record("organization.created", actor=wang, object_type="organization", object_id=7,
           changes={"name": [None, "阳光社会工作服务中心"]})
    clock.set(_utc(2025, 3, 10, 16, 30))  # 2025-03-11 00:30 in Shanghai
    record("organization.updated", actor=li, object_type="organization", object_id=7,
           changes={"address": ["玉林北路18号", "玉林北路20号"]})
    clock.set(_utc(2025, 3, 11, 3, 0))  # 2025-03-11 11:00 in Shanghai
    record("area.created", actor=wang, object_type="area", object_id=3, changes={"name": [None, "武侯区"]})
    clock.set(_utc(2025, 3, 12, 2, 0))


def _actions(html: str) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td>", html)


@pytest.mark.parametrize("query, expected", [
    pytest.param("", ["area.created", "organization.updated", "organization.created", "auth.login"], id="all"),
    pytest.param("actor=wang", ["area.created", "organization.created"], id="actor-partial"),
    pytest.param("actor=LIXIAO", ["organization.updated"], id="actor-any-case"),
    pytest.param("object_type=organization", ["organization.updated", "organization.created"], id="object-type"),
    pytest.param("object_type=organization&object_id=7", ["organization.updated", "organization.created"],
                 id="object"),
    pytest.param("object_type=area&object_id=7", [], id="object-of-other-type"),
    pytest.param("action=organization.", ["organization.updated", "organization.created"], id="action-prefix"),
    pytest.param("action=area.created", ["area.created"], id="action"),
    pytest.param("action=%", ["area.created", "organization.updated", "organization.created", "auth.login"],
                 id="percent-sign-ignored"),
    pytest.param("date_from=2025-03-11", ["area.created", "organization.updated", "auth.login"], id="from-day"),
    pytest.param("date_to=2025-03-10", ["organization.created"], id="to-day"),
    pytest.param("date_from=2025-03-11&date_to=2025-03-11", ["area.created", "organization.updated"], id="one-day"),
    pytest.param("date_from=not-a-date", ["area.created", "organization.updated", "organization.created",
                                          "auth.login"], id="bad-date-ignored"),
    pytest.param("actor=wang&object_type=area", ["area.created"], id="combined"),
])
def test_the_list_filters(client, events, query, expected):
    response = client.get(f"/audit?{query}", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert _actions(response.get_data(as_text=True)) == expected


def test_the_list_shows_before_and_after(client, events):
    html = client.get("/audit?action=organization.updated").get_data(as_text=True)

    assert "玉林北路18号 → 玉林北路20号" in html


def test_htmx_gets_only_the_table(client, events):
    response = client.get("/audit?actor=wang", headers={"HX-Request": "true"})

    assert is_fragment(response.get_data(as_text=True))
    assert "<html" in client.get("/audit?actor=wang").get_data(as_text=True)


def _csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_csv_export_has_a_bom_a_header_and_the_filtered_rows(make_client, events, role):
    browser = make_client()
    login(browser, UserFactory(role=role))

    response = browser.get("/audit/export.csv?object_type=organization")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response.get_data()[:3] == b"\xef\xbb\xbf"
    header, *rows = _csv(response)
    assert tuple(header) == CSV_COLUMNS
    assert [row[header.index("action")] for row in rows] == ["organization.created", "organization.updated"]
    first = dict(zip(header, rows[0]))
    assert first["actor"] == "wangfang"
    assert first["occurred_at_local"] == "2025-03-10 23:30:00"
    assert first["occurred_at_utc"].startswith("2025-03-10T15:30:00")
    assert "阳光社会工作服务中心" in first["changes"]
    assert len(first["hash"]) == 64 and len(first["prev_hash"]) == 64


def test_csv_export_of_nothing_is_just_the_header(client, events):
    response = client.get("/audit/export.csv?actor=nobody")

    assert _csv(response) == [list(CSV_COLUMNS)]


def test_csv_export_follows_the_day_filter(client, events):
    header, *rows = _csv(client.get("/audit/export.csv?date_to=2025-03-10"))

    assert [row[header.index("action")] for row in rows] == ["organization.created"]


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://evil.example","x")', "+1+2", "-1+2", "@SUM(A1)"])
def test_csv_export_defuses_formulas_typed_into_the_login_form(client, make_client, auditor, typed):
    login(make_client(), typed, "whatever")  # an unknown user name is recorded as the actor name

    header, *rows = _csv(client.get("/audit/export.csv?action=auth.login_failed"))

    [row] = rows
    assert row[header.index("actor")] == "'" + typed
