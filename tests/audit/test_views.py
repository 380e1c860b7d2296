"""The audit trail pages: filters by actor, object, action and Shanghai calendar days; CSV export."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html import unescape

import pytest

from svcproc.audit.services import known_object_types, record
from svcproc.audit.labels import CSV_COLUMNS
from svcproc.core.permissions import Role
from tests.builders.accounts import UserFactory
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
    return re.findall(r'<td data-action="([^"]+)">', html)


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
    pytest.param("action=%", [], id="percent-sign-literal"),
    pytest.param("action=organization_", [], id="underscore-literal"),
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


# --- paging by sequence number at any size ----------------------------------------------------------


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', html)]


def _link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', html)
    return unescape(match.group(1)) if match else None


@pytest.fixture
def many(clock, auditor):
    """160 events: one in three of an area, the others of an organization."""
    actor = UserFactory(username="wangfang", role=Role.PROCUREMENT)
    for i in range(160):
        kind = "area" if i % 3 == 0 else "organization"
        record(f"{kind}.updated", actor=actor, object_type=kind, object_id=i, changes={})


@pytest.mark.parametrize("query", ["", "object_type=area", "actor=wang&action=organization."])
def test_older_and_newer_pages_walk_every_matching_event_once(client, many, query):
    expected = sorted((e.seq for e in _matching(query)), reverse=True)
    url, pages = f"/audit?{query}", []
    while url:
        html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        pages.append(html)
        url = _link(html, "next")
        assert url is None or all(part in url for part in query.split("&")), url  # the filters ride along

    assert [seq for html in pages for seq in _seqs(html)] == expected
    assert all(len(_seqs(html)) == 50 for html in pages[:-1])
    assert _link(pages[0], "prev") is None
    # Back from the second page: the first page again.
    back = client.get(_link(pages[1], "prev"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _seqs(back) == _seqs(pages[0])


def _matching(query: str):
    from tests.helpers import audit_events

    events = audit_events()
    if "object_type=area" in query:
        return [e for e in events if e.object_type == "area"]
    if "actor=wang" in query:
        return [e for e in events if "wang" in e.actor_name and e.action.startswith("organization.")]
    return events


def test_a_newer_page_short_of_events_is_the_newest_page(client, many):
    newest = _seqs(client.get("/audit", headers={"HX-Request": "true"}).get_data(as_text=True))

    html = client.get(f"/audit?after={newest[10]}", headers={"HX-Request": "true"}).get_data(as_text=True)

    assert _seqs(html) == newest and _link(html, "prev") is None


def test_the_list_neither_counts_the_table_nor_collects_object_types(client, many, count_queries):
    with count_queries() as counted:
        html = client.get("/audit?before=100").get_data(as_text=True)

    statements = " ".join(s for s in counted.statements if "audit_event" in s).lower()
    assert "limit" in statements
    assert "count(" not in statements and "distinct" not in statements
    assert _seqs(html) == list(range(99, 49, -1))
    assert all(f'<option value="{t}"' in html for t in known_object_types())


def test_the_object_types_are_those_the_models_name():
    types = known_object_types()

    assert {"area", "organization", "user", "contract", "activity", "job", "report"} <= set(types)
    assert list(types) == sorted(set(types))


def test_an_underscore_in_the_action_is_a_character_not_a_wildcard(client, auditor):
    record("red_flag.explained", object_type="red_flag", object_id=1)
    record("redXflag.explained", object_type="red_flag", object_id=2)

    html = client.get("/audit?action=red_flag.", headers={"HX-Request": "true"}).get_data(as_text=True)

    assert _actions(html) == ["red_flag.explained"]


# --- words a person understands ------------------------------------------------------------------

def test_the_trail_describes_actions_names_actors_and_links_objects(client, clock, auditor, count_queries):
    from tests.builders.registry import OrganizationFactory

    org = OrganizationFactory(name="阳光社会工作服务中心")
    wang = UserFactory(username="wangfang", full_name="王芳", role=Role.PROCUREMENT)
    record("organization.updated", actor=wang, obj=org, changes={"address": ["甲", "乙"]})
    record("organization.created", actor=wang, object_type="organization", object_id=999999)  # since deleted
    from svcproc.extensions import db
    db.session.commit()

    with count_queries() as counted:
        html = client.get("/audit").get_data(as_text=True)

    row = html[html.index('data-action="organization.updated"'):]
    row = row[:row.index("</tr>")]
    assert "机构信息更新" in row or "Organization updated" in row
    assert f'href="/registry/organizations/{org.id}"' in row and "阳光社会工作服务中心" in row
    assert "王芳 (wangfang)" in html
    deleted = html[html.index('data-action="organization.created"'):]
    assert "#999999" in deleted[:deleted.index("</tr>")]
    # The words cost one query for the actors and one per object type on the page, not one per row.
    assert counted.count <= 12, counted.statements


def test_the_actors_are_named_with_the_accounts_the_events_concern_in_one_statement(client, auditor, count_queries):
    """A page of events about accounts (logins, changes to a person's account) names the same people
    as actors and as objects: both are read in one statement, and the names stay right."""
    wang = UserFactory(username="wangfang", full_name="王芳", role=Role.ADMIN)
    li = UserFactory(username="lisi", full_name="李四", role=Role.SOCIAL_WORKER)
    zhao = UserFactory(username="zhaowu", full_name="赵五", role=Role.PROCUREMENT)
    record("user.updated", actor=wang, obj=li, changes={"full_name": ["李斯", "李四"]})
    record("organization.created", actor=zhao, object_type="organization", object_id=999999)
    from svcproc.extensions import db
    db.session.commit()

    with count_queries() as counted:
        html = client.get("/audit").get_data(as_text=True)

    def row_of(action):
        at = html.index(f'data-action="{action}"')
        return html[html.rindex("<tr>", 0, at):html.index("</tr>", at)]

    assert "王芳 (wangfang)" in row_of("user.updated") and "李四" in row_of("user.updated")
    assert "赵五 (zhaowu)" in row_of("organization.created")
    accounts = [s for s in counted.statements if "FROM user_account" in s and "user_session" not in s]
    assert len(accounts) == 1, accounts


def test_a_pages_objects_of_every_kind_are_titled_and_linked_from_one_statement(client, auditor, clock,
                                                                              count_queries):
    """Each kind's title and link as read from the objects' own columns (a calendar day by its date,
    an area by its code and name), the objects of every kind and the actors read in one statement."""
    from datetime import date

    from svcproc.core.workdays import LocalCalendarDay, LocalDayKind
    from svcproc.extensions import db
    from tests.builders.registry import AreaFactory, OrganizationFactory

    org = OrganizationFactory(name="阳光社会工作服务中心")
    area = AreaFactory(code="310101001", name="东湖街道")
    wang = UserFactory(username="wangfang", full_name="王芳", role=Role.PROCUREMENT)
    li = UserFactory(username="lisi", full_name="李四", role=Role.ADMIN)
    day = LocalCalendarDay(day=date(2025, 10, 11), kind=LocalDayKind(list(LocalDayKind)[0].value), name="调休",
                           created_at=clock.now)
    db.session.add(day)
    db.session.flush()
    record("organization.updated", actor=wang, obj=org, changes={"address": ["甲", "乙"]})
    record("area.updated", actor=li, obj=area, changes={"name": ["东湖", "东湖街道"]})
    record("calendar.day_set", actor=li, obj=day)
    db.session.commit()
    client.get("/audit")  # the menu's figures, kept from here on

    with count_queries() as counted:
        html = client.get("/audit").get_data(as_text=True)

    def row_of(action):
        at = html.index(f'data-action="{action}"')
        return html[html.rindex("<tr>", 0, at):html.index("</tr>", at)]

    assert "王芳 (wangfang)" in row_of("organization.updated")
    assert f'href="/registry/organizations/{org.id}"' in row_of("organization.updated")
    assert "310101001 东湖街道" in row_of("area.updated") and "李四 (lisi)" in row_of("area.updated")
    assert "2025-10-11" in row_of("calendar.day_set")
    # The person's account, the page of events, then the three kinds of object with the actors.
    assert len(counted.statements) == 3, counted.statements
    assert all(kind in counted.statements[-1] for kind in ("organization", "area", "local_calendar_day"))


def test_every_action_the_code_records_is_described():
    """A code recorded anywhere (a transition's event or a literal passed to `record`) has words."""
    from pathlib import Path

    from svcproc.audit.labels import ACTIONS
    from svcproc.core import workflow

    source = Path(__file__).resolve().parents[2] / "svcproc"
    literal = re.compile(r"""record\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
    codes = {m for path in source.rglob("*.py") for m in literal.findall(path.read_text("utf-8"))}
    from svcproc import models  # noqa: F401 - every domain imported, so every machine registered
    for machine in workflow.MACHINES.values():
        codes |= {t.event for t in machine.transitions.values() if t.event}
    assert codes, "no codes found: the search above is broken"
    assert sorted(codes - set(ACTIONS)) == []


def test_every_object_type_is_named():
    from svcproc.audit.labels import KINDS

    assert sorted(set(known_object_types()) - set(KINDS)) == []
