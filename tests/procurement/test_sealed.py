"""Sealed means sealed: before the opening nobody but the bidder learns that a bid exists — no count
on the tender page, its list or its export, and no bid event (bidder, receipt) in the audit trail's
pages or export; after the opening all of it shows."""
from __future__ import annotations

import pytest

from svcproc.core.permissions import Role
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, login


@pytest.fixture
def bid_in_open_tender(clock):
    from tests.builders.procurement import tender_in

    return tender_in("published", clock).bids[0]


def _seen_by(client, role, paths):
    login(client, user_for_role(role))
    return {path: client.get(path).get_data(as_text=True) for path in paths}


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ADMIN, Role.AUDITOR], ids=lambda r: r.value)
def test_before_the_opening_no_page_or_export_tells_that_a_bid_exists(client, bid_in_open_tender, role):
    bid = bid_in_open_tender
    tender = bid.tender
    assert audit_events("bid.submitted"), "the bid's event is in the chain"
    paths = [f"/procurement/tenders/{tender.id}", "/procurement/tenders", "/procurement/tenders/export.csv",
             "/audit", "/audit?action=bid", "/audit/export.csv", f"/audit?object_type=bid&object_id={bid.id}"]

    pages = _seen_by(client, role, paths)

    for path, text in pages.items():
        assert bid.receipt_code not in text, path
        assert bid.organization.name not in text, path
        assert "bid.submitted" not in text, path
        assert "bids received" not in text, path
    export = pages["/procurement/tenders/export.csv"].splitlines()
    row = next(line for line in export if line.startswith(tender.number))
    assert row.split(",")[5] == ""


def test_after_the_opening_the_trail_and_the_lists_show_the_bids(client, clock):
    from tests.builders.procurement import tender_in

    setup = tender_in("opened", clock)
    bid = setup.bids[0]

    pages = _seen_by(client, Role.AUDITOR, ["/audit?action=bid.submitted", "/procurement/tenders/export.csv"])

    assert "bid.submitted" in pages["/audit?action=bid.submitted"] and bid.receipt_code in pages["/audit?action=bid.submitted"]
    row = next(line for line in pages["/procurement/tenders/export.csv"].splitlines()
               if line.startswith(setup.tender.number))
    assert row.split(",")[5] == str(len(setup.bids))
