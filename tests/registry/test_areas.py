"""Areas: district > street > community > grid, unique division codes, audited changes."""
from __future__ import annotations

import pytest

from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry.models import Area, AreaLevel
from tests.builders.accounts import UserFactory
from tests.builders.registry import AreaFactory
from tests.helpers import audit_events, count, login


@pytest.fixture
def admin(client):
    user = UserFactory(role=Role.ADMIN)
    login(client, user)
    return user


@pytest.fixture
def tree():
    district = AreaFactory(level=AreaLevel.DISTRICT, code="510107", name="武侯区")
    street = AreaFactory(level=AreaLevel.STREET, code="510107001", name="玉林街道", parent=district)
    community = AreaFactory(level=AreaLevel.COMMUNITY, code="510107001001", name="玉林北路社区", parent=street)
    grid = AreaFactory(level=AreaLevel.GRID, code="510107001001001", name="第一网格", parent=community)
    return {"district": district, "street": street, "community": community, "grid": grid, None: None}


def _area_form(level: str, code: str, name: str, parent: Area | None) -> dict:
    return {"level": level, "code": code, "name": name, "parent_id": str(parent.id) if parent else ""}


@pytest.mark.parametrize("level, parent_level", [
    ("district", None), ("street", "district"), ("community", "street"), ("grid", "community"),
])
def test_an_area_sits_under_the_level_above(client, admin, tree, level, parent_level):
    response = client.post("/registry/areas/new", data=_area_form(level, "510107099", "新区域", tree[parent_level]))

    assert response.status_code == 303
    area = db.session.execute(db.select(Area).filter_by(code="510107099")).unique().scalar_one()
    assert area.level == AreaLevel(level)
    assert area.parent_id == (tree[parent_level].id if parent_level else None)
    [event] = audit_events("area.created")
    assert event.actor_id == admin.id and event.object_id == str(area.id)
    assert event.changes["code"] == [None, "510107099"] and event.changes["level"] == [None, level]


@pytest.mark.parametrize("level, parent_level", [
    ("district", "district"), ("street", None), ("street", "street"), ("street", "community"),
    ("community", None), ("community", "district"), ("grid", "street"), ("grid", None),
])
def test_an_area_in_the_wrong_place_is_refused(client, admin, tree, level, parent_level):
    before = count(Area)

    response = client.post("/registry/areas/new", data=_area_form(level, "510107099", "新区域", tree[parent_level]))

    assert response.status_code == 422
    assert count(Area) == before
    assert audit_events("area.created") == []


@pytest.mark.parametrize("data", [
    pytest.param({"code": "510107001"}, id="duplicate-code"),
    pytest.param({"code": "5101-07"}, id="code-with-punctuation"),
    pytest.param({"code": ""}, id="no-code"),
    pytest.param({"name": ""}, id="no-name"),
    pytest.param({"level": "province"}, id="unknown-level"),
    pytest.param({"parent_id": "999999"}, id="unknown-parent"),
])
def test_invalid_areas_are_refused(client, admin, tree, data):
    form = _area_form("street", "510107098", "新街道", tree["district"]) | data
    before = count(Area)

    response = client.post("/registry/areas/new", data=form)

    assert response.status_code == 422
    assert count(Area) == before
    assert audit_events("area.created") == []


def test_renaming_an_area_is_audited_with_before_and_after(client, admin, tree):
    street = tree["street"]

    response = client.post(f"/registry/areas/{street.id}/edit", data={
        "code": street.code, "name": "玉林街道（新）", "parent_id": str(tree["district"].id),
        "version": str(street.version)})

    assert response.status_code == 303
    assert db.session.get(Area, street.id).name == "玉林街道（新）"
    [event] = audit_events("area.updated")
    assert event.changes == {"name": ["玉林街道", "玉林街道（新）"]}


def test_the_level_of_an_area_cannot_be_changed(client, admin, tree):
    street = tree["street"]

    client.post(f"/registry/areas/{street.id}/edit", data={
        "level": "district", "code": street.code, "name": street.name, "parent_id": "",
        "version": str(street.version)})

    saved = db.session.get(Area, street.id)
    assert (saved.level, saved.parent_id) == (AreaLevel.STREET, tree["district"].id)


def test_an_edit_taking_another_area_s_code_is_refused(client, admin, tree):
    community = tree["community"]

    response = client.post(f"/registry/areas/{community.id}/edit", data={
        "code": tree["street"].code, "name": community.name, "parent_id": str(tree["street"].id),
        "version": str(community.version)})

    assert response.status_code == 422
    assert db.session.get(Area, community.id).code == "510107001001"
    assert audit_events("area.updated") == []


def test_a_stale_area_edit_is_refused_and_keeps_the_entries(client, admin, tree):
    street = tree["street"]
    opened_version = street.version
    street.name = "别人改的名字"  # someone else saves in the meantime
    db.session.flush()
    events_before = len(audit_events())

    response = client.post(f"/registry/areas/{street.id}/edit", data={
        "code": street.code, "name": "我改的名字", "parent_id": str(tree["district"].id),
        "version": str(opened_version)})

    assert response.status_code == 409
    assert "我改的名字" in response.get_data(as_text=True)
    assert db.session.get(Area, street.id).name == "别人改的名字"
    assert len(audit_events()) == events_before


def test_new_area_form_suggests_the_level_below_the_parent(client, admin, tree):
    response = client.get(f"/registry/areas/new?parent={tree['street'].id}")

    assert response.status_code == 200
    assert '<option selected value="community">' in response.get_data(as_text=True)
