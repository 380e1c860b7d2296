"""Who sees and does what: an organization never sees another's contracts or files; auditors read
everything and change nothing; the public sees signed contracts' notices, never a draft."""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from svcproc.contracts.models import ContractStatus, Deliverable, Milestone
from svcproc.core.permissions import Role
from svcproc.registry.models import Organization
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.registry import OrganizationFactory
from tests.helpers import login

from tests.builders.contracts import ContractSetup, contract_in, deliver
from tests.builders.files import pdf_bytes
from .conftest import db_state

C = ContractStatus


@dataclass
class World:
    """Contract `a` of organization A (in progress, its first milestone submitted with a file), and
    organization B, whose contract `b` (a draft) is drawn up when a test first asks for it."""

    a: ContractSetup
    milestone: Milestone
    deliverable: Deliverable
    clock: object
    other_org: Organization
    _b: ContractSetup | None = None

    @property
    def b(self) -> ContractSetup:
        if self._b is None:
            self._b = contract_in(C.DRAFT, self.clock)
            self.other_org = self._b.org
        return self._b

    def user(self, who: str):
        """"a-manager", "b-worker", … (an organization's own people) or a role's value."""
        if who == "a-manager":
            return self.a.manager
        if who == "b-manager":
            return self._b.manager if self._b else UserFactory(role=Role.ORG_MANAGER, organization=self.other_org)
        if who in ("a-worker", "b-worker"):
            return user_for_role(Role.SOCIAL_WORKER, self.a.org if who[0] == "a" else self.other_org)
        return user_for_role(Role(who))


@pytest.fixture
def world(clock):
    a = contract_in(C.IN_PROGRESS, clock)
    milestone = a.milestones[0]
    deliver(a, milestone)
    return World(a=a, milestone=milestone, deliverable=milestone.deliverables[0], clock=clock,
                 other_org=OrganizationFactory())


def _get_urls(w: World) -> dict[str, str]:
    c, m = w.a.contract, w.milestone
    return {
        "contract": f"/contracts/{c.id}",
        "edit": f"/contracts/{c.id}/edit",
        "amend": f"/contracts/{c.id}/amend",
        "download": f"/milestones/{m.id}/deliverables/{w.deliverable.id}",
    }


def _post_urls(w: World) -> dict[str, tuple[str, dict]]:
    """Every POST endpoint of the contracts blueprint, aimed at organization A's contract."""
    c, m, later = w.a.contract, w.milestone, w.a.milestones[1]
    return {
        "contracts.contract_new": (f"/contracts/new?tender={w.a.contract.tender_id}", {}),
        "contracts.contract_edit": (f"/contracts/{c.id}/edit", {"title": "改"}),
        "contracts.contract_transition": (f"/contracts/{c.id}/do/complete", {}),
        "contracts.contract_sign": (f"/contracts/{c.id}/sign", {"signed_on": "2025-01-01"}),
        "contracts.contract_terminate": (f"/contracts/{c.id}/terminate", {"reason": "终止"}),
        "contracts.contract_amend": (f"/contracts/{c.id}/amend", {"reason": "变更", "amended_on": "2025-01-01",
                                                                  "target_people": "1", "version": str(c.version)}),
        "contracts.deliverable_add": (f"/milestones/{later.id}/deliverables",
                                      {"kind": "report", "files": [(io.BytesIO(pdf_bytes()), "x.pdf")]}),
        "contracts.milestone_submit": (f"/milestones/{later.id}/submit", {}),
        "contracts.milestone_review": (f"/milestones/{m.id}/review", {"decision": "accept", "comment": ""}),
        "contracts.payment_add": (f"/milestones/{m.id}/payments", {"amount": "1", "voucher_number": "PZ",
                                                                   "paid_on": "2025-01-01"}),
        "contracts.milestone_period_reopen": (f"/milestones/{m.id}/entries/reopen", {"reason": "更正"}),
        "contracts.milestone_period_close": (f"/milestones/{m.id}/entries/close", {}),
        "contracts.bond_record": (f"/contracts/{c.id}/bond", {"amount": "1", "form": "transfer",
                                                              "received_on": "2025-01-01"}),
        "contracts.bond_return": (f"/contracts/{c.id}/bond/return", {"returned_on": "2025-01-01"}),
    }


def test_the_post_list_covers_every_post_endpoint(app, world):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("contracts.") and "POST" in rule.methods}

    assert endpoints == set(_post_urls(world))


# --- another organization ---------------------------------------------------------------------------

OUTSIDERS = ["b-manager", "b-worker"]


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("page", ["contract", "edit", "amend", "download"])
def test_another_organization_cannot_open_anything(client, world, who, page):
    login(client, world.user(who))

    response = client.get(_get_urls(world)[page])

    assert response.status_code in (403, 404)
    assert world.a.contract.number not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", OUTSIDERS)
def test_another_organization_cannot_reach_a_file_through_its_own_milestone(client, world, who):
    own = world.b.milestones[0]  # organization B's own contract
    login(client, world.user(who))

    response = client.get(f"/milestones/{own.id}/deliverables/{world.deliverable.id}")

    assert response.status_code == 404


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("endpoint", ["contracts.contract_new", "contracts.contract_edit",
                                      "contracts.contract_transition", "contracts.contract_sign",
                                      "contracts.contract_terminate", "contracts.contract_amend",
                                      "contracts.deliverable_add", "contracts.milestone_submit",
                                      "contracts.milestone_review", "contracts.payment_add",
                                      "contracts.milestone_period_reopen", "contracts.milestone_period_close"])
def test_another_organization_changes_nothing(client, world, who, endpoint):
    url, data = _post_urls(world)[endpoint]
    login(client, world.user(who))
    before = db_state()

    response = client.post(url, data=data, content_type="multipart/form-data")

    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("who", OUTSIDERS)
def test_the_contract_list_holds_only_the_organizations_own(client, world, who):
    assert world.b  # organization B has a contract of its own
    login(client, world.user(who))

    page = client.get("/contracts").get_data(as_text=True)

    assert world.b.contract.number in page
    assert world.a.contract.number not in page
    assert world.a.org.name not in page


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_search_does_not_reach_another_organizations_contracts(client, world, who):
    login(client, world.user(who))

    page = client.get(f"/contracts?q={world.a.contract.number}", headers={"HX-Request": "true"}).get_data(as_text=True)

    # The list's export links carry the typed search back (to export what is listed); no row does.
    assert world.a.contract.number not in page.replace(f"q={world.a.contract.number}", "")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_reminders_hold_only_the_organizations_own(client, clock, world, who):
    clock.set(clock.now.replace(year=clock.now.year + 2))  # everything of A is overdue by now
    login(client, world.user(who))

    page = client.get("/reminders").get_data(as_text=True)

    assert world.a.contract.number not in page


@pytest.mark.parametrize("who", ["a-manager", "a-worker"])
def test_the_organizations_own_staff_see_its_contract_and_files(client, world, who):
    login(client, world.user(who))

    assert client.get(f"/contracts/{world.a.contract.id}").status_code == 200
    assert client.get(_get_urls(world)["download"]).data == pdf_bytes(world.milestone.title)
    assert world.a.contract.number in client.get("/contracts").get_data(as_text=True)


def test_a_social_worker_cannot_upload_for_the_organization(client, world):
    url, data = _post_urls(world)["contracts.deliverable_add"]
    login(client, world.user("a-worker"))
    before = db_state()

    response = client.post(url, data=data, content_type="multipart/form-data")

    assert response.status_code == 403
    assert db_state() == before


# --- roles without contracts ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["expert", "evaluator"])
@pytest.mark.parametrize("url", ["/contracts", "/reminders", "contract", "download"])
def test_experts_and_evaluators_see_no_contracts(client, world, who, url):
    login(client, world.user(who))

    response = client.get(_get_urls(world).get(url, url))

    assert response.status_code == 403


def test_an_org_manager_without_an_organization_sees_nothing(client, world):
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=None))

    assert client.get("/contracts").status_code == 403
    assert client.get(f"/contracts/{world.a.contract.id}").status_code == 403


@pytest.mark.parametrize("url", ["/contracts", "/reminders", "contract", "download"])
def test_anonymous_visitors_are_sent_to_log_in(client, world, url):
    response = client.get(_get_urls(world).get(url, url))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- auditors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["contract", "download"])
def test_auditors_read(client, world, page):
    login(client, world.user("auditor"))

    assert client.get(_get_urls(world)[page]).status_code == 200


def test_auditors_see_every_contract(client, world):
    assert world.b
    login(client, world.user("auditor"))

    page = client.get("/contracts").get_data(as_text=True)

    assert world.a.contract.number in page and world.b.contract.number in page


@pytest.mark.parametrize("page", ["edit", "amend"])
def test_auditors_open_no_forms(client, world, page):
    login(client, world.user("auditor"))

    assert client.get(_get_urls(world)[page]).status_code == 403


@pytest.mark.parametrize("endpoint", ["contracts.contract_new", "contracts.contract_edit",
                                      "contracts.contract_transition", "contracts.contract_sign",
                                      "contracts.contract_terminate", "contracts.contract_amend",
                                      "contracts.deliverable_add", "contracts.milestone_submit",
                                      "contracts.milestone_review", "contracts.payment_add",
                                      "contracts.milestone_period_reopen", "contracts.milestone_period_close"])
def test_auditors_change_nothing(client, world, endpoint):
    url, data = _post_urls(world)[endpoint]
    login(client, world.user("auditor"))
    before = db_state()

    response = client.post(url, data=data, content_type="multipart/form-data")

    assert response.status_code == 403
    assert db_state() == before


def test_the_contract_page_shows_an_auditor_no_buttons(client, world):
    login(client, world.user("auditor"))

    page = client.get(f"/contracts/{world.a.contract.id}").get_data(as_text=True)

    assert "<form" not in page.split('<main id="main"', 1)[1]


# --- public notices -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "a-manager", "b-manager", "procurement"])
def test_a_drafts_notice_does_not_exist(client, world, who):
    assert world.b
    if who != "anonymous":
        login(client, world.b.manager if who == "b-manager" else world.user(who))

    response = client.get(f"/notices/contracts/{world.b.contract.id}")

    assert response.status_code == 404
    assert world.b.contract.number not in client.get("/notices/contracts").get_data(as_text=True)


def test_a_running_contracts_notice_is_public(client, world):
    response = client.get(f"/notices/contracts/{world.a.contract.id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert world.a.contract.number in page and world.a.org.name in page
    assert world.milestone.title in page                       # the payment schedule
    assert world.deliverable.title not in page                 # not the deliverables
    assert world.a.contract.number in client.get("/notices/contracts").get_data(as_text=True)


def test_the_notice_is_public_from_the_signing_on(client, any_contract):
    contract = any_contract.contract

    response = client.get(f"/notices/contracts/{contract.id}")

    assert response.status_code == (404 if contract.status == C.DRAFT else 200)


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_the_contract_page_in_every_status(client, any_contract, who):
    login(client, getattr(any_contract, who))

    response = client.get(f"/contracts/{any_contract.contract.id}")

    assert response.status_code == 200
    assert f'class="badge badge-{any_contract.contract.status.value}"' in response.get_data(as_text=True)
