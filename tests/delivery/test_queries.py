"""The register and the service log answer with a bounded number of SQL queries, however many rows."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from svcproc.delivery import services
from svcproc.delivery.models import ActivityType, ServiceActivity, ServiceGroup
from svcproc.extensions import db
from tests.builders.delivery import add_person, id_number
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("shared_connection")

QUERY_BOUND = 12
_made = {"people": 0, "entries": 0}


@pytest.fixture(autouse=True)
def _numbering():
    _made.update(people=0, entries=0)


def _people(world, n):
    for _ in range(n):
        i = _made["people"] = _made["people"] + 1
        add_person(world.manager, world.org.id, f"服务对象{i:03d}", number=id_number(date(1940, 1, 1 + i % 28), 100 + i),
                   community=world.communities[i % 2], categories=["elderly_alone"], phone=f"1390000{i:04d}")
        add_person(world.users["other_manager"], world.other_org.id, f"乙对象{i:03d}", birth_year=1950,
                   community=world.communities[0])


def _entries(world, n):
    group = db.session.execute(sa.select(ServiceGroup).where(ServiceGroup.contract_id == world.contract.id)
                               ).unique().scalar_one_or_none()
    if group is None:
        group = services.create_group(world.manager, world.contract, "互助小组", 50,
                                      [world.people["elder"], world.people["second"]])
    for _ in range(n):
        i = _made["entries"] = _made["entries"] + 1
        day = date(2025, 5, 1) + timedelta(days=i % 28)
        kind = i % 3
        if kind == 0:
            world.record(activity_date=day, topic=f"活动{i}")
        elif kind == 1:
            world.record(type=ActivityType.CASE_WORK, activity_date=day, participants=[world.people["third"]],
                         head_count=0, start_time=time(14, 0), end_time=time(15, 0), topic=f"个案{i}")
        else:
            world.record(type=ActivityType.GROUP_SESSION, group=group, session_number=i, activity_date=day,
                         participants=[world.people["elder"], world.people["second"]], head_count=0,
                         start_time=time(16, 0), end_time=time(17, 0), workers=[world.workers["second_worker"]])


LISTS = {
    "register-manager": ("/beneficiaries", "manager", _people),
    "register-auditor": ("/beneficiaries", "auditor", _people),
    "register-search": ("/beneficiaries?q=对象&category=elderly_alone", "worker", _people),
    "log-manager": ("/contracts/{contract}/services", "manager", _entries),
    "log-auditor": ("/contracts/{contract}/services", "auditor", _entries),
    "log-month": ("/contracts/{contract}/services?month=2025-05&type=case_work", "procurement", _entries),
}


@pytest.mark.parametrize("name", list(LISTS))
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_queries_do_not_grow_with_the_rows(client, login_as, world, count_queries, name, htmx):
    url, who, make = LISTS[name]
    url = url.format(contract=world.contract.id)
    headers = {"HX-Request": "true"} if htmx else {}
    login_as(who)
    make(world, 3)  # one entry of each kind
    client.get(url, headers=headers)  # the menu's badge, counted once and then kept, as in both below
    make(world, 3)  # the log moves on: its entries are counted afresh in both below
    with count_queries() as few:
        assert client.get(url, headers=headers).status_code == 200
    make(world, 12)

    with count_queries() as many:
        response = client.get(url, headers=headers)

    assert response.status_code == 200
    assert many.count == few.count, "\n".join(many.statements)
    assert many.count <= QUERY_BOUND, "\n".join(many.statements)


def test_a_persons_page_reads_the_record_with_its_organization_and_community_path(client, login_as, world,
                                                                                 count_queries):
    """The organization's name and the community's path come with the person, the contracts with
    the entries: no statement per area or per contract of the history."""
    person = world.people["elder"]
    _entries(world, 6)
    login_as("manager")
    url = f"/beneficiaries/{person.id}"
    client.get(url)
    with count_queries() as counted:
        page = client.get(url).get_data(as_text=True)

    assert person.community.path in page and world.org.name in page and world.contract.title in page
    assert not [s for s in counted.statements if s.lstrip().startswith("SELECT area.")
                or s.lstrip().startswith("SELECT organization.") or "FROM contract \nWHERE contract.id =" in s]
    assert counted.count <= 8, "\n".join(counted.statements)


@pytest.mark.parametrize("who", ["manager", "procurement"])
def test_the_register_list_reads_no_sealed_number_and_no_whole_organization(client, login_as, world, count_queries,
                                                                         who):
    """The list shows masked numbers and names: the sealed identity numbers and phones are never
    read for it, nor the organization's other columns (the matched rows are sorted before the page
    is cut, and would be sorted whole), and only the page's rows are joined to their community and
    organization."""
    _people(world, 3)
    login_as(who)
    client.get("/beneficiaries?q=服务")
    with count_queries() as counted:
        page = client.get("/beneficiaries?q=服务", headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "服务对象001" in page
    listed = [s for s in counted.statements if "FROM beneficiary" in s and "ORDER BY beneficiary.name" in s]
    assert len(listed) == 1
    assert "id_number_sealed" not in listed[0] and "phone_sealed" not in listed[0]
    assert "credit_code" not in listed[0] and "contact_phone" not in listed[0]
    # The page is cut from the matches first; only its rows are joined to their community and organization.
    assert listed[0].index("LIMIT") < listed[0].index("JOIN area") and listed[0].count("JOIN area") == 1


def test_a_deep_page_of_the_log_lists_its_slice_in_order_joining_only_its_own_rows(app, client, login_as, world,
                                                                                  count_queries):
    """Past the first page the page's ids are picked first (core/web.py `paginate` with `loads`):
    every page lists exactly its slice of the log in the log's order, each entry with its community
    and group, and the offset statement joins no community or group for the rows it skips."""
    _entries(world, 30)
    login_as("manager")
    url = f"/contracts/{world.contract.id}/services"
    A = ServiceActivity
    with app.app_context():
        ordered = db.session.execute(sa.select(A.id).where(A.contract_id == world.contract.id)
                                     .order_by(A.activity_date.desc(), A.start_time.desc(), A.id.desc())).scalars().all()
    size = app.config["PAGE_SIZE"]
    assert len(ordered) > size
    shown = []
    for page in (1, 2):
        with count_queries() as counted:
            html = client.get(f"{url}?page={page}", headers={"HX-Request": "true"}).get_data(as_text=True)
        shown += [int(i) for i in re.findall(r'href="/services/(\d+)"', html)]
        offset = [s for s in counted.statements if "OFFSET" in s.upper() and "FROM service_activity" in s]
        if page == 2:
            assert offset and not any("JOIN area" in s or "JOIN service_group" in s for s in offset), offset
            assert "互助小组" in html and world.communities[0].name in html
    assert shown == ordered[:2 * size]


@pytest.mark.parametrize("who", ["procurement", "auditor"])
def test_the_district_flag_list_is_read_through_the_index_of_active_flags(world, who):
    """The unexplained flags of the district, newest first, are read from the partial index of the
    active flags in their order: the list's condition names the flag's `active` as the index does
    (`active IS true` is not one PostgreSQL matches to it, and the page sorted every flag). A few
    rows are cheaper to sort than to read in order, and the other partial indexes of active flags
    (a contract's) hold them too: sorting is priced out, as a district's thousands would price it."""
    from svcproc.delivery import permissions as perms
    from svcproc.delivery.models import RedFlag
    from svcproc.delivery.views.flags import DISTRICT_ORDER

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's choice of a partial index")
    stmt = (perms.visible_red_flags(world.users[who]).where(RedFlag.explanation == "")
            .order_by(*DISTRICT_ORDER).limit(50))
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    try:
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))
    finally:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        connection.exec_driver_sql("SET LOCAL enable_sort = on")
    assert "ix_red_flag_active_found" in plan, plan


@pytest.mark.parametrize("page", ["1", "2", "3", "9", "x"])
def test_a_searched_register_counts_its_matches_beside_its_page(app, client, login_as, world, count_queries, page,
                                                                monkeypatch):
    """A search reads every match to sort them: the page's rows carry the count of the matches (one
    statement), and the page shows what counting apart shows: the same people, count and pages,
    a page past the matches the last one."""
    from svcproc.core import web

    _people(world, 7)
    login_as("manager")
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    url = f"/beneficiaries?q=服务&page={page}"
    client.get(url)
    with count_queries() as counted:
        together = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    real = web.paginate
    monkeypatch.setattr("svcproc.delivery.views.beneficiaries.paginate",
                        lambda *args, **kwargs: real(*args, **{**kwargs, "counted_with_rows": False}))
    apart = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)

    def shown(html):
        return (re.findall(r"服务对象\d+", html), re.findall(r'class="count"[^>]*>(.*?)<', html, re.S),
                re.findall(r"page=(\d+)", html))
    assert shown(together) == shown(apart)
    assert shown(together)[0]  # some people on every page asked for (a page past them shows the last)
    counted_apart = [s for s in counted.statements if "count(*)" in s and "OVER" not in s]
    assert bool(counted_apart) == (page == "9")  # past the matches: counted, then the last page read


@pytest.mark.parametrize("who, records", [("worker", True), ("idle_worker", False)])
def test_a_workers_log_reads_the_logins_own_worker_row_not_the_teams(client, login_as, world, count_queries, who,
                                                                     records):
    """Whether the login may record on the contract (the log's "record" button) is answered by its own
    worker row on the contract, read with the contract; the contract's whole team is read only by
    the forms that name it."""
    _entries(world, 2)
    login_as(who)
    path = f"/contracts/{world.contract.id}/services"
    client.get(path)
    with count_queries() as counted:
        page = client.get(path).get_data(as_text=True)

    read = [s for s in counted.statements if "social_worker" in s]
    assert len(read) == 1, "\n".join(read)
    assert "FROM contract" in read[0], "the worker row comes with the contract"
    assert "social_worker.user_id =" in read[0] and "ORDER BY social_worker.name" not in read[0]
    assert (f"/contracts/{world.contract.id}/services/new" in page) is records
    assert client.get(f"/contracts/{world.contract.id}/services/new").status_code == (200 if records else 403)


@pytest.mark.parametrize("who, status", [("worker", 200), ("idle_worker", 403)])
def test_the_participant_picker_reads_the_contract_and_the_logins_worker_row_together(
        client, login_as, world, count_queries, who, status):
    """Whether the login may pick participants on the contract (it may record on it) comes from its
    own worker row, read with the contract: a worker not on the contract is refused."""
    login_as(who)
    path = f"/contracts/{world.contract.id}/people?q=x"
    client.get(path)
    with count_queries() as counted:
        answer = client.get(path)

    assert answer.status_code == status
    read = [s for s in counted.statements if "social_worker" in s]
    assert len(read) == 1 and "FROM contract" in read[0] and "social_worker.user_id =" in read[0], read
    assert not [s for s in counted.statements if "FROM contract" in s and s is not read[0]]


def _counts(counted) -> list[str]:
    return [s for s in counted.statements if "count(" in s.lower() and "FROM service_activity" in s]


def test_the_log_counts_its_entries_once_per_version_of_the_log(app, client, login_as, world, count_queries):
    """The number of entries is kept under the version of the contract's log (delivery/views/
    activities.py `_counted`): paging through the log does not count again; an entry recorded, a
    filter or another reader's scope does."""
    _entries(world, 30)
    login_as("manager")
    url = f"/contracts/{world.contract.id}/services"
    htmx = {"HX-Request": "true"}
    with count_queries() as first:
        html = client.get(url).get_data(as_text=True)
    assert len(_counts(first)) == 1 and "共 30 条记录" in html

    with count_queries() as paged:
        html = client.get(f"{url}?page=2", headers=htmx).get_data(as_text=True)
    assert _counts(paged) == [] and "共 30 条记录" in html

    world.record(activity_date=date(2025, 6, 2), topic="新录入")
    with count_queries() as after:
        html = client.get(url).get_data(as_text=True)
    assert len(_counts(after)) == 1 and "共 31 条记录" in html

    with count_queries() as filtered:
        html = client.get(f"{url}?type=case_work", headers=htmx).get_data(as_text=True)
    assert len(_counts(filtered)) == 1 and "共 10 条记录" in html

    auditor = app.test_client()
    assert login(auditor, world.users["auditor"]).status_code == 303
    with count_queries() as other:
        html = auditor.get(url).get_data(as_text=True)
    assert len(_counts(other)) == 1 and "共 31 条记录" in html
