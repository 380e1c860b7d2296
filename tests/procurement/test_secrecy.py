"""Before the bid deadline nobody but the bidding organization sees a bid's price or documents.

A published tender holding three bids is built once for the module. For every kind of person
(staff, auditors, experts on and off the panel, other bidders, outsiders, the public) every GET
page of the app is fetched, as a full page and as an htmx fragment, plus the lists' searches and
the CSV exports; no answer may contain the secret bid's price in any spelling, nor its document's
name or bytes. Then the opening, after the deadline, shows staff what was hidden.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote_plus, urlencode

import pytest

from svcproc.accounts.models import User
from svcproc.core.formatting import fen_to_yuan_text, money
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import workflow
from svcproc.procurement.models import Tender, TenderStatus
from svcproc.registry.models import OrgRating
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.files import pdf_upload
from tests.builders.procurement import submit_need, tender_in
from tests.builders.registry import AreaFactory, OrganizationFactory, SocialWorkerFactory
from tests.helpers import every_get_url, login

pytestmark = pytest.mark.usefixtures("shared_connection")

SECRET_FEN = 43_721_953                 # ¥437,219.53
DOCUMENT_NAME = "机密投标方案A7731.pdf"
DOCUMENT_BYTES = "SECRET-BID-BYTES-Q8Z"
SECRETS = sorted({str(SECRET_FEN), fen_to_yuan_text(SECRET_FEN), money(SECRET_FEN), money(SECRET_FEN)[1:],
                  str(SECRET_FEN // 100), DOCUMENT_NAME, "A7731", DOCUMENT_BYTES})

PEOPLE = ("admin", "procurement", "expert_on_panel", "expert_not_on_panel", "other_bidder", "non_bidder",
          "social_worker", "evaluator", "auditor", "anonymous")


def _build(clock) -> dict:
    secret_org = OrganizationFactory(name="甲社会工作服务中心", rating=OrgRating.A4)
    others = [OrganizationFactory(rating=OrgRating.A4), OrganizationFactory(rating=OrgRating.A4)]
    outsider = OrganizationFactory()
    people = {
        "admin": UserFactory(role=Role.ADMIN), "procurement": UserFactory(role=Role.PROCUREMENT),
        "expert_on_panel": UserFactory(role=Role.EXPERT), "expert_not_on_panel": UserFactory(role=Role.EXPERT),
        "owner": UserFactory(role=Role.ORG_MANAGER, organization=secret_org),
        "other_bidder": UserFactory(role=Role.ORG_MANAGER, organization=others[0]),
        "non_bidder": UserFactory(role=Role.ORG_MANAGER, organization=outsider),
        "social_worker": user_for_role(Role.SOCIAL_WORKER, organization=outsider),
        "evaluator": user_for_role(Role.EVALUATOR), "auditor": UserFactory(role=Role.AUDITOR),
    }
    setup = tender_in(
        TenderStatus.PUBLISHED, clock, orgs=[secret_org, *others], prices=[SECRET_FEN, 42_000_000, 40_000_000],
        managers=[people["owner"], people["other_bidder"], UserFactory(role=Role.ORG_MANAGER, organization=others[1])],
        experts=[people["expert_on_panel"], UserFactory(role=Role.EXPERT), UserFactory(role=Role.EXPERT)],
        staff=people["procurement"], questions=("投标报价是否包含税费？",))
    # The secret bid again, with the document under its telling name and bytes.
    workflow.withdraw_bid(people["owner"], setup.bids[0])
    bid = workflow.submit_bid(people["owner"], setup.tender, price_fen=SECRET_FEN, declaration="承诺真实。",
                              declaration_accepted=True,
                              uploads=[pdf_upload(DOCUMENT_NAME, DOCUMENT_BYTES)])
    return {
        "now": clock.now,
        "people": {who: user.id for who, user in people.items()},
        "values": {
            "tender_id": setup.tender.id, "bid_id": bid.id, "document_id": bid.documents[0].id,
            "plan_id": setup.plan.id, "need_id": submit_need().id, "org_id": secret_org.id,
            "worker_id": SocialWorkerFactory(organization=secret_org).id, "area_id": AreaFactory().id,
            "user_id": people["owner"].id, "locale": "en",
        },
        "tender_document_id": setup.tender.documents[0].id,
    }


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


@pytest.fixture
def world(built, clock):
    clock.set(built["now"])
    return built


def _person(world, who) -> User:
    return db.session.get(User, world["people"][who])


def _urls(app, world) -> list[str]:
    values = world["values"]
    urls = every_get_url(app, values, per_endpoint={
        "public.tender_document": {"document_id": world["tender_document_id"]}})
    return urls + [
        "/procurement/tenders?status=published", "/procurement/tenders?page=2", "/procurement/tenders/export.csv",
        "/audit/export.csv", "/audit/export.csv?object_type=bid", "/audit?object_type=bid", "/audit?action=bid.",
        f"/audit?object_type=bid&object_id={values['bid_id']}", "/notices?kind=open",
    ]


def _leaks(response) -> list[str]:
    body = response.get_data()
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return [s for s in SECRETS if s.encode() in body or s in headers]


@pytest.mark.parametrize("who", PEOPLE)
def test_before_the_deadline_no_page_shows_a_bid_to_anyone_but_its_organization(app, client, world, who):
    if who != "anonymous":
        login(client, _person(world, who))
    urls = _urls(app, world)

    answered = {}
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            answered[url] = response.status_code
            assert _leaks(response) == [], f"{who}: GET {url} {headers}"

    tender_url = f"/procurement/tenders/{world['values']['tender_id']}"
    notice_url = f"/notices/tenders/{world['values']['tender_id']}"
    assert answered[notice_url] == 200
    if who in ("admin", "procurement", "auditor", "expert_on_panel", "other_bidder", "non_bidder"):
        assert answered[tender_url] == 200, "the tender page itself was seen"
    if who in ("admin", "procurement", "auditor"):
        assert answered["/procurement/tenders/export.csv"] == 200
    if who in ("admin", "auditor"):
        assert answered["/audit/export.csv?object_type=bid"] == 200


# Searches a curious person might try; the page echoes the search term, so instead of looking for
# the price the test compares the answer with the answer to a price nobody bid.
SEARCHES = ("/procurement/tenders?q={term}", "/procurement/needs?q={term}", "/audit?actor={term}",
            "/registry/organizations?q={term}", "/notices?q={term}")
TERMS = [(fen_to_yuan_text(SECRET_FEN), "437219.54"), (str(SECRET_FEN // 100), "437218"),
         (money(SECRET_FEN), "¥437,219.54"), (str(SECRET_FEN), "43721954")]


@pytest.mark.parametrize("who", ["admin", "procurement", "auditor", "other_bidder", "expert_on_panel"])
def test_searching_for_the_price_answers_as_for_any_other_price(client, world, who):
    login(client, _person(world, who))

    for search in SEARCHES:
        for real, decoy in TERMS:
            answers = []
            for term in (real, decoy):
                response = client.get(search.format(term=term), headers={"HX-Request": "true"})
                # The term comes back as typed, in the search's own link (quote_plus) and in the links
                # a list builds with url_for (its export's, keeping the filters; werkzeug's safe set).
                body = (response.get_data(as_text=True).replace(quote_plus(term), "TERM")
                        .replace(urlencode({"q": term}, safe="!$'()*,/:;?@")[2:], "TERM").replace(term, "TERM"))
                answers.append((response.status_code, body))
            assert answers[0] == answers[1], f"{who}: {search} answers differently for the bid's price"


def test_the_walk_covers_every_get_endpoint(app, world):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"}
    adapter = app.url_map.bind("localhost")

    walked = {adapter.match(url.split("?")[0])[0] for url in _urls(app, world)}

    assert walked == endpoints


def test_the_bidding_organization_sees_its_own_price_and_document(client, world):
    login(client, _person(world, "owner"))
    bid_id = world["values"]["bid_id"]

    receipt = client.get(f"/procurement/bids/{bid_id}/receipt").get_data(as_text=True)
    page = client.get(f"/procurement/tenders/{world['values']['tender_id']}").get_data(as_text=True)
    document = client.get(f"/procurement/bids/{bid_id}/documents/{world['values']['document_id']}")

    assert money(SECRET_FEN) in receipt and DOCUMENT_NAME in receipt
    assert money(SECRET_FEN) in page
    assert document.status_code == 200 and DOCUMENT_BYTES.encode() in document.get_data()


def test_after_the_deadline_and_the_opening_staff_see_the_prices(client, clock, world):
    tender = db.session.get(Tender, world["values"]["tender_id"])
    staff = _person(world, "procurement")
    clock.set(tender.opening_at + timedelta(minutes=1))
    workflow.open_bids(staff, tender)
    login(client, staff)

    record = client.get(f"/procurement/tenders/{tender.id}/opening")
    page = client.get(f"/procurement/tenders/{tender.id}")
    document = client.get(f"/procurement/bids/{world['values']['bid_id']}/documents/{world['values']['document_id']}")

    assert record.status_code == 200
    assert money(SECRET_FEN) in record.get_data(as_text=True)
    assert DOCUMENT_NAME in record.get_data(as_text=True)
    assert money(SECRET_FEN) in page.get_data(as_text=True)
    assert DOCUMENT_BYTES.encode() in document.get_data()


def test_after_the_deadline_but_before_the_opening_the_bids_stay_sealed(client, clock, world):
    tender = db.session.get(Tender, world["values"]["tender_id"])
    staff = _person(world, "procurement")
    clock.set(tender.bid_deadline + timedelta(minutes=1))
    workflow.close_bidding(staff, tender)
    login(client, staff)

    record = client.get(f"/procurement/tenders/{tender.id}/opening")
    page = client.get(f"/procurement/tenders/{tender.id}")

    assert record.status_code == 409
    assert _leaks(record) == [] and _leaks(page) == []
