"""On PostgreSQL the API's lists of service entries are written by the database (api/entry_json.py):
each entry's value holds what the Python writing (`views._entry`, which SQLite keeps) gives, key for
key and in the same order, for entries of every shape; participants only of the entries named."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import orjson
import pytest
import sqlalchemy as sa

from svcproc.api import entry_json, views
from svcproc.api.entry_json import People
from svcproc.delivery.models import Beneficiary, ServiceActivity
from svcproc.extensions import db

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture
def postgresql():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's JSON functions (SQLite lists are written in Python)")


def _ordered(text) -> list:
    """The JSON with every object as its list of (key, value) pairs: equal only in the same order."""
    return json.loads(text, object_pairs_hook=list)


def _python(ids: list[int], named: set[int]) -> dict[int, list]:
    """Each entry as a list page writes it in Python, with the participants of the entries `named`."""
    rows = db.session.execute(views._entry_rows(sa.select(ServiceActivity)).where(ServiceActivity.id.in_(ids))).all()
    around = views._workers_and_people(rows, named)
    return {r.id: _ordered(orjson.dumps(views._entry(r, r.id in named, around), option=orjson.OPT_SORT_KEYS))
            for r in rows}


def _database(ids: list[int], named: set[int] | None) -> dict[int, list]:
    return {i: _ordered(text) for i, text in entry_json.values_by_id(ids, named).items()}


def _entries_of_every_shape(world) -> list[int]:
    made = [
        world.record(),
        # no one named, hours given, text that must be escaped, a group's session number
        world.record(start_time=time(14, 5), end_time=time(15, 50), participants=[], hours="1.25",
                     topic='“议事”会 "quoted" \\ back', outcome="第一行\n第二行\t缩进 😀", notes="</script>",
                     place="", session_number=3),
        # people of one name (ordered by id), one with neither number nor phone, one with no phone
        world.record(start_time=time(16, 0), end_time=time(17, 0),
                     participants=[world.people["shared"], world.people["no_number"], world.people["third"],
                                   world.people["elder"]],
                     workers=[world.workers["second_worker"], world.worker], head_count=0),
        world.record(actor=world.users["other_manager"], contract=world.other_contract,
                     workers=[world.workers["other_worker"]], activity_date=date(2025, 6, 11),
                     participants=[world.people["other_shared"], world.people["other_only"]]),
    ]
    db.session.flush()
    ids = [a.id for a in made]
    # Moments with and without microseconds, and one on a whole second.
    for activity_id, moment in zip(ids, (datetime(2025, 6, 10, 1, 2, 3, tzinfo=timezone.utc),
                                         datetime(2025, 6, 10, 1, 2, 3, 450000, tzinfo=timezone.utc),
                                         datetime(2025, 6, 10, 23, 59, 59, 1, tzinfo=timezone.utc))):
        db.session.execute(sa.update(ServiceActivity).where(ServiceActivity.id == activity_id)
                           .values(created_at=moment, updated_at=moment))
    db.session.execute(sa.update(Beneficiary).where(Beneficiary.id == world.people["third"].id)
                       .values(phone_masked=""))
    db.session.expire_all()
    return ids


@pytest.mark.usefixtures("postgresql")
@pytest.mark.parametrize("people", list(People))
def test_each_entry_is_what_the_python_writing_gives(world, count_queries, people):
    ids = _entries_of_every_shape(world)
    named = {People.ALL: set(ids), People.NONE: set(), People.NAMED: set(ids[:2])}[people]

    with count_queries() as counted:
        written = _database(ids, None if people is People.ALL else named)

    assert written == _python(ids, named)
    assert set(written) == set(ids) and counted.count == 1
    participants = {i: dict(entry)["participants"] for i, entry in written.items()}
    assert [i for i in ids if participants[i] is not None] == [i for i in ids if i in named]
    assert len(participants[ids[-1]] or []) == (2 if people is People.ALL else 0)
    assert dict(written[ids[0]])["created_at"] == "2025-06-10T01:02:03+00:00"
    second = dict(written[ids[1]])
    assert second["updated_at"] == "2025-06-10T01:02:03.450000+00:00"
    assert second["hours"] == "1.25" and second["start_time"] == "14:05"
    assert entry_json.values_by_id([], named) == {}


@pytest.mark.usefixtures("postgresql")
def test_the_list_answers_what_the_python_writing_gives(client, world, token_of):
    ids = _entries_of_every_shape(world)

    body = client.get(f"/api/v1/contracts/{world.contract.id}/services", headers=token_of("manager"),
                      query_string={"limit": 100}).get_data()
    items = {dict(item)["id"]: item for item in dict(_ordered(body))["items"]}

    mine = [i for i in ids if i != ids[-1]]
    expected = _python(mine, set(mine))
    assert expected and {i: items[i] for i in expected} == expected
