"""A kept process holds its newest release's date in a column as long as a UTC stamp, which a local
stamp (+08:00) overran on PostgreSQL: the releases page answered 400. The delivery world's contract
was signed on a local day, so its newest release starts one."""
from __future__ import annotations

import json

import sqlalchemy as sa

from svcproc.extensions import db
from svcproc.ocds.models import OcdsProcess
from svcproc.ocds.releases import newest


def test_a_process_whose_newest_release_starts_a_local_day_is_kept_and_served(client, world):
    response = client.get("/ocds/releases.json")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    package = json.loads(response.get_data())
    dates = [r["date"] for r in package["releases"]]
    assert any(d.endswith("+08:00") for d in dates)  # the case this is about
    assert package["publishedDate"] == newest(dates)
    kept = db.session.execute(sa.select(OcdsProcess.latest)).scalars().all()
    assert kept and all(len(k) == 20 and k.endswith("Z") for k in kept if k)
