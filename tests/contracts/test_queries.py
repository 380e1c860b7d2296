"""Pages issue a bounded number of SQL queries, however many contracts, milestones, deliverables,
payments and amendments they show."""
from __future__ import annotations

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import ContractStatus
from svcproc.procurement.models import TenderStatus
from tests.helpers import login

from tests.builders.contracts import contract_in, deliver, local_today, pay_in_full
from tests.builders.procurement import tender_in

C = ContractStatus
TEN = tuple((i * 30, "10") for i in range(1, 10)) + (("end", "10"),)


def _queries(client, count_queries, url: str) -> int:
    client.get(url)  # warm up: the first request of a client loads things once
    with count_queries() as counted:
        response = client.get(url)
    assert response.status_code == 200
    return counted.count


def _busy(clock):
    """A contract with ten milestones: six delivered, accepted and paid, one submitted; two amendments."""
    setup = contract_in(C.IN_PROGRESS, clock, schedule=TEN)
    for milestone in setup.milestones[:6]:
        deliver(setup, milestone)
        workflow.accept_milestone(setup.staff, milestone)
        pay_in_full(setup, milestone)
    deliver(setup, setup.milestones[6])
    for people in (650, 700):
        workflow.amend_contract(setup.staff, setup.contract, reason="增加服务人数。", amended_on=local_today(),
                                target_people=people)
    return setup


def _a_little(clock):
    """A contract with some of each collection the page reads: one milestone of two delivered, one
    amendment."""
    setup = contract_in(C.IN_PROGRESS, clock, schedule=((30, "50"), ("end", "50")))
    deliver(setup, setup.milestones[0])
    workflow.amend_contract(setup.staff, setup.contract, reason="增加服务人数。", amended_on=local_today(),
                            target_people=650)
    return setup


@pytest.fixture
def quiet_and_busy(clock):
    quiet = contract_in(C.IN_PROGRESS, clock, schedule=(("end", "100"),))
    return quiet, _busy(clock)


def _reads(statements: list[str], table: str) -> int:
    """How many of the statements read rows of `table` (not those that only ask whether it has any)."""
    return sum(s.lstrip().startswith(f"SELECT {table}.") for s in statements)


def _statements(client, count_queries, url: str) -> list[str]:
    client.get(url)  # warm up: the first request of a client loads things once
    with count_queries() as counted:
        assert client.get(url).status_code == 200
    return counted.statements


@pytest.mark.parametrize("page", ["contract", "notice"])
@pytest.mark.parametrize("who", ["staff", "manager"])
def test_the_contract_page_and_notice_take_as_many_statements_for_many_rows_as_for_a_few(make_client, count_queries,
                                                                                        clock, who, page):
    counts = []
    for setup in (_a_little(clock), _busy(clock)):
        client = make_client()
        if page == "contract":
            login(client, getattr(setup, who))
        url = f"/contracts/{setup.contract.id}" if page == "contract" else f"/notices/contracts/{setup.contract.id}"
        statements = _statements(client, count_queries, url)
        counts.append(len(statements))
        assert (_reads(statements, "contract_amendment"), _reads(statements, "deliverable")) == (1, 1), statements

    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("page", ["contract", "notice"])
def test_a_contract_without_amendments_or_deliverables_is_not_asked_for_them_again(client, count_queries, clock,
                                                                                   quiet_and_busy, page):
    """Whether a contract has amendments, deliverables and reopened periods is asked with the contract:
    a contract with none is not read for them, and its page says it has none."""
    quiet, busy = quiet_and_busy
    login(client, quiet.staff)
    path = "/contracts/{}" if page == "contract" else "/notices/contracts/{}"

    statements = {s.contract.id: _statements(client, count_queries, path.format(s.contract.id)) for s in quiet_and_busy}
    html = client.get(path.format(quiet.contract.id)).get_data(as_text=True)

    for table in ("contract_amendment", "deliverable", "milestone_period"):
        assert _reads(statements[quiet.contract.id], table) == 0, (table, statements[quiet.contract.id])
    assert len(statements[quiet.contract.id]) < len(statements[busy.contract.id])
    assert "增加服务人数" not in html and "增加服务人数" in client.get(path.format(busy.contract.id)).get_data(as_text=True)


def test_the_contract_list_and_the_awards_waiting(client, clock, count_queries):
    first = contract_in(C.SIGNED, clock)
    tender_in(TenderStatus.AWARDED, clock)
    login(client, first.staff)
    few = _queries(client, count_queries, "/contracts")
    for status in (C.DRAFT, C.IN_PROGRESS, C.CLOSED):
        contract_in(status, clock)
    for _ in range(2):
        tender_in(TenderStatus.AWARDED, clock)

    many = _queries(client, count_queries, "/contracts")

    assert few == many


def test_the_notice_list(client, clock, count_queries):
    contract_in(C.SIGNED, clock)
    few = _queries(client, count_queries, "/notices/contracts")
    for status in (C.IN_PROGRESS, C.CLOSED, C.TERMINATED):
        contract_in(status, clock)

    many = _queries(client, count_queries, "/notices/contracts")

    assert few == many


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_the_reminders_page(make_client, clock, count_queries, quiet_and_busy, who):
    clock.set(clock.now.replace(year=clock.now.year + 1))  # every open milestone is overdue by now
    counts = []
    for setup in quiet_and_busy:
        client = make_client()
        login(client, getattr(setup, who))
        counts.append(_queries(client, count_queries, "/reminders"))

    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_the_reminders_read_of_each_contract_what_they_name(make_client, clock, count_queries, quiet_and_busy, who):
    """A reminder names its contract's number and title: the contracts' long texts are not read into
    the join of the open milestones, and no contract is read again for what the page shows."""
    clock.set(clock.now.replace(year=clock.now.year + 1))
    setup = quiet_and_busy[1]
    client = make_client()
    login(client, getattr(setup, who))
    client.get("/reminders")
    with count_queries() as counted:
        page = client.get("/reminders").get_data(as_text=True)

    assert setup.contract.number in page and setup.contract.title in page
    listed = [s for s in counted.statements if "FROM milestone JOIN contract" in s]
    assert len(listed) == 1, counted.statements
    assert "contract.service_content" not in listed[0] and "contract.settlement" not in listed[0]
    assert "milestone.review_comment" not in listed[0]
    assert not [s for s in counted.statements if "FROM contract \nWHERE contract.id" in s]


def _busy_page(client, count_queries, clock):
    """The busy contract, and the statements of its page seen by its staff (counted warm)."""
    busy = _busy(clock)
    login(client, busy.staff)
    client.get(f"/contracts/{busy.contract.id}")
    with count_queries() as counted:
        assert client.get(f"/contracts/{busy.contract.id}").status_code == 200
    return busy, counted


def test_the_contract_page_reads_the_payments_once_and_hands_each_milestone_its_own(client, count_queries, clock):
    """The milestones' payments are the contract's (read once), each milestone given its own."""
    from svcproc.contracts.views.contracts import with_page_loads
    from svcproc.extensions import db

    busy, counted = _busy_page(client, count_queries, clock)
    assert _reads(counted.statements, "payment") == 1, counted.statements

    expected = {m.id: sorted(p.id for p in m.payments) for m in busy.milestones}
    db.session.expunge_all()
    contract = with_page_loads(busy.contract.id)
    assert {m.id: sorted(p.id for p in m.payments) for m in contract.milestones} == expected
    assert sum(len(ids) for ids in expected.values()) >= 6          # six milestones paid in full


def test_the_contract_page_reads_the_deliverables_once_and_hands_each_milestone_its_own(client, count_queries, clock):
    """The deliverables of every milestone in one statement (with their files), each milestone given
    its own in their order; the amendments as the contract's own."""
    import sqlalchemy as sa

    from svcproc.contracts.models import Deliverable
    from svcproc.contracts.views.contracts import with_page_loads
    from svcproc.extensions import db

    busy, counted = _busy_page(client, count_queries, clock)
    assert _reads(counted.statements, "deliverable") == 1, counted.statements

    milestones, contract_id = [m.id for m in busy.milestones], busy.contract.id
    db.session.expunge_all()
    expected = {m: [d for d, in db.session.execute(
        sa.select(Deliverable.id).where(Deliverable.milestone_id == m).order_by(Deliverable.id))] for m in milestones}
    db.session.expunge_all()
    contract = with_page_loads(contract_id)
    with count_queries() as reading:
        handed = {m.id: [d.id for d in m.deliverables] for m in contract.milestones}
        files = [d.file.original_name for m in contract.milestones for d in m.deliverables]
        assert [a.number for a in contract.amendments] == sorted(a.number for a in contract.amendments)
        assert len(contract.amendments) == 2
    assert handed == expected and sum(map(len, expected.values())) >= 7
    assert all(files) and reading.count == 0


def test_the_payments_list_is_read_in_its_order_from_an_index():
    """Newest payment first, from an index of that order: a page of 25 reads 25 payments and their
    contracts, instead of joining every payment of the district and sorting them."""
    import sqlalchemy as sa

    from svcproc.extensions import db

    indexes = sa.inspect(db.session.connection()).get_indexes("payment")

    assert ["paid_on", "id"] in [index["column_names"] for index in indexes]
