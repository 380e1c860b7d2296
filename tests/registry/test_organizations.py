"""Organizations: registration, profile edits, status changes, and what an org manager may touch."""
from __future__ import annotations

import pytest
from flask_babel import gettext as _

from svcproc.core import clock
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry import services
from svcproc.registry.models import Organization, OrgKind, OrgRating, OrgStatus
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.registry import AreaFactory, OrganizationFactory, credit_code
from tests.helpers import audit_events, count, events_after, in_page, last_seq, login

VALID_CODE = "91350100M000100Y43"


def _reload(org) -> Organization:
    return db.session.get(Organization, org.id)


def _edit_form(org: Organization, **changes) -> dict:
    data = {"name": org.name, "credit_code": org.credit_code, "kind": org.kind.value,
            "registration_type": org.registration_type.value, "rating": org.rating.value,
            "area_id": str(org.area_id or ""), "address": org.address, "contact_name": org.contact_name,
            "contact_phone": org.contact_phone, "contact_email": org.contact_email, "version": str(org.version)}
    data.update(changes)
    return data


@pytest.fixture
def org():
    return OrganizationFactory(name="成都市武侯区阳光社会工作服务中心", rating=OrgRating.A3, address="玉林北路18号")


# --- registering --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROCUREMENT])
def test_bureau_registers_an_organization(client, clock, role):
    actor = UserFactory(role=role)
    login(client, actor)
    area = AreaFactory()

    response = client.post("/registry/organizations/new", data={
        "name": " 成都市武侯区新星社会工作服务中心 ", "credit_code": VALID_CODE, "kind": "service",
        "registration_type": "social_service_agency", "rating": "4A", "area_id": str(area.id),
        "contact_phone": "028-8555 1234"})

    org = db.session.execute(db.select(Organization).filter_by(credit_code=VALID_CODE)).unique().scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/registry/organizations/{org.id}"
    assert (org.name, org.rating, org.status, org.area_id) == (
        "成都市武侯区新星社会工作服务中心", OrgRating.A4, OrgStatus.ACTIVE, area.id)
    assert org.status_changed_at == clock.now == org.created_at
    [event] = audit_events("organization.created")
    assert event.actor_id == actor.id
    assert event.changes["credit_code"] == [None, VALID_CODE]
    assert event.changes["rating"] == [None, "4A"]


def test_an_invalid_phone_number_is_refused(client):
    login(client, UserFactory(role=Role.ADMIN))

    response = client.post("/registry/organizations/new", data={
        "name": "某机构", "credit_code": VALID_CODE, "kind": "service",
        "registration_type": "social_service_agency", "rating": "none", "contact_phone": "call me"})

    assert response.status_code == 422
    assert count(Organization) == 0


# --- editing ------------------------------------------------------------------------------------


def test_bureau_edit_is_audited_with_before_and_after(client, org):
    login(client, UserFactory(role=Role.PROCUREMENT))
    new_code, old_code = credit_code(777_001), org.credit_code

    response = client.post(f"/registry/organizations/{org.id}/edit",
                           data=_edit_form(org, rating="5A", credit_code=new_code, address="玉林北路20号"))

    assert response.status_code == 303
    saved = _reload(org)
    assert (saved.rating, saved.credit_code, saved.address) == (OrgRating.A5, new_code, "玉林北路20号")
    [event] = audit_events("organization.updated")
    # A new rating given without its date was given the day it is recorded.
    today = clock.to_local(clock.now()).date()
    assert saved.rated_on == today
    assert event.changes == {"rating": ["3A", "5A"], "rated_on": [None, today.isoformat()],
                             "credit_code": [old_code, new_code], "address": ["玉林北路18号", "玉林北路20号"]}


def test_org_manager_edits_the_own_profile(client, org):
    manager = UserFactory(role=Role.ORG_MANAGER, organization=org)
    login(client, manager)

    response = client.post(f"/registry/organizations/{org.id}/edit",
                           data=_edit_form(org, address="玉林北路22号", contact_name="李晓梅"))

    assert response.status_code == 303
    saved = _reload(org)
    assert (saved.address, saved.contact_name) == ("玉林北路22号", "李晓梅")
    assert audit_events("organization.updated")[0].actor_id == manager.id


def test_org_manager_cannot_change_rating_code_or_kind_of_the_own_organization(client, org):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=org))
    code_before = org.credit_code

    response = client.post(f"/registry/organizations/{org.id}/edit", data=_edit_form(
        org, rating="5A", credit_code=credit_code(777_002), kind="evaluation", address="玉林北路22号"))

    assert response.status_code == 303
    saved = _reload(org)
    assert (saved.rating, saved.credit_code, saved.kind) == (OrgRating.A3, code_before, OrgKind.SERVICE)
    [event] = audit_events("organization.updated")
    assert set(event.changes) == {"address"}


def test_org_manager_form_shows_code_and_rating_read_only(client, org):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=org))

    html = client.get(f"/registry/organizations/{org.id}/edit").get_data(as_text=True)

    assert 'name="credit_code"' not in html and 'name="rating"' not in html
    assert org.credit_code in html


def test_org_manager_cannot_set_the_status_of_the_own_organization(client, org):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=org))
    seq = last_seq()

    response = client.post(f"/registry/organizations/{org.id}/status", data={"status": "suspended", "reason": "自查"})

    assert response.status_code == 403
    assert _reload(org).status == OrgStatus.ACTIVE
    assert events_after(seq) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_org_manager_cannot_edit_another_organization(client, org, method):
    other = OrganizationFactory(name="另一家机构")
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=org))

    response = client.open(f"/registry/organizations/{other.id}/edit", method=method,
                           data=_edit_form(other, name="被改了") if method == "POST" else None)

    assert response.status_code == 403
    assert _reload(other).name == "另一家机构"
    assert audit_events("organization.updated") == []


def test_a_stale_organization_edit_is_refused_and_keeps_the_entries(client, org):
    login(client, UserFactory(role=Role.PROCUREMENT))
    opened = client.get(f"/registry/organizations/{org.id}/edit")
    assert f'name="version" type="hidden" value="{org.version}"' in opened.get_data(as_text=True)
    opened_version = org.version
    services.update_organization(UserFactory(role=Role.ADMIN), org, may_set_status=True, address="别人改的地址")
    db.session.flush()
    events_before = len(audit_events())

    response = client.post(f"/registry/organizations/{org.id}/edit", data=_edit_form(
        org, address="我改的地址", contact_name="我填的联系人", version=str(opened_version)))

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "我改的地址" in html and "我填的联系人" in html
    saved = _reload(org)
    assert (saved.address, saved.contact_name) == ("别人改的地址", "")
    assert len(audit_events()) == events_before


# --- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspended", "dishonest"])
def test_suspending_or_listing_needs_a_reason(client, org, status):
    login(client, UserFactory(role=Role.PROCUREMENT))
    changed_at, seq = org.status_changed_at, last_seq()

    response = client.post(f"/registry/organizations/{org.id}/status", data={"status": status, "reason": "  "})

    assert response.status_code == 422
    saved = _reload(org)
    assert (saved.status, saved.status_reason, saved.status_changed_at) == (OrgStatus.ACTIVE, "", changed_at)
    assert events_after(seq) == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROCUREMENT])
@pytest.mark.parametrize("status", ["suspended", "dishonest"])
def test_status_and_its_time_are_set_together(client, clock, org, role, status):
    actor = UserFactory(role=role)
    login(client, actor)
    later = clock.advance(days=3)

    response = client.post(f"/registry/organizations/{org.id}/status",
                           data={"status": status, "reason": "年检不合格"})

    assert response.status_code == 303
    saved = _reload(org)
    assert (saved.status, saved.status_reason, saved.status_changed_at) == (OrgStatus(status), "年检不合格", later)
    [event] = audit_events(f"organization.status.{status}")
    assert event.actor_id == actor.id
    assert event.changes == {"status": ["active", status], "status_reason": ["", "年检不合格"]}


def test_reactivating_needs_no_reason(client, clock, org):
    login(client, UserFactory(role=Role.ADMIN))
    org.status, org.status_reason = OrgStatus.SUSPENDED, "整改中"
    db.session.flush()

    response = client.post(f"/registry/organizations/{org.id}/status", data={"status": "active", "reason": ""})

    assert response.status_code == 303
    saved = _reload(org)
    assert (saved.status, saved.status_reason, saved.status_changed_at) == (OrgStatus.ACTIVE, "", clock.now)


def test_setting_the_same_status_again_is_refused(client, org):
    login(client, UserFactory(role=Role.ADMIN))
    seq = last_seq()

    response = client.post(f"/registry/organizations/{org.id}/status", data={"status": "active", "reason": ""})

    assert response.status_code == 409
    assert events_after(seq) == []


def test_the_status_form_answers_htmx_with_the_fragment(client, org):
    login(client, UserFactory(role=Role.ADMIN))

    response = client.post(f"/registry/organizations/{org.id}/status", data={"status": "dishonest", "reason": ""},
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="status-form"') and "<html" not in html


# --- the organization page ----------------------------------------------------------------------


@pytest.mark.parametrize("role, sees_edit, sees_status", [
    (Role.ADMIN, True, True), (Role.PROCUREMENT, True, True), (Role.EXPERT, False, False),
    (Role.EVALUATOR, False, False), (Role.AUDITOR, False, False), (Role.SOCIAL_WORKER, False, False),
])
def test_the_page_shows_only_the_buttons_the_person_may_use(client, org, role, sees_edit, sees_status):
    login(client, user_for_role(role, organization=org if role == Role.SOCIAL_WORKER else None))

    html = client.get(f"/registry/organizations/{org.id}").get_data(as_text=True)

    assert (f"/registry/organizations/{org.id}/edit" in html) is sees_edit
    assert ('id="status-form"' in html) is sees_status


def test_a_missing_organization_is_404(client):
    login(client, UserFactory(role=Role.EXPERT))

    assert client.get("/registry/organizations/999999").status_code == 404


def test_a_refused_status_change_answers_on_the_organization_page(client, org):
    login(client, UserFactory(role=Role.ADMIN))

    response = client.post(f"/registry/organizations/{org.id}/status",
                           data={"status": "suspended", "reason": "", "csrf_token": ""})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" in html and org.name in html and 'id="status-form"' in html
    assert in_page(lambda: _("Give the reason for suspending or listing the organization.")) in html
    assert _reload(org).status == OrgStatus.ACTIVE
