"""Sealed bids: encrypted until the opening, a receipt digest checked at the opening, withdrawal
and resubmission until the deadline, and the bids that are refused."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from svcproc.core import crypto, files, storage
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.formatting import fen_to_yuan_text, money
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import held, sealing, workflow
from svcproc.procurement.models import Bid, BidStatus, TenderStatus
from svcproc.registry.models import OrgKind, OrgRating, OrgStatus
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.files import pdf_bytes, pdf_upload
from tests.builders.procurement import DECLARATION, TenderSetup, submit_bid, tender_in
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, count, login, overwrite_stored, unchanged

# The published tender most tests start from is built once (see `published`).
pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus
SECRET_FEN = 43_721_953  # ¥437,219.53


def price_forms(fen: int) -> list[str]:
    """Every way a price could be written down: fen, yuan, with separators, with the ¥ sign."""
    yuan = money(fen)  # ¥437,219.53
    return sorted({str(fen), fen_to_yuan_text(fen), yuan, yuan[1:], str(fen // 100), f"{fen / 100:.2f}"})


_DIGEST = re.compile(r"[0-9a-f]{32,}")


def places_holding(needles: list[str], number: int) -> list[str]:
    """Every table.column in the database whose value contains one of the needles (or equals the number)."""
    hits = []
    conn = db.session.connection()
    for table in sa.inspect(conn).get_table_names():
        if table == "alembic_version":
            continue
        for row in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings():
            for column, value in row.items():
                if isinstance(value, (bytes, memoryview)):
                    found = any(n.encode() in bytes(value) for n in needles)
                elif isinstance(value, (dict, list)):
                    found = any(n in json.dumps(value, ensure_ascii=False) for n in needles)
                elif isinstance(value, int) and not isinstance(value, bool):
                    found = value == number
                elif isinstance(value, str) and _DIGEST.fullmatch(value):
                    # A hash (the audit chain's, a document's digest): its hex digits can spell
                    # "420000" by chance, but it holds no price in the clear.
                    found = False
                else:
                    found = value is not None and any(n in str(value) for n in needles)
                if found:
                    hits.append(f"{table}.{column}")
    return hits


def files_on_disk(app) -> list[Path]:
    return sorted(p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file())


def _published(clock):
    return tender_in(S.PUBLISHED, clock, prices=[SECRET_FEN, 42_000_000, 40_000_000], markers=("SECRET-BID-BYTES",))


@pytest.fixture(scope="module")
def built_published(build_once):
    return build_once(lambda clock: _published(clock).saved(clock))


@pytest.fixture
def published(built_published, clock):
    """A published tender with three bids, the first at SECRET_FEN; the clock before the deadline."""
    return TenderSetup.restored(built_published, clock)


# --- sealed in the database and on disk ---------------------------------------------------------


def test_the_database_never_holds_a_price_in_the_clear_before_the_opening(published):
    db.session.flush()

    assert places_holding(price_forms(SECRET_FEN), SECRET_FEN) == []
    assert places_holding(price_forms(42_000_000), 42_000_000) == []


def test_the_check_finds_the_price_once_the_bids_are_opened(clock, published):
    clock.set(published.tender.opening_at)
    workflow.open_bids(published.staff, published.tender)
    db.session.flush()

    assert "bid.price_fen" in places_holding(price_forms(SECRET_FEN), SECRET_FEN)


def test_the_trail_records_that_a_bid_arrived_not_what_it_offers(published):
    [event, *_] = audit_events("bid.submitted")

    assert set(event.changes) == {"tender_id", "receipt"}
    assert event.object_id == str(published.bids[0].id)


def test_bid_documents_are_stored_encrypted(published):
    bid = published.bids[0]
    [document] = bid.documents
    upload = pdf_bytes("SECRET-BID-BYTES")

    stored = storage.backend().read(document.file.stored_name)

    assert document.file.encrypted is True
    assert document.file.sha256 == hashlib.sha256(upload).hexdigest()
    assert stored != upload and not stored.startswith(b"%PDF")
    assert b"SECRET-BID-BYTES" not in stored
    assert files.read(document.file, decrypt_purpose=sealing.PURPOSE) == upload


def test_an_encrypted_document_is_not_read_without_its_purpose(published):
    with pytest.raises(PermissionError):
        files.read(published.bids[0].documents[0].file)


def test_the_own_organization_reads_its_sealed_bid_at_any_time(published):
    content = workflow.own_bid_content(published.managers[0], published.bids[0])

    assert (content.price_fen, content.declaration) == (SECRET_FEN, DECLARATION)


@pytest.mark.parametrize("who", ["staff", "other-bidder", "expert", "auditor"])
def test_nobody_else_reads_a_sealed_bid(published, who):
    person = {"staff": published.staff, "other-bidder": published.managers[1], "expert": published.experts[0],
              "auditor": UserFactory(role=Role.AUDITOR)}[who]

    with pytest.raises(PermissionDenied):
        workflow.own_bid_content(person, published.bids[0])
    with pytest.raises(PermissionDenied):
        workflow.read_bid_document(person, published.bids[0].documents[0])


# --- the receipt and the opening ----------------------------------------------------------------


def test_a_bid_through_the_form_gets_a_receipt(client, clock, published):
    org = OrganizationFactory(rating=OrgRating.A3)
    manager = UserFactory(role=Role.ORG_MANAGER, organization=org)
    login(client, manager)

    response = client.post(f"/procurement/tenders/{published.tender.id}/bid", data={
        "price": "437,219.53", "declaration_accepted": "y",
        "documents": [(pdf_upload("我方投标文件.pdf").stream, "我方投标文件.pdf", "application/pdf")]},
        content_type="multipart/form-data")

    bid = db.session.execute(sa.select(Bid).where(Bid.organization_id == org.id)).unique().scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/procurement/bids/{bid.id}/receipt"
    assert (bid.status, bid.submitted_at, bid.submissions) == (BidStatus.SUBMITTED, clock.now, 1)
    assert len(bid.digest) == 64 and bid.receipt_code.startswith("BID-")
    assert bid.price_fen is None  # known only from the opening
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "¥437,219.53" in receipt and bid.digest in receipt and bid.receipt_code in receipt
    assert "我方投标文件.pdf" in receipt


# --- a refused bid keeps its files -----------------------------------------------------------------


def _post_bid(client, tender, data):
    response = client.post(f"/procurement/tenders/{tender.id}/bid", data=data, content_type="multipart/form-data")
    return response, response.get_data(as_text=True)


def _held(user) -> list[files.StoredFile]:
    return db.session.execute(sa.select(files.StoredFile).where(
        files.StoredFile.purpose == held.PURPOSE, files.StoredFile.uploaded_by_id == user.id)
        .order_by(files.StoredFile.id)).scalars().all()


def _token(html: str) -> str:
    return re.search(r'name="held" value="([^"]+)"', html).group(1)


def _bidder_at(client):
    manager = UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory(rating=OrgRating.A3))
    login(client, manager)
    return manager


def _two_files(marker: str = "HELD-FILE-BYTES"):
    return [(pdf_upload(marker=marker).stream, "服务方案<第1册>.pdf", "application/pdf"),
            (pdf_upload(marker=marker).stream, "报价单.pdf", "application/pdf")]


@pytest.mark.parametrize("case", ["no-price", "above-the-ceiling", "no-declaration"])
def test_a_refused_bid_keeps_what_was_typed_and_its_files_sealed(client, app, published, case):
    manager = _bidder_at(client)
    tender = published.tender
    price = {"no-price": "", "above-the-ceiling": fen_to_yuan_text(tender.ceiling_fen + 100)}.get(case, "437,219.53")
    data = {"price": price, "documents": _two_files()}
    if case != "no-declaration":
        data["declaration_accepted"] = "y"

    response, html = _post_bid(client, tender, data)

    assert response.status_code == 422
    assert count(Bid, Bid.organization_id == manager.organization_id) == 0
    kept = _held(manager)
    assert [f.original_name for f in kept] == ["服务方案<第1册>.pdf", "报价单.pdf"]
    assert all(f.encrypted for f in kept)
    assert not any(b"HELD-FILE-BYTES" in p.read_bytes() for p in files_on_disk(app))
    notice = html[html.index('id="held-files"'):html.index('name="documents"')]
    assert "服务方案&lt;第1册&gt;.pdf" in notice and "报价单.pdf" in notice
    assert 'id="attached-again"' not in html
    assert held.redeem(manager, tender, _token(html)) == kept
    if price:
        assert f'value="{price}"' in html
    declaration = re.search(r'<input[^>]*name="declaration_accepted"[^>]*>', html).group(0)
    assert ("checked" in declaration) == (case != "no-declaration")


def test_the_held_files_become_the_bids_documents_without_choosing_them_again(client, published):
    manager = _bidder_at(client)
    tender = published.tender
    _response, html = _post_bid(client, tender, {"price": "437,219.53", "documents": _two_files()})
    kept = [f.id for f in _held(manager)]

    response, _html = _post_bid(client, tender, {"price": "437,219.53", "declaration_accepted": "y",
                                                 "held": _token(html)})

    assert response.status_code == 303
    bid = db.session.execute(sa.select(Bid).where(Bid.organization_id == manager.organization_id)).unique().scalar_one()
    assert [d.file_id for d in bid.documents] == kept
    assert {d.file.purpose for d in bid.documents} == {"bid"}
    assert _held(manager) == []
    assert workflow.read_bid_document(manager, bid.documents[0]) == pdf_bytes("HELD-FILE-BYTES")
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "报价单.pdf" in receipt


def test_files_chosen_again_replace_the_held_ones(client, published):
    manager = _bidder_at(client)
    _response, html = _post_bid(client, published.tender, {"price": "", "documents": _two_files()})

    response, _html = _post_bid(client, published.tender, {
        "price": "437,219.53", "declaration_accepted": "y", "held": _token(html),
        "documents": [(pdf_upload().stream, "修订版.pdf", "application/pdf")]})

    assert response.status_code == 303
    bid = db.session.execute(sa.select(Bid).where(Bid.organization_id == manager.organization_id)).unique().scalar_one()
    assert [d.file.original_name for d in bid.documents] == ["修订版.pdf"]


@pytest.mark.parametrize("case", ["another-person", "another-tender", "forged", "expired"])
def test_held_files_serve_only_their_owner_on_their_tender_for_a_day(client, app, clock, published, case):
    owner = _bidder_at(client)
    tender = published.tender
    _response, html = _post_bid(client, tender, {"price": "", "documents": _two_files()})
    token = _token(html)
    kept = _held(owner)
    if case == "another-person":
        client = app.test_client()
        _bidder_at(client)
        client.get("/")
    elif case == "another-tender":
        token = held._serializer().dumps({"user": owner.id, "tender": tender.id + 1000,
                                          "files": [f.id for f in kept]})
    elif case == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        clock.set(kept[0].uploaded_at + held.HOLD_FOR + timedelta(seconds=1))

    with unchanged(tender):
        response, html = _post_bid(client, tender, {"price": "437,219.53", "declaration_accepted": "y",
                                                    "held": token})

    assert response.status_code == 422
    assert "请上传投标文件。" in html and "报价单.pdf" not in html
    assert count(Bid, Bid.tender_id == tender.id) == len(published.bids)
    assert [f.purpose for f in _held(owner)] == [held.PURPOSE] * 2


def test_files_held_longer_than_a_day_are_deleted(client, app, clock, published, file_storage):
    first = _bidder_at(client)
    _post_bid(client, published.tender, {"price": "", "documents": _two_files()})
    names = [f.stored_name for f in _held(first)]
    clock.set(_held(first)[0].uploaded_at + held.HOLD_FOR + timedelta(seconds=1))

    other = app.test_client()
    _bidder_at(other)
    _post_bid(other, published.tender, {"price": "", "documents": _two_files()})

    assert _held(first) == []
    assert not any(storage.backend().exists(name) for name in names)


def test_the_daily_command_deletes_only_files_held_longer_than_a_day(client, app, clock, cli, published,
                                                                    file_storage):
    first = _bidder_at(client)
    _post_bid(client, published.tender, {"price": "", "documents": _two_files()})
    stale = [f.stored_name for f in _held(first)]
    clock.set(_held(first)[0].uploaded_at + held.HOLD_FOR - timedelta(hours=1))
    other = app.test_client()
    second = _bidder_at(other)
    _post_bid(other, published.tender, {"price": "", "documents": _two_files()})
    fresh = [f.stored_name for f in _held(second)]
    clock.set(_held(first)[0].uploaded_at + held.HOLD_FOR + timedelta(seconds=1))

    result = cli("files", "purge-held")

    assert result.exit_code == 0, result.output
    assert "Held bid files deleted: 2." in result.output
    assert _held(first) == [] and [f.stored_name for f in _held(second)] == fresh
    assert not any(storage.backend().exists(name) for name in stale)
    assert all(storage.backend().exists(name) for name in fresh)


def test_a_file_the_rules_refuse_is_named_to_choose_again(client, published):
    manager = _bidder_at(client)

    response, html = _post_bid(client, published.tender, {
        "price": "437,219.53", "declaration_accepted": "y",
        "documents": [(BytesIO(b"just text"), "说明.txt", "text/plain")]})

    assert response.status_code == 422
    assert _held(manager) == []
    assert "说明.txt" in html[html.index('id="attached-again"'):html.index('name="documents"')]
    assert 'name="held"' not in html


def test_a_refused_bid_without_files_says_nothing_of_files(client, published):
    _bidder_at(client)

    response, html = _post_bid(client, published.tender, {"price": "437,219.53", "declaration_accepted": "y"})

    assert response.status_code == 422
    assert 'id="held-files"' not in html and 'id="attached-again"' not in html
    assert 'value="437,219.53"' in html


def test_the_opening_unseals_every_bid_and_checks_its_receipt_digest(clock, published):
    clock.set(published.tender.opening_at)

    workflow.open_bids(published.staff, published.tender)

    assert [(b.price_fen, b.digest_verified, b.valid) for b in published.bids] == [
        (SECRET_FEN, True, None), (42_000_000, True, None), (40_000_000, True, None)]
    [event] = audit_events("tender.opened")
    record = event.changes["opening_record"][1]
    assert [(r["organization"], r["price_fen"], r["digest"], r["digest_verified"]) for r in record] == [
        (b.organization.name, b.price_fen, b.digest, True) for b in published.bids]


def test_staff_see_prices_and_digests_on_the_opening_record(client, clock, published):
    clock.set(published.tender.opening_at)
    workflow.open_bids(published.staff, published.tender)
    login(client, published.staff)

    html = client.get(f"/procurement/tenders/{published.tender.id}/opening").get_data(as_text=True)

    for bid in published.bids:
        assert bid.digest in html and bid.organization.name in html
    assert "¥437,219.53" in html and "投标文件1.pdf" in html


def _reseal_with_price(bid: Bid, price_fen: int) -> None:
    """What someone with database access might try: the same envelope with another price inside."""
    content = sealing.unseal(bid.sealed)
    bid.sealed = sealing.seal(sealing.SealedContent(price_fen, content.declaration, content.salt,
                                                    content.document_sha256))
    db.session.flush()


def test_a_bid_resealed_with_another_price_fails_its_digest_and_is_invalid(client, clock):
    setup = tender_in(S.PUBLISHED, clock, prices=[SECRET_FEN, 42_000_000, 40_000_000, 41_000_000])
    _reseal_with_price(setup.bids[0], 30_000_000)
    clock.set(setup.tender.opening_at)

    workflow.open_bids(setup.staff, setup.tender)

    tampered = setup.bids[0]
    assert (tampered.price_fen, tampered.digest_verified, tampered.valid) == (30_000_000, False, False)
    assert tampered.invalid_reason
    assert setup.tender.status == S.OPENED  # three genuine bids remain
    assert tampered not in workflow.scorable_bids(setup.tender)
    login(client, setup.staff)
    html = client.get(f"/procurement/tenders/{setup.tender.id}/opening").get_data(as_text=True)
    assert html.count("DOES NOT MATCH") + html.count("不一致") >= 1


def test_a_swapped_document_fails_the_digest(clock):
    published = _published(clock)  # its own: a swapped file in the upload folder outlives the test's rollback
    document = published.bids[1].documents[0]
    overwrite_stored(document.file, crypto.encrypt(sealing.PURPOSE, pdf_bytes("another document")))
    clock.set(published.tender.opening_at)

    workflow.open_bids(published.staff, published.tender)

    assert [b.digest_verified for b in published.bids] == [True, False, True]
    assert published.tender.status == S.FAILED  # two valid bids, three needed


def test_a_bid_submitted_after_the_tenders_bids_were_read_is_still_opened(clock, published):
    """Within one session (a command, the demo loader) the opening must see every bid."""
    assert len(published.tender.bids) == 3
    late = OrganizationFactory()
    submit_bid(UserFactory(role=Role.ORG_MANAGER, organization=late), published.tender, 39_000_000)
    clock.set(published.tender.opening_at)

    workflow.open_bids(published.staff, published.tender)

    assert sorted(b.price_fen for b in published.tender.bids) == [39_000_000, 40_000_000, 42_000_000, SECRET_FEN]


# --- withdraw and resubmit until the deadline ---------------------------------------------------


def test_a_bid_is_withdrawn_before_the_deadline(clock, published):
    bid = published.bids[0]

    workflow.withdraw_bid(published.managers[0], bid)

    assert (bid.status, bid.status_changed_at) == (BidStatus.WITHDRAWN, clock.now)
    assert audit_events("bid.withdrawn")[0].changes == {"status": ["submitted", "withdrawn"]}


def test_a_withdrawn_bid_is_resubmitted_with_a_new_receipt(clock, published):
    bid = published.bids[0]
    old_receipt, old_digest = bid.receipt_code, bid.digest
    workflow.withdraw_bid(published.managers[0], bid)
    clock.advance(hours=2)

    again = submit_bid(published.managers[0], published.tender, 41_500_000, name="修改后的投标文件.pdf")

    assert again.id == bid.id
    assert (again.status, again.submissions, again.submitted_at) == (BidStatus.SUBMITTED, 2, clock.now)
    assert again.receipt_code != old_receipt and again.digest != old_digest
    assert [d.file.original_name for d in again.documents] == ["修改后的投标文件.pdf"]
    assert workflow.own_bid_content(published.managers[0], again).price_fen == 41_500_000
    [event] = audit_events("bid.resubmitted")
    assert event.changes["receipt"] == [None, again.receipt_code]


def test_a_second_bid_needs_the_first_withdrawn(published):
    with unchanged(published.bids[0]), pytest.raises(DomainError):
        submit_bid(published.managers[0], published.tender, 41_000_000)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(days=3)], ids=["at-the-deadline", "after"])
def test_after_the_deadline_a_bid_is_neither_withdrawn_nor_resubmitted(clock, published, offset):
    bid = published.bids[0]
    clock.set(published.tender.bid_deadline + offset)

    with unchanged(bid, *bid.documents), pytest.raises(DomainError):
        workflow.withdraw_bid(published.managers[0], bid)


def test_a_bid_withdrawn_before_the_deadline_cannot_come_back_after_it(clock, published):
    workflow.withdraw_bid(published.managers[0], published.bids[0])
    clock.set(published.tender.bid_deadline)

    with unchanged(published.bids[0]), pytest.raises(DomainError):
        submit_bid(published.managers[0], published.tender, 41_000_000)

    assert published.bids[0].status == BidStatus.WITHDRAWN


def test_only_the_own_organization_withdraws_a_bid(published):
    with unchanged(published.bids[0]), pytest.raises(PermissionDenied):
        workflow.withdraw_bid(published.managers[1], published.bids[0])


def test_withdrawing_through_the_web_after_the_deadline_is_409(client, clock, published):
    login(client, published.managers[0])
    clock.set(published.tender.bid_deadline)

    with unchanged(published.bids[0]):
        response = client.post(f"/procurement/bids/{published.bids[0].id}/withdraw")

    assert response.status_code == 409


# --- refused bids -------------------------------------------------------------------------------


def _bidder(**org):
    return UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory(**org))


@pytest.mark.parametrize("case, error", [
    ("above-the-ceiling", ValidationError), ("zero", ValidationError), ("no-declaration", ValidationError),
    ("no-documents", ValidationError), ("a-text-file", ValidationError), ("a-fake-pdf", ValidationError),
    ("suspended", DomainError), ("dishonest", DomainError), ("rated-below-the-minimum", DomainError),
    ("evaluation-organization", DomainError), ("unrated", DomainError),
])
def test_a_bid_that_breaks_a_rule_is_refused_and_nothing_is_stored(app, clock, case, error):
    setup = tender_in(S.PUBLISHED, clock, min_rating=OrgRating.A3, orgs=[OrganizationFactory(rating=OrgRating.A4)],
                      prices=[40_000_000])
    tender = setup.tender
    org = {"suspended": dict(status=OrgStatus.SUSPENDED, status_reason="整改期间"),
           "dishonest": dict(status=OrgStatus.DISHONEST), "rated-below-the-minimum": dict(rating=OrgRating.A2),
           "evaluation-organization": dict(kind=OrgKind.EVALUATION, rating=OrgRating.A5),
           "unrated": dict(rating=OrgRating.NONE)}.get(case, dict(rating=OrgRating.A3))
    manager = _bidder(**org)
    price = {"above-the-ceiling": tender.ceiling_fen + 1, "zero": 0}.get(case, 30_000_000)
    uploads = {"no-documents": [],
               "a-text-file": [FileStorage(BytesIO(b"just text"), filename="bid.txt")],
               "a-fake-pdf": [FileStorage(BytesIO(b"PK\x03\x04 not a pdf"), filename="bid.pdf")],
               }.get(case, [pdf_upload()])
    on_disk = files_on_disk(app)

    with unchanged(tender), pytest.raises(error):
        workflow.submit_bid(manager, tender, price_fen=price, declaration=DECLARATION,
                            declaration_accepted=case != "no-declaration", uploads=uploads)

    assert count(Bid, Bid.tender_id == tender.id) == 1
    assert files_on_disk(app) == on_disk


def test_a_bid_at_the_ceiling_is_taken(published):
    bid = submit_bid(_bidder(), published.tender, published.tender.ceiling_fen)

    assert bid.status == BidStatus.SUBMITTED


def test_an_ineligible_organization_sees_why_instead_of_the_form(client, published):
    login(client, _bidder(status=OrgStatus.DISHONEST))

    html = client.get(f"/procurement/tenders/{published.tender.id}/bid").get_data(as_text=True)

    assert 'name="price"' not in html
    assert 'role="alert"' in html


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ADMIN, Role.EXPERT, Role.SOCIAL_WORKER, Role.AUDITOR])
def test_only_org_managers_bid(client, published, role):
    login(client, user_for_role(role))

    with unchanged(published.tender):
        response = client.post(f"/procurement/tenders/{published.tender.id}/bid", data={
            "price": "100000", "declaration_accepted": "y",
            "documents": [(pdf_upload().stream, "bid.pdf", "application/pdf")]}, content_type="multipart/form-data")

    assert response.status_code == 403
