"""Social workers: bureau staff manage every organization's, an org manager only the own organization's."""
from __future__ import annotations

import re

import pytest

from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry.models import CertificationLevel, SocialWorker
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.registry import OrganizationFactory, SocialWorkerFactory
from tests.helpers import audit_events, count, events_after, last_seq, login


@pytest.fixture
def own_org():
    return OrganizationFactory(name="阳光社工中心")


@pytest.fixture
def other_org():
    return OrganizationFactory(name="同心社工中心")


@pytest.fixture
def manager(client, own_org):
    user = UserFactory(role=Role.ORG_MANAGER, organization=own_org)
    login(client, user)
    return user


def _worker_form(org=None, **changes) -> dict:
    data = {"name": "周婷", "organization_id": str(org.id) if org else "", "certification_level": "intermediate",
            "certificate_number": "ZS20180510001", "phone": "13881010101", "active": "y"}
    data.update(changes)
    return data


def _edit_form(worker: SocialWorker, **changes) -> dict:
    data = {"name": worker.name, "certification_level": worker.certification_level.value,
            "certificate_number": worker.certificate_number, "phone": worker.phone,
            "active": "y" if worker.active else "", "version": str(worker.version)}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def _rows(html: str) -> list[str]:
    """Worker names in the list table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<tr>\s*<td>(.*?)</td>", body, re.S)]


# --- adding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROCUREMENT])
def test_bureau_adds_a_worker_to_any_service_organization(client, other_org, role):
    actor = UserFactory(role=role)
    login(client, actor)

    response = client.post("/registry/workers/new", data=_worker_form(other_org))

    assert response.status_code == 303
    worker = db.session.execute(db.select(SocialWorker)).unique().scalar_one()
    assert (worker.organization_id, worker.certification_level) == (other_org.id, CertificationLevel.INTERMEDIATE)
    [event] = audit_events("social_worker.created")
    assert event.actor_id == actor.id
    assert event.changes["organization_id"] == [None, other_org.id]
    assert event.changes["name"] == [None, "周婷"]


def test_org_manager_adds_a_worker_to_the_own_organization(client, manager, own_org):
    response = client.post("/registry/workers/new", data=_worker_form(own_org))

    assert response.status_code == 303
    assert count(SocialWorker, SocialWorker.organization_id == own_org.id) == 1
    assert audit_events("social_worker.created")[0].actor_id == manager.id


def test_org_manager_cannot_add_a_worker_to_another_organization(client, manager, other_org):
    seq = last_seq()

    response = client.post("/registry/workers/new", data=_worker_form(other_org))

    assert response.status_code in (403, 422)
    assert count(SocialWorker) == 0
    assert events_after(seq) == []


def test_org_manager_s_form_offers_only_the_own_organization(client, manager, own_org, other_org):
    html = client.get("/registry/workers/new").get_data(as_text=True)

    assert own_org.name in html and other_org.name not in html


def test_workers_belong_to_a_service_organization(client):
    evaluation = OrganizationFactory(evaluation=True)
    login(client, UserFactory(role=Role.ADMIN))

    response = client.post("/registry/workers/new", data=_worker_form(evaluation))

    assert response.status_code == 422
    assert count(SocialWorker) == 0


@pytest.mark.parametrize("changes", [
    pytest.param({"certificate_number": ""}, id="certified-without-certificate-number"),
    pytest.param({"name": ""}, id="no-name"),
    pytest.param({"phone": "phone: 138"}, id="bad-phone"),
    pytest.param({"certification_level": "master"}, id="unknown-level"),
])
def test_invalid_workers_are_refused(client, manager, own_org, changes):
    seq = last_seq()

    response = client.post("/registry/workers/new", data=_worker_form(own_org, **changes))

    assert response.status_code == 422
    assert count(SocialWorker) == 0
    assert events_after(seq) == []


def test_an_uncertified_worker_needs_no_certificate_number(client, manager, own_org):
    response = client.post("/registry/workers/new",
                           data=_worker_form(own_org, certification_level="none", certificate_number=""))

    assert response.status_code == 303


# --- editing ------------------------------------------------------------------------------------


def test_org_manager_edits_an_own_worker_and_it_is_audited(client, manager, own_org):
    worker = SocialWorkerFactory(organization=own_org, name="吴昊", certification_level=CertificationLevel.NONE)

    response = client.post(f"/registry/workers/{worker.id}/edit", data=_edit_form(
        worker, certification_level="senior", certificate_number="ZS20150520002", active=""))

    assert response.status_code == 303
    saved = db.session.get(SocialWorker, worker.id)
    assert (saved.certification_level, saved.certificate_number, saved.active) == (
        CertificationLevel.SENIOR, "ZS20150520002", False)
    [event] = audit_events("social_worker.updated")
    assert event.actor_id == manager.id
    assert event.changes == {"certification_level": ["none", "senior"],
                             "certificate_number": ["", "ZS20150520002"], "active": [True, False]}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_org_manager_cannot_edit_another_organization_s_worker(client, manager, other_org, method):
    worker = SocialWorkerFactory(organization=other_org, name="罗建华")
    seq = last_seq()

    response = client.open(f"/registry/workers/{worker.id}/edit", method=method,
                           data=_edit_form(worker, name="被改了") if method == "POST" else None)

    assert response.status_code == 403
    assert db.session.get(SocialWorker, worker.id).name == "罗建华"
    assert events_after(seq) == []


def test_the_organization_of_a_worker_cannot_be_changed(client, other_org):
    worker = SocialWorkerFactory()
    login(client, UserFactory(role=Role.ADMIN))

    client.post(f"/registry/workers/{worker.id}/edit", data=_edit_form(worker, organization_id=str(other_org.id)))

    assert db.session.get(SocialWorker, worker.id).organization_id == worker.organization_id


def test_a_stale_worker_edit_is_refused_and_keeps_the_entries(client, manager, own_org):
    worker = SocialWorkerFactory(organization=own_org, name="原名")
    opened_version = worker.version
    worker.phone = "13900000000"  # someone else saves in the meantime
    db.session.flush()
    seq = last_seq()

    response = client.post(f"/registry/workers/{worker.id}/edit",
                           data=_edit_form(worker, name="我改的名字", version=str(opened_version)))

    assert response.status_code == 409
    assert "我改的名字" in response.get_data(as_text=True)
    saved = db.session.get(SocialWorker, worker.id)
    assert (saved.name, saved.phone) == ("原名", "13900000000")
    assert events_after(seq) == []


# --- the list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ORG_MANAGER, Role.SOCIAL_WORKER])
def test_org_staff_see_only_their_own_organization_s_workers(client, own_org, other_org, role):
    SocialWorkerFactory(organization=own_org, name="本机构社工")
    SocialWorkerFactory(organization=other_org, name="外机构社工")
    login(client, user_for_role(role, organization=own_org))

    for query in ("", f"?org={other_org.id}", "?q=外机构"):
        html = client.get(f"/registry/workers{query}").get_data(as_text=True)
        assert "外机构社工" not in html, query
    assert _rows(client.get("/registry/workers").get_data(as_text=True)) == ["本机构社工"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR])
def test_bureau_and_auditors_see_every_organization_s_workers(client, own_org, other_org, role):
    SocialWorkerFactory(organization=own_org, name="甲社工")
    SocialWorkerFactory(organization=other_org, name="乙社工")
    login(client, UserFactory(role=role))

    response = client.get("/registry/workers")

    assert sorted(_rows(response.get_data(as_text=True))) == sorted(["甲社工", "乙社工"])


def test_the_organization_filter_narrows_the_list(client, own_org, other_org):
    SocialWorkerFactory(organization=own_org, name="甲社工")
    SocialWorkerFactory(organization=other_org, name="乙社工")
    login(client, UserFactory(role=Role.PROCUREMENT))

    response = client.get(f"/registry/workers?org={other_org.id}")

    assert _rows(response.get_data(as_text=True)) == ["乙社工"]


@pytest.mark.parametrize("role, full_phone", [
    (Role.ADMIN, True), (Role.PROCUREMENT, True), (Role.ORG_MANAGER, True), (Role.SOCIAL_WORKER, True),
    (Role.AUDITOR, False),
])
def test_phone_numbers_are_masked_for_those_who_do_not_manage_the_worker(client, own_org, role, full_phone):
    SocialWorkerFactory(organization=own_org, phone="13881010101")
    login(client, user_for_role(role, organization=own_org))

    html = client.get("/registry/workers").get_data(as_text=True)

    assert ("13881010101" in html) is full_phone
    assert ("138****0101" in html) is not full_phone
