"""Secondary suppression on the results pages: a figure withheld because it is small cannot be
worked out from the figures shown beside it or on the pages above and below it (a street's total
less its communities' shown totals, an area's total less its projects' shown rows), and nothing is
withheld when no figure is small.

The module's world: the delivery world's street with a third community planted in it. The
organization's contract served 12 people in 12 sessions in the first community, 11 people in 15
sessions in the second, and 4 people in 3 sessions in the planted one.
"""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest

from svcproc.delivery.models import ActivityType
from svcproc.extensions import db
from svcproc.public import sharing
from svcproc.public.sharing import protect
from svcproc.registry.models import Area, AreaLevel
from tests.builders.delivery import World, add_person, build_world
from tests.builders.registry import AreaFactory

pytestmark = pytest.mark.usefixtures("shared_connection")
MEASURES = ("Service sessions", "Person-times", "Distinct people")
WITHHELD = "withheld"


# --- the rule itself -----------------------------------------------------------------------------


def _group(total, parts):
    return (("total", total, None), [("total", p, None) for p in parts])


def test_one_small_part_takes_the_next_smallest_with_it():
    values = {("total", 0, None): 60, ("total", 1, None): 3, ("total", 2, None): 12, ("total", 3, None): 45}

    withheld = protect(values, [_group(0, [1, 2, 3])], 10)

    assert withheld == {("total", 1, None), ("total", 2, None)}


def test_two_small_parts_that_add_up_to_little_take_a_third():
    # Withheld 1 and 1 of a shown 52: a reader taking the other as 1 would know each is 1.
    values = {("total", 0, None): 52, ("total", 1, None): 1, ("total", 2, None): 1, ("total", 3, None): 50}

    withheld = protect(values, [_group(0, [1, 2, 3])], 10)

    assert withheld == {("total", 1, None), ("total", 2, None), ("total", 3, None)}


def test_with_no_other_part_left_the_total_is_withheld():
    values = {("total", 0, None): 10, ("total", 1, None): 9, ("total", 2, None): 1}

    withheld = protect(values, [_group(0, [1, 2])], 10)

    assert ("total", 0, None) in withheld


def test_a_withheld_total_takes_one_of_its_shown_parts():
    # The street's total is withheld (it is small in its district's sum) but its parts are shown.
    values = {("total", 9, None): 60, ("total", 0, None): 25, ("total", 8, None): 35,
              ("total", 7, None): 5, ("total", 1, None): 12, ("total", 2, None): 13}
    groups = [_group(9, [0, 8, 7]), _group(0, [1, 2])]

    withheld = protect(values, groups, 10)

    assert {("total", 7, None), ("total", 0, None), ("total", 1, None)} <= withheld


def test_nothing_is_withheld_when_nothing_is_small_and_zeros_are_shown():
    values = {("total", 0, None): 40, ("total", 1, None): 0, ("total", 2, None): 12, ("total", 3, None): 28}

    assert protect(values, [_group(0, [1, 2, 3])], 10) == set()


# --- the pages -----------------------------------------------------------------------------------


def _build(clock) -> dict:
    ids = build_world(clock)
    world = World(ids)
    first, second = world.communities
    planted = AreaFactory(level=AreaLevel.COMMUNITY, name="芳草街社区", parent=first.parent)
    db.session.flush()
    day = date(2025, 4, 2)

    def people(where, n, tag):
        return [add_person(world.manager, world.org.id, f"居民{tag}{i}", community=where, birth_year=1950 + i)
                for i in range(n)]

    def sessions(where, groups):
        nonlocal day
        for group in groups:
            world.record(activity_date=day, community=where, participants=group, head_count=0,
                         type=ActivityType.COMMUNITY_EVENT, start_time=time(9, 0), end_time=time(10, 0))
            day += timedelta(days=1)

    a = people(first, 12, "甲")
    sessions(first, [[p] for p in a])                                  # 12 sessions, 12 people
    b = people(second, 11, "乙")
    sessions(second, [[p] for p in b] + [[b[0]], [b[1]], [b[2]], [b[3]]])  # 15 sessions, 11 people
    c = people(planted, 4, "丙")
    sessions(planted, [c[:2], [c[2]], [c[3]]])                         # 3 sessions, 4 people
    db.session.flush()
    return {**ids, "planted": planted.id}


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


@pytest.fixture
def ids(built, clock):
    clock.set(built["now"])
    return built


def _page(client, area_id: int) -> dict:
    """{"total": {measure: text}, contract id: {measure: text}} as the page shows them."""
    response = client.get(f"/areas/{area_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    part = html[html.index('id="total-h"'):]
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", part[:part.index("</dl>")]))
    shown = {"total": {m: facts[m] for m in MEASURES}, "html": html}
    for contract_id, *cells in re.findall(
            r'<tr><td><a href="/notices/contracts/(\d+)">.*?</td>\s*<td>.*?</td><td>.*?</td>\s*'
            r"<td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", html, re.S):
        shown[int(contract_id)] = dict(zip(MEASURES, cells))
    return shown


def _number(text: str) -> int | None:
    return None if text == WITHHELD else int(text.replace(",", ""))


def _pages(client, ids) -> tuple[dict, list[int]]:
    world = World(ids)
    street = world.communities[0].parent
    communities = [c.id for c in world.communities] + [ids["planted"]]
    client.post("/lang/en", data={"next": "/"})
    pages = {area_id: _page(client, area_id) for area_id in [street.parent_id, street.id, *communities]}
    return pages, communities


def _sums(pages: dict, street_id: int, district_id: int, communities: list[int]) -> list[tuple[str, object, list]]:
    """Every sum the pages publish: (measure, total text, [part texts])."""
    sums = []
    for measure in MEASURES:
        sums.append((measure, pages[street_id]["total"][measure], [pages[c]["total"][measure] for c in communities]))
        sums.append((measure, pages[district_id]["total"][measure], [pages[street_id]["total"][measure]]))
        for area_id, page in pages.items():
            rows = [v for k, v in page.items() if isinstance(k, int)]
            if rows:
                sums.append((measure, page["total"][measure], [r[measure] for r in rows]))
        for contract_id in (k for k in pages[street_id] if isinstance(k, int)):
            # The planted community does not list the project (its plan does not cover it): what the
            # project did there is on no page, as good as withheld.
            parts = [pages[c].get(contract_id, {}).get(measure, WITHHELD) for c in communities]
            sums.append((measure, pages[street_id][contract_id][measure], parts))
    return sums


def test_a_small_communitys_figures_cannot_be_worked_out_from_any_page(app, client, ids):
    world = World(ids)
    street = world.communities[0].parent
    pages, communities = _pages(client, ids)
    minimum = app.config["PUBLIC_MIN_CELL"]

    planted = pages[ids["planted"]]["total"]
    assert planted == {m: WITHHELD for m in MEASURES}
    # The street's own figures stay shown: its total less its communities' shown figures is no figure.
    assert pages[street.id]["total"] == {"Service sessions": "30", "Person-times": "31", "Distinct people": "27"}
    assert [pages[c]["total"]["Service sessions"] for c in communities].count(WITHHELD) >= 2
    for measure, total, parts in _sums(pages, street.id, street.parent_id, communities):
        hidden = [p for p in parts if p == WITHHELD]
        if _number(total) is None:
            # A withheld total is not their sum of shown parts.
            assert hidden or all(_number(p) == 0 for p in parts), (measure, total, parts)
            continue
        if not hidden or _number(total) == 0:
            assert sum(_number(p) or 0 for p in parts) <= _number(total)
            continue
        # Total less the shown parts: what the withheld ones add up to, never one of them alone, and
        # (each other taken as 1) never small enough to tell one is below the minimum.
        rest = _number(total) - sum(_number(p) for p in parts if p != WITHHELD)
        assert len(hidden) >= 2, (measure, total, parts)
        assert rest - (len(hidden) - 1) >= minimum, (measure, total, parts)


def test_a_withheld_kind_of_service_is_not_drawn(client, ids):
    pages, _communities = _pages(client, ids)

    html = pages[ids["planted"]]["html"]

    assert "Not drawn (withheld)" in html and "<svg" not in html.split('id="projects-h"')[0]


def test_nothing_is_withheld_when_no_figure_is_below_the_minimum(app, client, ids):
    world = World(ids)
    street = world.communities[0].parent
    app.config["PUBLIC_MIN_CELL"] = 3
    try:
        pages, communities = _pages(client, ids)
    finally:
        app.config["PUBLIC_MIN_CELL"] = 10

    for area_id, page in pages.items():
        assert f">{WITHHELD}<" not in page["html"] and "Not drawn" not in page["html"], area_id
    assert pages[ids["planted"]]["total"] == {"Service sessions": "3", "Person-times": "4", "Distinct people": "4"}
    assert [pages[c]["total"]["Distinct people"] for c in communities] == ["12", "11", "4"]
    assert pages[street.id][world.contract.id] == {"Service sessions": "30", "Person-times": "31",
                                                   "Distinct people": "27"}


def test_the_figures_are_stored_for_every_host_and_decided_again_by_a_job(app, client, ids, clock, count_queries,
                                                                           monkeypatch):
    from svcproc.core import jobs
    from svcproc.public.models import PublicFigures
    from svcproc.public.tasks import JOB_KIND, run_figures_job

    world = World(ids)
    street = world.communities[0].parent
    client.post("/lang/en", data={"next": "/"})
    with count_queries() as counted:
        before = _page(client, street.id)["total"]
    monkeypatch.setitem(app.config, "PUBLIC_FIGURES_CACHE_SECONDS", 600)
    started = []
    monkeypatch.setattr(jobs, "dispatch", lambda job: started.append(job))  # the job is run by hand below
    _page(client, street.id)  # nothing stored yet: this first page decides and stores them
    stored = db.session.get(PublicFigures, app.config["PUBLIC_MIN_CELL"])
    assert stored is not None and started == []
    world.record(activity_date=date(2025, 6, 14), community=world.communities[1], head_count=0,
                 participants=[world.people["elder"]], start_time=time(15, 0), end_time=time(16, 0))
    db.session.flush()

    with count_queries() as kept:
        meanwhile = _page(client, street.id)["total"]
    other_host = app.test_client()  # another web process reads the same stored figures
    other_host.post("/lang/en", data={"next": "/"})
    elsewhere = _page(other_host, street.id)["total"]
    clock.advance(seconds=601)
    stale = _page(client, street.id)["total"]
    _page(client, street.id)
    assert len(started) == 1, "one refresh is queued however many pages find the figures old"
    job = db.session.get(jobs.Job, started[0])
    assert job.kind == JOB_KIND
    run_figures_job(job, lambda *a: None)
    later = _page(client, street.id)["total"]

    assert kept.count < counted.count and meanwhile == before == elsewhere == stale
    assert _number(later["Service sessions"]) == _number(before["Service sessions"]) + 1


def test_each_process_reads_the_stored_figures_once_per_version_of_them(app, client, ids, clock, count_queries,
                                                                        monkeypatch):
    """The stored figures (ten thousand rows at a district's size) are read and made into cells once
    and kept under their version; a refresh, by a job on any host, gives them a new one, and the next
    page reads the new figures."""
    from svcproc.core import jobs
    from svcproc.public.tasks import run_figures_job

    world = World(ids)
    street = world.communities[0].parent
    client.post("/lang/en", data={"next": "/"})
    monkeypatch.setitem(app.config, "PUBLIC_FIGURES_CACHE_SECONDS", 600)
    started = []
    monkeypatch.setattr(jobs, "dispatch", lambda job: started.append(job))
    _page(client, street.id)  # nothing stored yet: decided and stored
    _page(client, street.id)  # read and kept

    with count_queries() as kept:
        before = _page(client, street.id)["total"]
    world.record(activity_date=date(2025, 6, 14), community=world.communities[1], head_count=0,
                 participants=[world.people["elder"]], start_time=time(15, 0), end_time=time(16, 0))
    db.session.flush()
    clock.advance(seconds=601)
    _page(client, street.id)  # old: a refresh is queued, the kept figures shown meanwhile
    run_figures_job(db.session.get(jobs.Job, started[0]), lambda *a: None)
    with count_queries() as refreshed:
        later = _page(client, street.id)["total"]

    def read_figures(counted):
        return [s for s in counted.statements if "public_figures.cells" in s]

    assert read_figures(kept) == [] and len(read_figures(refreshed)) == 1
    assert _number(later["Service sessions"]) == _number(before["Service sessions"]) + 1


def test_the_command_decides_and_stores_the_figures(app, cli, ids):
    from svcproc.public.models import PublicFigures

    result = cli("public", "refresh")

    assert result.exit_code == 0, result.output
    stored = db.session.get(PublicFigures, app.config["PUBLIC_MIN_CELL"])
    assert stored is not None and len(stored.cells) > 0
    assert str(len(stored.cells)) in result.output