"""Procurement red flags: a planted world raises each once, its clean twin none; the figures that
raised each are kept; recomputing keeps what still holds and drops what no longer does; the rules
take the same number of statements for many tenders as for few."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from svcproc.extensions import db
from svcproc.monitoring import flags
from svcproc.monitoring.models import FlagKind, ProcurementFlag
from tests.monitoring.builders import NOW, plant

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture
def planted(clock):
    clock.set(NOW)
    return plant(planted=True)


@pytest.fixture
def clean(clock):
    clock.set(NOW)
    return plant(planted=False)


def _by_kind(findings) -> dict:
    return {f.kind: f for f in findings}


def test_the_planted_world_raises_every_flag_once(planted):
    found = flags.compute()

    assert Counter(f.kind for f in found) == Counter(set(FlagKind))


def test_the_clean_twin_raises_none(clean):
    assert flags.compute() == []


def test_each_flag_names_its_tender_or_contract_and_the_figures(planted):
    found = _by_kind(flags.compute())
    t, c = planted.tenders, planted.contracts

    assert found[FlagKind.SHORT_BIDDING_PERIOD].tender_id == t["招标期"].id
    assert found[FlagKind.SHORT_BIDDING_PERIOD].figures == {
        "method": "public_tender", "published": "2025-03-01", "deadline": "2025-03-16", "days": 15, "minimum": 20,
        "working_days": False}
    assert found[FlagKind.AWARD_NEAR_CEILING].figures["percent"] == "98.00"
    assert found[FlagKind.IDENTICAL_PRICES].figures == {"prices": [{"price_fen": 93_700_000, "bids": 2}]}
    assert found[FlagKind.PRICES_PERCENT_APART].figures == {
        "pairs": [{"low_fen": 90_000_000, "high_fen": 94_500_000, "percent": 5}]}
    assert found[FlagKind.SINGLE_VALID_BID].tender_id == found[FlagKind.OTHERS_ALL_INVALID].tender_id == t["废标"].id
    assert found[FlagKind.LOWEST_INVALID].figures["bids"][0]["reason"] == "报价异常"
    assert found[FlagKind.SHARED_CONTACT].figures["pairs"][0]["shared"] == {
        "contact_phone": planted.orgs["shared"].contact_phone}
    assert found[FlagKind.REPEATED_SINGLE_SOURCE].organization_id == planted.orgs["single_source"].id
    assert found[FlagKind.REPEATED_SINGLE_SOURCE].fiscal_year == 2022
    share = found[FlagKind.LARGE_AWARD_SHARE]
    assert (share.organization_id, share.fiscal_year, share.figures["awards"], share.figures["year_awards"]) == (
        planted.orgs["share"].id, 2024, 2, 3)
    assert found[FlagKind.MANY_CATEGORIES].figures["categories"] == 3
    assert found[FlagKind.LATE_SIGNATURE].contract_id == c["迟签"].id
    assert found[FlagKind.LATE_SIGNATURE].figures["days"] == 31
    assert found[FlagKind.SERVICE_BEFORE_SIGNATURE].contract_id == c["先服务"].id
    assert found[FlagKind.UNPAID_MILESTONE].figures["milestones"][0]["days"] == 31
    assert found[FlagKind.UNPAID_MILESTONE].figures["milestones"][0]["tranche_fen"] == 45_000_000
    assert found[FlagKind.EARLY_AMENDMENT].figures["days"] == 30
    assert found[FlagKind.AMENDMENT_NEAR_CAP].figures["percent"] == "9.00"
    assert all(f.tender_id for f in found.values())


def test_thresholds_are_settings(app, clean):
    saved = dict(app.config["PROCUREMENT_FLAGS"])
    app.config["PROCUREMENT_FLAGS"] = {**saved, "ceiling_ratio_percent": 97}
    try:
        found = flags.compute()
    finally:
        app.config["PROCUREMENT_FLAGS"] = saved

    assert [f.kind for f in found] == [FlagKind.AWARD_NEAR_CEILING]


@pytest.mark.parametrize("published, deadline, flagged", [
    (date(2025, 3, 3), date(2025, 3, 6), False),     # Monday to Thursday: 3 working days
    (date(2025, 3, 3), date(2025, 3, 5), True),      # 2 working days
    (date(2025, 3, 6), date(2025, 3, 10), True),     # Thursday to Monday: Friday and Monday, 2
    (date(2025, 4, 30), date(2025, 5, 7), True),     # over the May Day holiday: 2 working days
], ids=["three-working-days", "two-working-days", "over-a-weekend", "over-may-day"])
def test_inquiry_periods_are_counted_in_working_days(clean, published, deadline, flagged):
    from svcproc.procurement.models import TenderMethod
    from tests.monitoring.builders import at

    tender = clean.tenders["招标期"]
    tender.method, tender.publish_at, tender.bid_deadline = TenderMethod.INQUIRY, at(published), at(deadline)
    db.session.flush()

    found = [f for f in flags.compute() if f.kind == FlagKind.SHORT_BIDDING_PERIOD]

    assert bool(found) is flagged


def test_refresh_keeps_what_still_holds_and_drops_what_no_longer_does(planted, clock):
    first = flags.refresh()
    found_at = {row.key: row.found_at for row in db.session.execute(sa.select(ProcurementFlag)).scalars()}
    db.session.get(type(planted.tenders["同价"]), planted.tenders["同价"].id)
    for bid in planted.tenders["同价"].bids:
        if bid.price_fen == 93_700_000:
            bid.price_fen = 95_300_000
            break
    db.session.flush()
    clock.advance(hours=1)

    second = flags.refresh()

    assert first == {"flags": len(FlagKind), "added": len(FlagKind), "removed": 0}
    assert second == {"flags": len(FlagKind) - 1, "added": 0, "removed": 1}
    rows = db.session.execute(sa.select(ProcurementFlag)).scalars().all()
    assert FlagKind.IDENTICAL_PRICES not in {r.kind for r in rows}
    assert all(r.found_at == found_at[r.key] and r.checked_at > r.found_at for r in rows)


def test_the_rules_take_as_many_statements_for_many_tenders_as_for_few(clock, count_queries):
    clock.set(NOW)
    plant(planted=True)
    with count_queries() as few:
        flags.compute()
    plant(planted=True)
    plant(planted=False)

    with count_queries() as many:
        found = flags.compute()

    # 15 rules (the three award rules one statement) and the local days of the two rules counting
    # working days after the award.
    assert few.count == many.count <= 17
    assert len(found) > len(FlagKind)


def test_the_command_recomputes_the_flags(cli, clock):
    clock.set(NOW)
    plant(planted=True)

    result = cli("flags", "refresh")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(FlagKind)} procurement red flags: {len(FlagKind)} new, 0 cleared."
    assert db.session.execute(sa.select(sa.func.count()).select_from(ProcurementFlag)).scalar_one() == len(FlagKind)


def test_the_minimum_bidding_periods_are_the_publication_rules_setting(app, clean):
    saved = app.config["PROCUREMENT_MIN_BIDDING_DAYS"]
    app.config["PROCUREMENT_MIN_BIDDING_DAYS"] = {**saved, "public_tender": (25, "days")}
    try:
        found = flags.compute()
    finally:
        app.config["PROCUREMENT_MIN_BIDDING_DAYS"] = saved

    # Every clean tender gave 24 days (the one at the edge 20): 25 flags them all.
    assert {f.kind for f in found} == {FlagKind.SHORT_BIDDING_PERIOD}
    assert {f.figures["minimum"] for f in found} == {25}


def test_a_tender_that_failed_for_want_of_valid_bids_raises_no_single_bid_flag(planted):
    from svcproc.procurement.models import TenderStatus

    tender = planted.tenders["废标"]
    tender.status, tender.awarded_bid_id, tender.awarded_at = TenderStatus.FAILED, None, None
    db.session.flush()

    kinds = {f.kind for f in flags.compute() if f.tender_id == tender.id}

    assert FlagKind.SINGLE_VALID_BID not in kinds and FlagKind.OTHERS_ALL_INVALID not in kinds
