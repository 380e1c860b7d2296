"""A package's publishedDate is its newest release's moment, in UTC. Release dates are written in UTC
or as the start of a local day (+08:00), whose text does not sort as the moments do; and a kept
process holds the date in a column as long as a UTC stamp, which a local stamp overran on
PostgreSQL (the page answered 400)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from svcproc.extensions import db
from svcproc.ocds.models import OcdsProcess
from svcproc.ocds.releases import newest
from tests.builders.delivery import World, build_world


@pytest.fixture(scope="module")
def built_delivery(build_once):
    return build_once(build_world)


@pytest.fixture
def delivery_world(built_delivery, clock) -> World:
    clock.set(built_delivery["now"])
    return World(built_delivery)


@pytest.mark.parametrize("stamps, expected", [
    (["2025-05-19T17:00:00Z", "2025-05-20T00:00:00+08:00"], "2025-05-19T17:00:00Z"),
    (["2025-05-20T00:00:00+08:00", "2025-05-19T15:00:00Z"], "2025-05-19T16:00:00Z"),
    (["2025-03-12T02:00:00Z"], "2025-03-12T02:00:00Z"),
    ([], ""),
])
def test_the_newest_of_release_dates_is_the_latest_moment_in_utc(stamps, expected):
    assert newest(stamps) == expected


def test_a_process_whose_newest_release_starts_a_local_day_is_kept_and_served(client, delivery_world):
    response = client.get("/ocds/releases.json")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    package = json.loads(response.get_data())
    dates = [r["date"] for r in package["releases"]]
    assert any(d.endswith("+08:00") for d in dates)  # the case this is about
    assert package["publishedDate"] == newest(dates)
    kept = db.session.execute(sa.select(OcdsProcess.latest)).scalars().all()
    assert kept and all(len(k) == 20 and k.endswith("Z") for k in kept if k)
