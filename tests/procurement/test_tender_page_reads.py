"""The tender page reads its bids, documents and experts a statement each, however many there are,
and shows them as the tender's own relationships would."""
from __future__ import annotations

import pytest

from svcproc.extensions import db
from svcproc.procurement.models import TenderStatus
from tests.builders.procurement import tender_in
from tests.helpers import login


def _statements(client, count_queries, url: str) -> list[str]:
    client.get(url)
    with count_queries() as counted:
        assert client.get(url).status_code == 200
    return counted.statements


@pytest.mark.parametrize("status", [TenderStatus.PUBLISHED, TenderStatus.SCORED])
def test_the_tender_page_takes_as_many_statements_for_many_bids_as_for_few(client, clock, count_queries, status):
    few = tender_in(status, clock, prices=[400_000_00, 410_000_00, 420_000_00])
    many = tender_in(status, clock, prices=[400_000_00 + i * 1_000_00 for i in range(6)])
    login(client, few.staff)

    counts = [_statements(client, count_queries, f"/procurement/tenders/{s.tender.id}") for s in (few, many)]

    assert len(counts[0]) == len(counts[1]), counts
    for table in ("bid", "tender_document", "tender_expert"):
        assert _reads(counts[1], table) == 1, (table, counts[1])


def _reads(statements: list[str], table: str) -> int:
    """How many of the statements read rows of `table` (not those that only ask whether it has any)."""
    return sum(s.lstrip().startswith(f"SELECT {table}.") for s in statements)


@pytest.mark.parametrize("asked", [False, True])
def test_questions_and_objections_are_read_only_for_a_tender_that_has_some(client, clock, count_queries, asked):
    """Whether a tender has questions and objections is asked with the tender: one without any is
    not read for them; one with questions reads them once and shows them."""
    setup = tender_in(TenderStatus.PUBLISHED, clock, questions=("服务对象是否包括低保边缘户？",) if asked else ())
    login(client, setup.staff)
    url = f"/procurement/tenders/{setup.tender.id}"

    statements = _statements(client, count_queries, url)
    page = client.get(url).get_data(as_text=True)

    assert (_reads(statements, "clarification"), _reads(statements, "objection")) == (int(asked), 0), statements
    assert ("服务对象是否包括低保边缘户" in page) is asked
    assert _reads(statements, "tender_document") == 1 and "招标文件" in page


def test_the_tender_page_shows_each_bid_and_expert_of_the_tender(client, clock):
    setup = tender_in(TenderStatus.SCORED, clock)
    other = tender_in(TenderStatus.SCORED, clock)
    login(client, setup.staff)

    page = client.get(f"/procurement/tenders/{setup.tender.id}").get_data(as_text=True)

    for org in setup.orgs:
        assert org.name in page
    for org in other.orgs:
        assert org.name not in page
    for expert in setup.experts:
        assert (expert.full_name or expert.username) in page


def test_a_tender_that_does_not_exist_is_not_found(client, clock):
    setup = tender_in(TenderStatus.PUBLISHED, clock)
    login(client, setup.staff)
    db.session.expunge_all()

    assert client.get("/procurement/tenders/999999").status_code == 404
