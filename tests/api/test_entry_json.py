"""On PostgreSQL the API's lists of service entries are written by the database (api/entry_json.py):
each entry's value holds what the Python writing (`views._entry`, which SQLite keeps) gives, key for
key and in the same order, for entries of every shape; participants only where they may be seen."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import orjson
import pytest
import sqlalchemy as sa

from svcproc.api import entry_json, views
from svcproc.api.entry_json import People
from svcproc.delivery import permissions as perms
from svcproc.delivery.models import ActivityType, Beneficiary, ServiceActivity
from svcproc.extensions import db
from svcproc.registry.models import Organization

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture
def postgresql():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's JSON functions (SQLite lists are written in Python)")


def _ordered(text) -> list:
    """The JSON with every object as its list of (key, value) pairs: equal only in the same order."""
    return json.loads(text, object_pairs_hook=list)


def _python(ids: list[int], show) -> dict[int, list]:
    """Each entry as a list page writes it in Python; `show`: the organizations whose people are named."""
    rows = db.session.execute(views._entry_rows(sa.select(ServiceActivity), views._owner().organization_id)
                              .join_from(ServiceActivity, views._owner(),
                                         views._owner().id == ServiceActivity.contract_id)
                              .where(ServiceActivity.id.in_(ids))).all()
    around = views._workers_and_people(rows, {r.id for r in rows if r.organization_id in show})
    return {r.id: _ordered(orjson.dumps(views._entry(r, r.organization_id in show, around),
                                        option=orjson.OPT_SORT_KEYS)) for r in rows}


def _database(ids: list[int], people: People, shown=()) -> dict[int, list]:
    owner = views._owner()
    stmt = (entry_json.entry_rows(sa.select(ServiceActivity), people, organization=owner.organization_id)
            .join_from(ServiceActivity, owner, owner.id == ServiceActivity.contract_id)
            .where(ServiceActivity.id.in_(ids)))
    params = {"shown_organizations": list(shown)} if people is People.OF_ORGANIZATIONS else {}
    return {r.id: _ordered(r.entry) for r in db.session.execute(stmt, params)}


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
def test_each_entry_is_what_the_python_writing_gives(world, people):
    ids = _entries_of_every_shape(world)
    shown = {People.ALL: {world.org.id, world.other_org.id}, People.NONE: set(),
             People.OF_ORGANIZATIONS: {world.org.id}}[people]

    written = _database(ids, people, shown)

    assert written == _python(ids, shown)
    assert set(written) == set(ids)
    named = {i: dict(entry)["participants"] for i, entry in written.items()}
    mine = [i for i in ids if db.session.get(ServiceActivity, i).contract_id == world.contract.id]
    if people is People.NONE:
        assert all(p is None for p in named.values())
    elif people is People.OF_ORGANIZATIONS:
        assert all(named[i] is not None for i in mine) and named[ids[-1]] is None
    else:
        assert len(named[ids[-1]]) == 2
    first = dict(written[ids[0]])
    assert first["created_at"] == "2025-06-10T01:02:03+00:00"
    assert dict(written[ids[1]])["updated_at"] == "2025-06-10T01:02:03.450000+00:00"
    assert dict(written[ids[1]])["hours"] == "1.25" and dict(written[ids[1]])["start_time"] == "14:05"


@pytest.mark.usefixtures("postgresql")
def test_the_list_answers_what_the_python_writing_gives(client, world, token_of):
    ids = _entries_of_every_shape(world)

    body = client.get(f"/api/v1/contracts/{world.contract.id}/services", headers=token_of("manager"),
                      query_string={"limit": 100}).get_data()
    items = {dict(item)["id"]: item for item in dict(_ordered(body))["items"]}

    expected = _python([i for i in ids if i != ids[-1]], {world.org.id})
    assert expected and {i: items[i] for i in expected} == expected


@pytest.mark.parametrize("who", ["manager", "worker", "other_manager", "procurement", "admin", "auditor", "expert",
                                 "evaluator"])
def test_the_organizations_named_are_those_whose_people_the_reader_may_see(world, who):
    user = world.users[who]
    organizations = db.session.execute(sa.select(Organization.id)).scalars().all()

    seen = perms.organizations_with_visible_people(user)

    for organization in organizations:
        assert (seen is None or organization in seen) == perms.can_view_beneficiaries(user, organization)
    assert seen is None or len(seen) <= 1
