"""The money guarantees on the pages: the tender form's deposit and deduction, deposits recorded and
returned from the tender page, the bidder's explanation of a low price and the panel's ruling, the
ranking's evaluated prices, the deposits due on the bureau's home page, the bond on the contract page."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from svcproc.core import workdays
from svcproc.extensions import db
from svcproc.procurement import guarantees, workflow
from svcproc.procurement.models import Tender, TenderStatus
from svcproc.registry.models import OrgRating, OrgScale
from tests.builders.files import pdf_upload
from tests.builders.procurement import CEILING_FEN, make_plan, score_all, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import count

S = TenderStatus
DEPOSIT_CAP = CEILING_FEN * 2 // 100


def _tender_form(**changes) -> dict:
    return {"title": "社区长者服务", "method": "public_tender", "ceiling": "500000", "min_rating": "none",
            "price_weight": "20", "description": "", "clarification_deadline": "2025-03-13T10:00",
            "bid_deadline": "2025-03-24T10:00", "opening_at": "2025-03-24T11:00", "publicity_days": "7",
            "deposit": "10000", "sme_deduction_percent": "15",
            "criterion_name": ["服务方案", "团队"], "criterion_weight": ["50", "30"],
            "criterion_description": ["", ""]} | changes


@pytest.mark.parametrize("changes, saved", [
    ({}, (DEPOSIT_CAP, 15)),
    ({"deposit": ""}, (None, 15)),
    ({"deposit": "10000.01"}, None),
    ({"sme_deduction_percent": "21"}, None),
])
def test_the_tender_form_sets_the_deposit_and_the_deduction(client, login_as, staff, clock, changes, saved):
    clock.set(datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc))
    plan = make_plan(staff, budget_fen=CEILING_FEN)
    login_as(staff)
    tenders = count(Tender)

    response = client.post(f"/procurement/plans/{plan.id}/tenders/new", data=_tender_form(**changes))

    if saved is None:
        assert response.status_code == 422 and count(Tender) == tenders
        assert "第三十三条" in response.get_data(as_text=True) or "46号" in response.get_data(as_text=True)
        return
    assert response.status_code == 303
    tender = db.session.execute(db.select(Tender).order_by(Tender.id.desc())).scalars().first()
    assert (tender.deposit_fen, tender.sme_deduction_percent) == saved


def test_staff_record_a_deposit_from_the_tender_page(client, login_as, clock):
    setup = tender_in(S.OPENED, clock, deposit_fen=DEPOSIT_CAP)
    login_as(setup.staff)
    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)
    assert f"/procurement/bids/{setup.bids[0].id}/deposit" in page

    day = workdays.local_date(setup.tender.bid_deadline).isoformat()
    response = client.post(f"/procurement/bids/{setup.bids[0].id}/deposit",
                           data={"amount": "10,000.00", "received_on": day, "form": "transfer"})

    assert response.status_code == 303
    assert setup.bids[0].deposit is not None and setup.bids[0].deposit.amount_fen == DEPOSIT_CAP
    refused = client.post(f"/procurement/bids/{setup.bids[1].id}/deposit",
                          data={"amount": "9,999.99", "received_on": day, "form": "transfer"})
    assert refused.status_code == 422 and setup.bids[1].deposit is None


def test_the_bidder_explains_a_low_price_and_the_staff_accept_it(client, login_as, clock):
    setup = tender_in(S.OPENED, clock, prices=[40_000_000, 37_000_000, 20_000_000])
    low = setup.bids[2]
    login_as(setup.managers[2])
    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)
    assert f"/procurement/bids/{low.id}/low-price" in page

    response = client.post(f"/procurement/bids/{low.id}/low-price",
                           data={"explanation": "本机构有志愿者团队与街道场地支持，人力成本较低。",
                                 "file": pdf_upload("成本说明.pdf", "cost")}, content_type="multipart/form-data")
    assert response.status_code == 303 and low.low_price_explained_at is not None

    client.post("/logout")
    login_as(setup.staff)
    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)
    assert "本机构有志愿者团队" in page and f"/procurement/bids/{low.id}/low-price/accept" in page
    assert client.get(f"/procurement/bids/{low.id}/low-price/file").status_code == 200
    assert client.post(f"/procurement/bids/{low.id}/low-price/accept").status_code == 303
    assert low.low_price_accepted_at is not None


def test_the_bidder_is_asked_on_its_home_page_to_explain_a_low_price(client, login_as, clock):
    setup = tender_in(S.OPENED, clock, prices=[40_000_000, 37_000_000, 20_000_000])

    login_as(setup.managers[2])
    mine = client.get("/").get_data(as_text=True)
    client.post("/logout")
    login_as(setup.managers[0])
    theirs = client.get("/").get_data(as_text=True)

    assert 'aria-labelledby="queue-prices-to-explain-h"' in mine
    assert f"/procurement/tenders/{setup.tender.id}" in mine.split('queue-prices-to-explain-h', 1)[1]
    assert "queue-prices-to-explain-h" not in theirs


def test_another_bidder_neither_sees_nor_explains_the_low_price(client, login_as, clock):
    setup = tender_in(S.OPENED, clock, prices=[40_000_000, 37_000_000, 20_000_000])
    login_as(setup.managers[0])
    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)
    assert "low-price" not in page
    response = client.post(f"/procurement/bids/{setup.bids[2].id}/low-price",
                           data={"explanation": "本机构有志愿者团队与街道场地支持，人力成本较低。"})
    assert response.status_code == 403 and setup.bids[2].low_price_explained_at is None
    assert client.get(f"/procurement/bids/{setup.bids[2].id}/low-price/file").status_code == 403


def test_the_ranking_shows_the_price_the_deduction_and_the_evaluated_price(client, login_as, clock):
    orgs = [OrganizationFactory(rating=OrgRating.A4, scale=s) for s in (OrgScale.LARGE, OrgScale.SMALL, OrgScale.LARGE)]
    setup = tender_in(S.SCORED, clock, orgs=orgs, prices=[45_000_000, 42_000_000, 40_000_000])
    login_as(setup.staff)

    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)

    rows = [row for row in page.split("<tr") if orgs[1].name in row and "¥378,000.00" in row]
    assert len(rows) == 1 and "¥420,000.00" in rows[0] and "10 %" in rows[0]
    [other] = [row for row in page.split("<tr") if orgs[0].name in row and "¥450,000.00" in row and "—" in row]


def test_deposits_due_show_on_the_bureaus_home_page_overdue_after_their_last_day(client, login_as, clock):
    clock.set(datetime(2025, 7, 1, 2, 0, tzinfo=timezone.utc))
    setup = tender_in(S.IN_PUBLICITY, clock, deposit_fen=DEPOSIT_CAP)
    clock.set(datetime(2025, 9, 30, 2, 0, tzinfo=timezone.utc))
    workflow.confirm_award(setup.staff, setup.tender)
    clock.set(datetime(2025, 10, 15, 2, 0, tzinfo=timezone.utc))  # a day after the others' last day
    login_as(setup.staff)

    html = client.get("/").get_data(as_text=True)

    queue = html.split('aria-labelledby="queue-deposits-h"', 1)[1].split("</section>", 1)[0]
    winner = setup.tender.awarded_bid
    for bid in setup.bids:
        # The winner's deposit waits for the contract's signature.
        assert (bid.organization.name in queue) is (bid is not winner)
    assert queue.count('class="is-overdue"') == 2 and "2025-10-14" in queue


def test_staff_record_the_performance_bond_on_the_contract_page(client, login_as, clock):
    from svcproc.contracts.models import ContractStatus
    from tests.builders.contracts import contract_in

    setup = contract_in(ContractStatus.SIGNED, clock)
    contract = setup.contract
    login_as(setup.staff)
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f"/contracts/{contract.id}/bond" in page

    today = workdays.local_date(clock.now).isoformat()
    too_much = client.post(f"/contracts/{contract.id}/bond", data={
        "amount": f"{contract.amount_fen // 1000 + 0.01:.2f}", "form": "transfer", "received_on": today})
    assert too_much.status_code == 422 and contract.bond_fen is None
    response = client.post(f"/contracts/{contract.id}/bond", data={
        "amount": f"{contract.amount_fen // 1000:.2f}", "form": "transfer", "received_on": today})
    assert response.status_code == 303 and contract.bond_fen == contract.amount_fen // 10


def test_the_bureau_records_an_organizations_declared_size(client, login_as, staff):
    from svcproc.core.permissions import Role
    from tests.builders.accounts import user_for_role

    org = OrganizationFactory(rating=OrgRating.A4)
    admin = user_for_role(Role.ADMIN)
    login_as(admin)
    page = client.get(f"/registry/organizations/{org.id}/edit").get_data(as_text=True)
    assert 'name="scale"' in page
    data = {"name": org.name, "credit_code": org.credit_code, "kind": org.kind.value,
            "registration_type": org.registration_type.value, "rating": org.rating.value, "scale": "micro",
            "version": str(org.version)}
    if org.rated_on:
        data["rated_on"] = org.rated_on.isoformat()

    response = client.post(f"/registry/organizations/{org.id}/edit", data=data)

    assert response.status_code == 303 and org.scale == OrgScale.MICRO


def test_an_organization_cannot_declare_its_own_size_on_its_profile(client, login_as):
    from svcproc.core.permissions import Role
    from tests.builders.accounts import UserFactory

    org = OrganizationFactory(rating=OrgRating.A4)
    manager = UserFactory(role=Role.ORG_MANAGER, organization=org)
    login_as(manager)
    data = {"name": org.name, "registration_type": org.registration_type.value, "scale": "micro",
            "version": str(org.version)}

    response = client.post(f"/registry/organizations/{org.id}/edit", data=data)

    assert response.status_code == 303 and org.scale == OrgScale.UNSTATED


def test_the_bid_form_tells_the_bidder_the_deposit_asked(client, login_as, clock):
    setup = tender_in(S.PUBLISHED, clock, deposit_fen=DEPOSIT_CAP, prices=[])
    bidder = OrganizationFactory(rating=OrgRating.A4)
    from svcproc.core.permissions import Role
    from tests.builders.accounts import UserFactory

    login_as(UserFactory(role=Role.ORG_MANAGER, organization=bidder))
    page = client.get(f"/procurement/tenders/{setup.tender.id}/bid").get_data(as_text=True)

    assert "¥10,000.00" in page


@pytest.mark.parametrize("who, sees_low_bids, rules, records", [
    ("procurement", True, True, True), ("auditor", True, False, False), ("admin", True, False, False),
    ("expert", True, True, False), ("bidder", False, False, False)])
def test_the_tender_page_shows_deposits_and_low_bids_to_whom_it_may(client, login_as, clock, who, sees_low_bids,
                                                                     rules, records):
    from svcproc.core.permissions import Role
    from tests.builders.accounts import user_for_role

    setup = tender_in(S.OPENED, clock, prices=[40_000_000, 37_000_000, 20_000_000], deposit_fen=DEPOSIT_CAP)
    expert = setup.experts[0]
    workflow.declare_conflicts(expert, setup.member_of(expert), [], "")
    user = {"procurement": setup.staff, "expert": expert, "bidder": setup.managers[0]}.get(who) \
        or user_for_role(Role(who))
    login_as(user)

    response = client.get(f"/procurement/tenders/{setup.tender.id}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    low = setup.bids[2]
    assert ('id="low-bids-h"' in page) is sees_low_bids
    assert ('id="deposits-h"' in page) is (who in ("procurement", "auditor", "admin"))
    assert (f"/bids/{low.id}/low-price/reject" in page) is rules
    assert (f"/bids/{setup.bids[0].id}/deposit" in page) is records
