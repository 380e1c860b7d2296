"""Writes to the service log check only the rows they touch: recording, correcting and deleting an
entry and explaining a red flag issue the same number of SQL statements in a busy district as in
an empty one."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from svcproc.delivery import services
from svcproc.delivery.models import ActivityType, RedFlag, RedFlagKind, ServiceActivity  # noqa: F401
from svcproc.extensions import db
from tests.builders.delivery import add_person, id_number

pytestmark = pytest.mark.usefixtures("shared_connection")

# Each write's statements, as few as it needs (record: the login, the contract with the workers the
# form names and the login's own, the community with the people, the entry and its links, the
# worker-days with the people's changed uses, the flags, the audit chain's head and events; a
# correction reads the entry with its contract and the workers it names, then correct and delete read
# the entry's links with the contract's milestones, and a correction keeps the version it replaces
# with the links). PostgreSQL writes a corrected entry with its changed links and the version it
# replaces; writes a new entry with its links; a write's audit
# event with its place and hash in the chain and the head's, with the rows left for the commit (the
# service log's version, the versions of the kinds of data changed: core/atcommit.py); an entry's
# changed workers and people; and an examination's new and changed flags with their links to other
# contracts: one statement each. Explaining a flag also renews the
# version of the red flags (core/versions.py: the home pages keep their flag boxes until then).
WRITE_BOUNDS = {"sqlite": {"record": 12, "correct": 14, "delete": 10, "explain": 8},
                "postgresql": {"record": 7, "correct": 8, "delete": 7, "explain": 5}}


def _form(world, day: str, start: str, end: str, **values) -> dict:
    data = {"type": "community_event", "activity_date": day, "start_time": start, "end_time": end,
            "community_id": str(world.communities[0].id), "place": "社区活动室", "hours": "",
            "workers": [str(world.worker.id)], "participants": [str(world.people["shared"].id)], "head_count": "5",
            "group_id": "", "session_number": "", "topic": "防诈骗知识讲座", "outcome": "", "notes": ""}
    return {**data, **values}


def _busy_district(world, n: int) -> None:
    """The same worker on many other days, the same people on the other organization's contract,
    and more people in both registers: everything a careless check would read."""
    for i in range(n):
        day = date(2025, 5, 1) + timedelta(days=i % 40)
        world.record(activity_date=day, start_time=time(7 + i % 3, 0), end_time=time(7 + i % 3, 45),
                     topic=f"活动{i}", participants=[world.people["elder"], world.people["shared"]])
        services.record_activity(world.users["other_manager"], world.other_contract, world.event(
            workers=[world.workers["other_worker"]], participants=[world.people["other_shared"]], head_count=0,
            type=ActivityType.DELIBERATION, topic=f"议事{i}", activity_date=day, start_time=time(19, 0),
            end_time=time(20, 0)))
        add_person(world.manager, world.org.id, f"新对象{i:03d}", number=id_number(date(1941, 2, 1 + i % 28), 300 + i),
                   community=world.communities[i % 2])


def _version(entry: ServiceActivity) -> str:
    return str(entry.version)


def _record(client, world, n):
    url, form = f"/contracts/{world.contract.id}/services/new", _form(world, "2025-06-1%d" % n, "15:00", "16:00")
    return lambda: client.post(url, data=form)


def _correct(client, world, n):
    entry = world.record(activity_date=date(2025, 6, 10 + n), start_time=time(13, 0), end_time=time(14, 0),
                         topic=f"待更正{n}")
    form = {**_form(world, "2025-06-1%d" % n, "13:00", "14:30", topic=f"已更正{n}"), "reason": "结束时间有误。",
            "version": _version(entry)}
    url = f"/services/{entry.id}/edit"
    return lambda: client.post(url, data=form)


def _delete(client, world, n):
    entry = world.record(activity_date=date(2025, 6, 10 + n), start_time=time(13, 0), end_time=time(14, 0),
                         topic=f"待删除{n}")
    url = f"/services/{entry.id}/delete"
    return lambda: client.post(url, data={"reason": "重复录入。"})


def _explain(client, world, n):
    world.record(activity_date=date(2025, 6, 10 + n), topic=f"重复{n}")
    world.record(activity_date=date(2025, 6, 10 + n), topic=f"重复{n}")
    flag = db.session.execute(sa.select(RedFlag).where(RedFlag.kind == RedFlagKind.DUPLICATE,
                                                       RedFlag.explanation == "")).scalars().first()
    url = f"/red-flags/{flag.id}/explain"
    return lambda: client.post(url, data={"note": "已核实为同一场活动。"})


def _difference(few: list[str], many: list[str]) -> str:
    def short(statement: str) -> str:
        return " ".join(statement.split())[:140]

    return "\n".join(["empty:", *map(short, few), "busy:", *map(short, many)])


# A worker's deletion reads its worker record with the entry (whether it may record on the contract).
WRITES = {"record": (_record, "worker"), "correct": (_correct, "worker"), "delete": (_delete, "manager"),
          "delete by a worker": (_delete, "worker"), "explain": (_explain, "manager")}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_issues_as_many_statements_in_a_busy_district_as_in_an_empty_one(client, login_as, world,
                                                                                 count_queries, write):
    prepare, who = WRITES[write]
    login_as(who)
    act = prepare(client, world, 1)
    with count_queries() as empty:
        assert act().status_code == 303
    _busy_district(world, 30)
    act = prepare(client, world, 2)

    with count_queries() as busy:
        response = act()

    assert response.status_code == 303
    assert busy.count == empty.count, _difference(empty.statements, busy.statements)
    assert busy.count <= WRITE_BOUNDS[db.engine.dialect.name][write.split(" by ")[0]], "\n".join(busy.statements)
