"""The JSON API: public notices, tokens, scoping, the write endpoint, paging, the change feed, errors."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from svcproc.api import tokens
from svcproc.api.models import ApiToken
from svcproc.contracts.models import Contract, ContractStatus
from svcproc.delivery.models import ActivityType, ServiceActivity
from svcproc.extensions import db
from svcproc.procurement.models import Tender, TenderStatus
from tests.builders.delivery import unchanged
from tests.helpers import audit_events, login

pytestmark = pytest.mark.usefixtures("shared_connection")

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status and body["detail"]
    return body


def _entry(world, **values) -> dict:
    """A valid community event on the organization's contract, as the API takes it."""
    base = {"type": "community_event", "activity_date": "2025-06-10", "start_time": "09:00", "end_time": "10:30",
            "community_id": world.communities[0].id, "place": "社区活动室", "worker_ids": [world.worker.id],
            "participant_ids": [world.people["elder"].id], "head_count": 10, "topic": "防诈骗知识讲座"}
    return {**base, **values}


# --- public notices ------------------------------------------------------------------------------


def test_public_notices_hold_exactly_what_the_public_pages_show(client, world):
    drafts = db.session.execute(sa.select(Tender.id).where(Tender.status == TenderStatus.DRAFT)).scalars().all()
    public = db.session.execute(sa.select(Tender.id).where(Tender.status != TenderStatus.DRAFT)).scalars().all()

    tenders = client.get("/api/v1/notices/tenders", query_string={"limit": 100}).get_json()
    contracts = client.get("/api/v1/notices/contracts", query_string={"limit": 100}).get_json()

    assert {t["id"] for t in tenders["items"]} == set(public)
    assert not set(drafts) & {t["id"] for t in tenders["items"]}
    signed = db.session.execute(sa.select(Contract.id).where(Contract.status != ContractStatus.DRAFT)).scalars().all()
    assert {c["id"] for c in contracts["items"]} == set(signed)
    awarded = next(t for t in tenders["items"] if t["status"] == "awarded")
    assert awarded["award"]["organization"]["name"] and awarded["award"]["final"] is True


def test_a_listed_notice_is_the_notice_its_own_address_answers(client, world, token_of, clock):
    # Lists read rows of the columns they show, a single notice reads the record: the same JSON.
    from tests.builders.procurement import tender_in

    for status in (TenderStatus.IN_PUBLICITY, TenderStatus.OPENED):   # a proposed winner; sealed prices
        tender_in(status, clock, staff=world.users["procurement"])
    tenders = client.get("/api/v1/notices/tenders", query_string={"limit": 100}).get_json()["items"]
    contracts = client.get("/api/v1/notices/contracts", query_string={"limit": 100}).get_json()["items"]
    headers = token_of("auditor")
    seen = client.get("/api/v1/contracts", headers=headers, query_string={"limit": 100}).get_json()["items"]

    awards = {t["status"]: t["award"] for t in tenders}
    assert awards["awarded"]["final"] is True and awards["in_publicity"]["final"] is False
    assert awards["opened"] is None
    for tender in tenders:
        assert client.get(f"/api/v1/notices/tenders/{tender['id']}").get_json() == tender
    assert contracts and seen
    for contract in contracts:
        assert client.get(f"/api/v1/notices/contracts/{contract['id']}").get_json() == contract
    for contract in seen:
        alone = client.get(f"/api/v1/contracts/{contract['id']}", headers=headers).get_json()
        assert {k: alone[k] for k in contract} == contract


def test_a_draft_tender_or_contract_is_not_found(client, world, clock):
    from svcproc.contracts import workflow as contracts
    from tests.builders.procurement import make_plan, tender_in

    draft = tender_in(TenderStatus.DRAFT, clock, staff=world.users["procurement"],
                      plan=make_plan(world.users["procurement"], communities=world.communities)).tender
    tender = world.contract.tender
    start = contracts.today()
    contract_draft = Contract(number="D-1", tender_id=draft.id, bid_id=tender.awarded_bid_id,
                              organization_id=world.org.id, title="草稿", original_amount_fen=1, amount_fen=1,
                              start_date=start, end_date=start, status=ContractStatus.DRAFT,
                              status_changed_at=clock.now, created_at=clock.now)
    db.session.add(contract_draft)
    db.session.flush()

    _problem(client.get(f"/api/v1/notices/tenders/{draft.id}"), 404)
    _problem(client.get(f"/api/v1/notices/contracts/{contract_draft.id}"), 404)
    assert client.get(f"/api/v1/notices/contracts/{world.contract.id}").status_code == 200


def test_sealed_bid_prices_never_appear_before_the_results_are_public(client, world, clock):
    from tests.builders.procurement import tender_in

    setup = tender_in(TenderStatus.OPENED, clock, staff=world.users["procurement"])
    body = client.get(f"/api/v1/notices/tenders/{setup.tender.id}").get_json()

    assert body["award"] is None
    text = str(body)
    assert all(str(b.price_fen) not in text for b in setup.bids if b.price_fen)


# --- tokens ----------------------------------------------------------------------------------------


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(client, world):
    login(client, world.manager)

    response = client.post("/account/tokens", data={"name": "街道平台", "scopes": ["read", "services:write"]})

    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = html.split('<code id="new-token">')[1].split("</code>")[0]
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.name == "街道平台")).scalar_one()
    assert token.token_hash == tokens.digest(secret) and secret not in str(
        {c.key: getattr(token, c.key) for c in sa.inspect(token).mapper.column_attrs})
    assert token.scopes == ["read", "services:write"]
    assert audit_events("api.token_created", object_id=str(token.id)) or audit_events("api.token_created")
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and token.prefix in again
    assert client.get("/api/v1/contracts", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_a_token_without_a_name_or_scope_is_refused_and_nothing_is_kept(client, world):
    login(client, world.manager)
    before = db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one()

    response = client.post("/account/tokens", data={"name": "", "scopes": []})
    no_scope = client.post("/account/tokens", data={"name": "平台"})

    assert response.status_code == 422 and no_scope.status_code == 422
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one() == before


def test_a_revoked_token_answers_401_and_both_are_audited(client, world, token_of):
    headers = token_of("manager")
    token = tokens.find(headers["Authorization"].split()[1])
    login(client, world.manager)

    revoked = client.post(f"/account/tokens/{token.id}/revoke")
    client.post("/logout")
    response = client.get("/api/v1/contracts", headers=headers)
    again = client.get("/api/v1/contracts", headers=headers)  # within the hour: refused, not audited again

    assert revoked.status_code == 303 and token.revoked_at is not None
    _problem(response, 401)
    _problem(again, 401)
    assert [e.action for e in audit_events(object_type="api_token", object_id=str(token.id))] == [
        "api.token_created", "api.token_revoked", "api.token_refused"]


def test_someone_else_cannot_revoke_my_token(client, world, token_of):
    headers = token_of("manager")
    token = tokens.find(headers["Authorization"].split()[1])
    login(client, world.users["other_manager"])

    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert token.revoked_at is None


def test_an_expired_token_answers_401(client, world, token_of, clock):
    headers = token_of("manager", expires_on=date(2025, 6, 20))
    assert client.get("/api/v1/contracts", headers=headers).status_code == 200

    clock.advance(days=5)
    _problem(client.get("/api/v1/contracts", headers=headers), 401)
    assert audit_events("api.token_refused")[-1].changes["reason"] == [None, "expired"]


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer svp_nothing", "Basic abc", "Bearer " + "x" * 300])
def test_no_usable_token_answers_401_problem(client, world, header):
    response = client.get("/api/v1/contracts", headers={"Authorization": header} if header else {})

    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_read_token_cannot_write_and_the_refusal_is_audited(client, world, token_of):
    headers = token_of("manager", "read")
    entries = db.session.execute(sa.select(sa.func.count()).select_from(ServiceActivity)).scalar_one()

    response = client.post(f"/api/v1/contracts/{world.contract.id}/services", json=_entry(world), headers=headers)

    _problem(response, 403)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ServiceActivity)).scalar_one() == entries
    assert audit_events("api.token_refused")[-1].changes["reason"] == [None, "scope"]


def test_a_use_is_audited_once_an_hour(client, world, token_of, clock):
    headers = token_of("manager")
    for _ in range(3):
        client.get("/api/v1/contracts", headers=headers)
    clock.advance(minutes=61)
    client.get("/api/v1/contracts", headers=headers)

    token = tokens.find(headers["Authorization"].split()[1])
    assert len(audit_events("api.token_used", object_id=str(token.id))) == 2
    assert token.last_used_at == clock.now


# --- scoping -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, sees", [("manager", {"contract"}), ("worker", {"contract"}),
                                       ("other_manager", {"other_contract"}),
                                       ("procurement", {"contract", "other_contract"}),
                                       ("auditor", {"contract", "other_contract"})])
def test_each_token_lists_the_contracts_its_owner_sees(client, world, token_of, who, sees):
    body = client.get("/api/v1/contracts", headers=token_of(who), query_string={"limit": 100}).get_json()

    ids = {c["id"] for c in body["items"]}
    assert {world.contract.id, world.other_contract.id} & ids == {getattr(world, k).id for k in sees}


@pytest.mark.parametrize("path", ["/api/v1/contracts/{id}", "/api/v1/contracts/{id}/services",
                                  "/api/v1/contracts/{id}/red-flags"])
def test_an_org_managers_token_never_sees_another_organizations_rows(client, world, token_of, path):
    world.record(actor=world.users["other_manager"], contract=world.other_contract, workers=[world.workers["other_worker"]],
                 participants=[world.people["other"]] if "other" in world.people else [], head_count=10)
    headers = token_of("manager")

    response = client.get(path.format(id=world.other_contract.id), headers=headers)
    feed = client.get("/api/v1/changes", headers=headers, query_string={"limit": 100}).get_json()

    _problem(response, 403)
    assert world.other_contract.title not in response.get_data(as_text=True)
    assert feed["items"] and all((c["entry"]["contract_id"] if c["kind"] == "service_entry" else c["id"])
                                 == world.contract.id for c in feed["items"])


def test_identity_numbers_and_phones_are_masked(client, world, token_of):
    world.record()
    body = client.get(f"/api/v1/contracts/{world.contract.id}/services", headers=token_of("manager")).get_json()

    person = body["items"][0]["participants"][0]
    text = str(body)
    assert "*" in person["id_number_masked"] and "*" in person["phone_masked"]
    assert world.number("elder") not in text and world.phone("elder") not in text


@pytest.mark.parametrize("who", ["manager", "auditor"])
def test_a_list_shows_each_entrys_workers_and_people_as_the_entry_itself_does(client, world, token_of, who):
    mine = world.record(workers=[world.worker, world.workers["second_worker"]],
                        participants=[world.people["second"], world.people["elder"]])
    world.record(activity_date=date(2025, 6, 11), workers=[world.worker], participants=[], head_count=3)
    headers = token_of(who)
    alone = db.session.get(ServiceActivity, mine.id)

    listed = client.get(f"/api/v1/contracts/{world.contract.id}/services", headers=headers,
                        query_string={"limit": 100}).get_json()
    feed = client.get("/api/v1/changes", headers=headers, query_string={"limit": 100}).get_json()

    item = next(i for i in listed["items"] if i["id"] == mine.id)
    changed = next(c["entry"] for c in feed["items"] if c["kind"] == "service_entry" and c["id"] == mine.id)
    workers = [{"id": w.id, "name": w.name} for w in alone.workers]
    assert item["workers"] == changed["workers"] == workers and len(workers) == 2
    assert [p["id"] for p in item["participants"]] == [p["id"] for p in changed["participants"]] \
        == [p.id for p in alone.participants]
    assert all(i["participants"] == [] for i in listed["items"] if i["id"] != mine.id and i["head_count"] == 3)


# --- the write endpoint -------------------------------------------------------------------------------


def test_recording_an_entry_goes_through_the_workflow_and_its_audit(client, world, token_of):
    headers = token_of("worker", "read", "services:write")

    response = client.post(f"/api/v1/contracts/{world.contract.id}/services", json=_entry(world), headers=headers)

    assert response.status_code == 201, response.get_json()
    entry = db.session.get(ServiceActivity, response.get_json()["id"])
    assert entry.created_by_id == world.users["worker"].id and entry.head_count == 10
    assert audit_events("activity.recorded")[-1].object_id == str(entry.id)


@pytest.mark.parametrize("who, values, status", [
    ("worker", {"activity_date": "2030-01-01"}, 422),                     # in the future
    ("worker", {"activity_date": "2024-01-01"}, 422),                     # outside the contract period
    ("worker", {"end_time": "08:00"}, 422),                               # ends before it starts
    ("worker", {"worker_ids": []}, 422),                                  # nobody delivered it
    ("worker", {"type": "case_work", "head_count": 0}, None),             # case work: exactly one person
    ("worker", {"participant_ids": ["x"]}, 422),                          # not ids
    ("idle_worker", {}, 403),                                             # not assigned to the contract
    ("other_manager", {}, 403),                                           # another organization
    ("procurement", {}, 403),                                             # the bureau reads, never records
])
def test_the_write_endpoint_refuses_what_the_page_refuses_and_changes_nothing(client, world, token_of, who,
                                                                               values, status):
    headers = token_of(who, "read", "services:write")
    if status is None:  # two people named
        values, status = {**values, "participant_ids": [world.people["elder"].id, world.people["second"].id]}, 422

    with unchanged(world.contract):
        response = client.post(f"/api/v1/contracts/{world.contract.id}/services",
                               json=_entry(world, **values), headers=headers)
        db.session.expire_all()

    _problem(response, status)


def test_the_page_refuses_the_same_entry_the_api_refuses(client, world):
    login(client, world.users["idle_worker"])
    assert client.get(f"/contracts/{world.contract.id}/services/new").status_code == 403


def test_a_session_cookie_opens_nothing_and_writes_nothing(client, world):
    login(client, world.manager)

    with unchanged(world.contract):
        write = client.post(f"/api/v1/contracts/{world.contract.id}/services", json=_entry(world))
        read = client.get("/api/v1/contracts")
        db.session.expire_all()

    _problem(write, 401)
    _problem(read, 401)


def test_a_body_that_is_not_json_is_a_400(client, world, token_of):
    headers = token_of("manager", "services:write")

    response = client.post(f"/api/v1/contracts/{world.contract.id}/services", data="[1, 2",
                           content_type="application/json", headers=headers)

    _problem(response, 400)


# --- paging and the change feed ------------------------------------------------------------------------


def _many(world, n: int) -> list[ServiceActivity]:
    return [world.record(start_time=time(8 + i % 10, 0), end_time=time(8 + i % 10, 30),
                         activity_date=date(2025, 6, 1) + timedelta(days=i // 10), head_count=10 + i)
            for i in range(n)]


def test_cursor_paging_walks_every_entry_once_in_bounded_statements(client, world, token_of, count_queries):
    made = _many(world, 23)
    headers = token_of("manager")
    seen, url, statements = [], f"/api/v1/contracts/{world.contract.id}/services?limit=10", []
    while url:
        with count_queries() as counted:
            body = client.get(url, headers=headers).get_json()
        statements.append(counted.count)
        seen += [e["id"] for e in body["items"]]
        url = body["next"]

    assert sorted(seen) == sorted(a.id for a in made) and len(seen) == len(set(seen))
    # The first request also notes the token's first use (an audit event); the pages after it
    # cost the same whatever they hold.
    assert len(statements) == 3
    assert max(statements) <= 12 and statements[1] == statements[2]


def test_a_cursor_not_made_by_the_api_is_a_400(client, world, token_of):
    headers = token_of("manager")
    for cursor in ("nonsense", "W10", "WyJ4Il0"):
        _problem(client.get(f"/api/v1/contracts?cursor={cursor}", headers=headers), 400)
    _problem(client.get("/api/v1/contracts?limit=1000", headers=headers), 400)


def test_the_change_feed_brings_only_what_changed_since_the_last_cursor(client, world, token_of, clock):
    headers = token_of("manager")
    first = world.record()
    body = client.get("/api/v1/changes", headers=headers).get_json()
    assert [c["id"] for c in body["items"]][-1] == first.id
    resume = body["next"]

    clock.advance(minutes=5)
    second = world.record(start_time=time(14, 0), end_time=time(15, 0))
    later = client.get(resume, headers=headers).get_json()
    quiet = client.get(later["next"], headers=headers).get_json()

    assert [(c["kind"], c["id"]) for c in later["items"]] == [("service_entry", second.id)]
    assert quiet["items"] == [] and quiet["next"]


def test_the_change_feed_brings_a_contract_when_it_changes_and_pages_through_both_kinds(client, world, token_of,
                                                                                        clock):
    headers = token_of("manager")
    resume = _drain(client, "/api/v1/changes?limit=2", headers)

    clock.advance(minutes=5)
    entry = world.record()
    clock.advance(minutes=5)
    world.contract.title = world.contract.title + "（调整）"
    db.session.flush()
    clock.advance(minutes=5)
    other = world.record(start_time=time(14, 0), end_time=time(15, 0))
    walked = []
    url = resume
    for _ in range(3):
        body = client.get(url, headers=headers).get_json()
        walked += [(c["kind"], c["id"]) for c in body["items"]]
        url = body["next"]

    assert walked == [("service_entry", entry.id), ("contract", world.contract.id), ("service_entry", other.id)]
    assert world.other_contract.id not in {i for k, i in walked if k == "contract"}


def _drain(client, url: str, headers: dict) -> str:
    """Follow the feed to its end; returns where to ask next."""
    for _ in range(100):
        body = client.get(url, headers=headers).get_json()
        if not body["items"]:
            return body["next"]
        url = body["next"]
    raise AssertionError("the feed did not end")


# --- errors and limits -----------------------------------------------------------------------------------


def test_api_errors_are_problem_details_and_pages_keep_html(client, world):
    _problem(client.get("/api/v1/no-such-thing"), 404)
    _problem(client.get("/api/v1/notices/tenders/999999"), 404)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_rate_limit_counts_per_token(app, client, world, token_of, monkeypatch):
    from svcproc.extensions import limiter_of

    monkeypatch.setitem(app.config, "RATE_LIMIT_API", "2 per minute")
    limiter = limiter_of(app)
    limiter.enabled = True
    limiter.reset()
    try:
        mine, other = token_of("manager"), token_of("procurement")
        answers = [client.get("/api/v1/contracts", headers=mine).status_code for _ in range(3)]
        others = client.get("/api/v1/contracts", headers=other).status_code
        limited = client.get("/api/v1/contracts", headers=mine)
    finally:
        limiter.enabled = False
        limiter.reset()

    assert answers == [200, 200, 429] and others == 200
    _problem(limited, 429)


def test_a_deactivated_accounts_token_answers_401(client, world, token_of):
    headers = token_of("worker")
    world.users["worker"].active = False
    db.session.flush()

    _problem(client.get("/api/v1/contracts", headers=headers), 401)
    assert audit_events("api.token_refused")[-1].changes["reason"] == [None, "account_inactive"]


@pytest.mark.parametrize("path", ["/api/v1/contracts", "/api/v1/contracts/{id}/services", "/api/v1/changes",
                                  "/api/v1/contracts/{id}/red-flags", "/api/v1/notices/tenders",
                                  "/api/v1/notices/contracts"])
def test_a_list_costs_the_same_statements_however_many_rows_it_holds(client, world, token_of, count_queries, path):
    _many(world, 12)
    for hour in (8, 9):  # each overlaps an entry of the same worker: two red flags
        world.record(type=ActivityType.DELIBERATION, start_time=time(hour, 15), end_time=time(hour, 45), topic="议事",
                     head_count=0, activity_date=date(2025, 6, 1))
    headers = token_of("auditor")
    url = path.format(id=world.contract.id)
    client.get(url, headers=headers)  # the token's first use is audited; the pages below are not

    with count_queries() as one:
        few = client.get(url, headers=headers, query_string={"limit": 1}).get_json()
    with count_queries() as many:
        more = client.get(url, headers=headers, query_string={"limit": 100}).get_json()

    assert len(more["items"]) > len(few["items"]) == 1
    assert one.count == many.count <= 8
    # The token (with its owner), the contract a list is under, the rows, their workers and people.
    expected = {"/api/v1/contracts": 2, "/api/v1/contracts/{id}/services": 4, "/api/v1/changes": 4,
                "/api/v1/contracts/{id}/red-flags": 3, "/api/v1/notices/tenders": 1, "/api/v1/notices/contracts": 1}
    assert many.count == expected[path]
    if path in ("/api/v1/contracts/{id}/services", "/api/v1/changes"):
        # One statement reads the workers and people. On PostgreSQL it writes the page's entries
        # (api/entry_json.py), which are bound as one array: its text is the same for a page of one
        # and of a hundred (planned once). Elsewhere the entries are expanded into its IN lists.
        around = [[s for s in counted.statements if "activity_worker" in s] for counted in (one, many)]
        assert len(around[0]) == len(around[1]) == 1
        if db.engine.dialect.name == "postgresql":
            assert around[0] == around[1] and "ANY" in around[0][0] and "json_build_object" in around[0][0]


@pytest.mark.parametrize("hours, status", [(1.5, 201), ("1.25", 201), (1.234, 422), (True, 422), (0, 422)])
def test_hours_are_taken_as_the_form_takes_them(client, world, token_of, hours, status):
    from decimal import Decimal

    response = client.post(f"/api/v1/contracts/{world.contract.id}/services", json=_entry(world, hours=hours),
                           headers=token_of("manager", "services:write"))

    assert response.status_code == status, response.get_json()
    if status == 201:
        assert db.session.get(ServiceActivity, response.get_json()["id"]).hours == Decimal(str(hours))
