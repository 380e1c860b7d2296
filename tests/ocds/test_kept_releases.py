"""The releases kept in the database (svcproc/ocds/store.py): what is served from them is byte for
byte what building the releases from the rows gives, a read of kept releases is one statement, and a
change to what they are built from shows in the next read."""
from __future__ import annotations

import json
import re
from datetime import date, time

import pytest
from flask import url_for

from svcproc.extensions import db
from svcproc.ocds import packages, store
from svcproc.ocds.models import OcdsProcess
from tests.builders.ocds import build_ocds_world, contract_of, tender

pytestmark = pytest.mark.usefixtures("shared_connection")

PREFIX = "ocds-xxxxxx-"
YEAR = 2025
KEYS = ["published", "publicity", "awarded", "cancelled", "failed", "running", "other", "closed", "terminated"]


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_ocds_world)


@pytest.fixture
def world(built, clock):
    clock.set(built["built_at"])
    return built


def _ocid(world, key: str) -> str:
    return PREFIX + tender(world, key).number


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _built_from_the_rows(app, world) -> dict[str, str]:
    """URL -> the package as the dicts built from the rows give it (the way it was served before
    releases were kept), for every page, process and bulk file."""
    expected = {}
    with app.test_request_context():
        after = 0
        while True:
            releases, next_after = packages.page_of_releases(after)
            url = url_for("ocds.releases", after=after or None)
            expected[url] = _dump(packages.release_package(
                url_for("ocds.releases", after=after or None, _external=True), releases))
            if next_after is None:
                break
            after = next_after
        for key in KEYS:
            ocid = _ocid(world, key)
            releases = packages.releases_of(*packages.find_by_ocid(ocid))
            expected[f"/ocds/releases/{ocid}.json"] = _dump(packages.release_package(
                url_for("ocds.release_package", ocid=ocid, _external=True), releases))
            expected[f"/ocds/records/{ocid}.json"] = _dump(packages.record_package(
                url_for("ocds.record_package", ocid=ocid, _external=True), [packages.compile_record(ocid, releases)],
                [url_for("ocds.release_package", ocid=ocid, _external=True)]))
        every = [r for process in packages.fiscal_year_processes(YEAR) for r in packages.releases_of(*process)]
        expected[f"/ocds/bulk/{YEAR}.jsonl"] = "".join(_dump(r) + "\n" for r in every)
        bulk = packages.release_package(url_for("ocds.bulk", year=YEAR, fmt="json", _external=True), every)
        expected[f"/ocds/bulk/{YEAR}.json"] = _dump(bulk)
    return expected


def _kept() -> dict[int, OcdsProcess]:
    return {k.tender_id: k for k in db.session.execute(db.select(OcdsProcess)).scalars()}


def test_what_is_served_is_what_building_from_the_rows_gives(app, client, world, monkeypatch):
    monkeypatch.setattr(packages, "PAGE", 4)   # three pages, the last one short
    expected = _built_from_the_rows(app, world)
    assert len([u for u in expected if u.startswith("/ocds/releases.json")]) == 3
    assert _kept() == {}

    built = {url: _text(client, url) for url in expected}          # built, and kept by the pages
    kept = _kept()
    served = {url: _text(client, url) for url in expected}         # read from what was kept

    assert sorted(kept) == sorted(tender(world, k).id for k in KEYS)
    for url, text in expected.items():
        if "/bulk/" in url:   # dated when written
            text = re.sub(r'"publishedDate":"[^"]+"', "", text)
            assert re.sub(r'"publishedDate":"[^"]+"', "", built[url]) == text, url
            assert re.sub(r'"publishedDate":"[^"]+"', "", served[url]) == text, url
        else:
            assert built[url] == text, url
            assert served[url] == text, url
    # Document addresses follow the address the site was reached at.
    other = client.get(f"/ocds/releases/{_ocid(world, 'published')}.json", base_url="https://ocds.example.org")
    assert '"url":"https://ocds.example.org/notices/tenders/' in other.get_data(as_text=True)
    assert "localhost" not in other.get_data(as_text=True).replace('"uri":"http://localhost', "")


def test_a_page_of_kept_releases_is_one_statement(client, world, count_queries):
    urls = ["/ocds/releases.json", f"/ocds/releases/{_ocid(world, 'running')}.json",
            f"/ocds/records/{_ocid(world, 'closed')}.json"]
    for url in urls:
        with count_queries() as first:
            _text(client, url)
        with count_queries() as again:
            text = _text(client, url)

        assert first.count <= 14, url    # the releases built (a fixed number of queries) and kept
        assert again.count == 1, url     # the kept text and its fingerprint, in one statement
        assert len(text) > 1000


def test_a_page_read_as_bytes_is_the_page_read_as_text(app, client, world, monkeypatch, count_queries):
    """A page joins the kept releases as the UTF-8 bytes the database sends (pages.py): the same
    bytes as reading them as text, with some kept and some built again, in one statement when kept."""
    from svcproc.ocds import pages

    monkeypatch.setattr(packages, "PAGE", 4)
    _text(client, "/ocds/releases.json")                       # the first page built and kept
    read = []
    serve = store.serve

    def spied(rows, *args, **kwargs):
        read.extend(type(row[-1]) for row in rows)
        return serve(rows, *args, **kwargs)

    monkeypatch.setattr(store, "serve", spied)
    with app.test_request_context():
        uri = url_for("ocds.releases", _external=True)
        with count_queries() as kept:
            page, after = pages.page_json(uri, 0)
        assert (page, after) == packages.page_json(uri, 0)
        assert after is not None and '"releases":[{' in page.decode()
        second = pages.page_json(uri, after)                    # built now, not yet kept
        assert second == packages.page_json(uri, after)
    assert kept.count == 1
    # Read undecoded on PostgreSQL (the driver's text loader, for that statement only).
    assert set(read[:4]) == ({bytes} if db.engine.dialect.name == "postgresql" else {str})
    assert json.loads(page)["releases"] and json.loads(second[0])["releases"]


def _releases(client, world, key: str) -> list[dict]:
    return json.loads(_text(client, f"/ocds/releases/{_ocid(world, key)}.json"))["releases"]


def test_a_cancelled_tender_shows_in_the_next_read(client, world):
    from svcproc.procurement import workflow as procurement
    from tests.builders.delivery import World

    before = _releases(client, world, "publicity")
    procurement.cancel_tender(World(world).users["procurement"], tender(world, "publicity"), "预算调整，项目取消。")
    db.session.commit()

    after = _releases(client, world, "publicity")

    assert not any(r["tag"] == ["tenderCancellation"] for r in before)
    assert after[-1]["tag"] == ["tenderCancellation"]
    assert after[-1]["tender"]["documents"][0]["description"] == "预算调整，项目取消。"


def test_a_contract_amendment_shows_in_the_next_read(client, world):
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import local_today
    from tests.builders.delivery import World

    contract = contract_of(world, "running")
    before = _releases(client, world, "running")
    contracts.amend_contract(World(world).users["procurement"], contract, reason="再次延长服务期限。",
                             amended_on=local_today(), end_date=date(2026, 3, 31))
    db.session.commit()

    after = _releases(client, world, "running")

    assert len(after) == len(before) + 1
    [third] = [r for r in after if r["id"].endswith("-contract-amendment-3")]
    assert third["contracts"][0]["period"]["endDate"].startswith("2026-03-31")


def test_a_milestone_accepted_and_a_payment_show_in_the_next_read(client, world):
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import local_today
    from tests.builders.delivery import World
    from tests.builders.files import pdf_upload
    from svcproc.contracts.models import DeliverableKind

    w = World(world)
    contract = contract_of(world, "running")
    milestone = contract.milestones[1]
    contracts.add_deliverable(w.manager, milestone, pdf_upload("第二期报告.pdf"), DeliverableKind.REPORT, "报告")
    contracts.submit_milestone(w.manager, milestone)
    db.session.commit()
    before = [r["id"] for r in _releases(client, world, "running")]
    contracts.accept_milestone(w.users["procurement"], milestone)
    db.session.commit()
    accepted = [r["id"] for r in _releases(client, world, "running")]
    contracts.record_payment(w.users["procurement"], milestone, amount_fen=1000, voucher_number="PZ-OCDS-2",
                             paid_on=local_today())
    db.session.commit()
    paid = [r["id"] for r in _releases(client, world, "running")]

    ocid = _ocid(world, "running")
    assert set(accepted) - set(before) == {f"{ocid}-milestone-{milestone.id}-accepted"}
    assert set(paid) - set(accepted) == {f"{ocid}-payment-{contract.payments[-1].id}"}


def test_a_back_dated_service_entry_in_an_ended_month_shows_in_the_next_read(client, world):
    from tests.builders.delivery import World

    def june(releases):
        [month] = [r for r in releases if r["id"].endswith("-progress-2025-06")]
        return {m["id"]: m["observations"][0]["measure"] for m in month["contracts"][0]["implementation"]["metrics"]}

    before = june(_releases(client, world, "running"))
    w = World(world)
    w.record(activity_date=date(2025, 6, 20), start_time=time(15, 0), end_time=time(16, 30), head_count=7,
             topic="补录：六月社区活动")
    db.session.commit()

    after = june(_releases(client, world, "running"))

    assert after["activities"] == before["activities"] + 1
    assert after["person_times"] == before["person_times"] + 7 + 2


def test_a_month_ending_publishes_its_figures_in_the_next_read(client, world, clock):
    """A month ends with the calendar, not with a change to any row."""
    from datetime import datetime, timezone

    from tests.builders.delivery import World

    clock.set(datetime(2025, 7, 15, 2, 0, tzinfo=timezone.utc))
    World(world).record(activity_date=date(2025, 7, 10), start_time=time(8, 0), end_time=time(9, 0),
                        topic="七月社区活动")
    db.session.commit()
    in_july = [r["id"] for r in _releases(client, world, "running")]
    clock.set(datetime(2025, 7, 31, 16, 0, tzinfo=timezone.utc))   # midnight on 1 August in Shanghai

    in_august = [r["id"] for r in _releases(client, world, "running")]

    assert not any(i.endswith("-progress-2025-07") for i in in_july)
    assert any(i.endswith("-progress-2025-07") for i in in_august)


def test_the_bulk_file_is_read_a_batch_at_a_time_from_the_kept_releases(app, client, world, count_queries):
    """Once kept, a batch of the bulk file is one statement, and the file is written as it is read:
    the first batch is out before the second is asked for."""
    with app.test_request_context():
        store.refresh(batch=3)
    expected = _built_from_the_rows(app, world)[f"/ocds/bulk/{YEAR}.jsonl"]

    with app.test_request_context():
        with count_queries() as counted:
            chunks = packages.stream_bulk(YEAR, "http://localhost/x", True, batch=3)
            first = next(chunks)
            after_first = counted.count
            rest = "".join(chunks)

    assert after_first == 1
    assert counted.count == 4   # three batches of three, and the look past a full last one
    assert first + rest == expected


def test_the_refresh_command_builds_what_is_stale(app, world):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["ocds", "refresh"])
    again = runner.invoke(args=["ocds", "refresh"])
    tender(world, "awarded").title = "新标题"
    db.session.commit()
    changed = runner.invoke(args=["ocds", "refresh"])
    everything = runner.invoke(args=["ocds", "refresh", "--all"])

    assert first.exit_code == 0, first.output
    assert "9 processes, 9 built" in first.output
    assert "9 processes, 0 built" in again.output
    assert "9 processes, 1 built" in changed.output
    assert "9 processes, 9 built" in everything.output
    assert '"title":"新标题"' in _kept()[tender(world, "awarded").id].releases


def test_an_entry_of_the_current_month_does_not_build_the_releases_again(client, world, clock, count_queries):
    """Entries of the month under way publish nothing until it ends: the kept text is checked against
    the ended months' figures (one query) and noted current (one statement), not built again."""
    from datetime import datetime, timezone

    from tests.builders.delivery import World

    clock.set(datetime(2025, 8, 12, 2, 0, tzinfo=timezone.utc))
    url = f"/ocds/releases/{_ocid(world, 'running')}.json"
    before = _text(client, url)
    World(world).record(activity_date=date(2025, 8, 11), start_time=time(8, 0), end_time=time(9, 0),
                        topic="八月社区活动")
    db.session.commit()

    with count_queries() as checked:
        after = _text(client, url)
    with count_queries() as again:
        _text(client, url)

    assert after == before
    assert checked.count == 3   # building would take a dozen
    assert again.count == 1


def test_a_month_ending_without_services_leaves_the_releases_as_built(client, world, clock, count_queries):
    from datetime import datetime, timezone

    url = f"/ocds/releases/{_ocid(world, 'closed')}.json"
    before = _text(client, url)
    clock.set(datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc))   # a new year in Shanghai

    with count_queries() as checked:
        after = _text(client, url)

    assert after == before
    assert checked.count == 3   # building would take a dozen


def test_releases_another_reader_is_keeping_are_served_without_being_kept(client, world, monkeypatch):
    """Saving is only for the next reader: when it fails (two readers keeping the same processes
    deadlocked), the page is still answered, and the next reader builds them again."""
    import sqlalchemy as sa

    url = f"/ocds/releases/{_ocid(world, 'awarded')}.json"

    def deadlocked(_rows):
        raise sa.exc.OperationalError("INSERT INTO ocds_process", {}, Exception("deadlock detected"))

    monkeypatch.setattr(store, "_save", deadlocked)
    served = _text(client, url)
    monkeypatch.undo()

    assert tender(world, "awarded").id not in _kept()
    assert _text(client, url) == served
    assert tender(world, "awarded").id in _kept()


def test_a_record_is_compiled_once_for_releases_a_page_kept(client, world, count_queries):
    """A page never shows compiled records, so it keeps releases without them; the first record
    package asked for compiles it from the kept releases and keeps it."""
    _text(client, "/ocds/releases.json")
    kept = _kept()[tender(world, "running").id]
    assert kept.releases and kept.compiled == ""
    url = f"/ocds/records/{_ocid(world, 'running')}.json"

    with count_queries() as first:
        record = json.loads(_text(client, url))["records"][0]
    with count_queries() as again:
        _text(client, url)

    assert first.count == 2   # the kept releases, and keeping the record compiled from them
    assert again.count == 1
    db.session.expire_all()
    compiled = _kept()[tender(world, "running").id].compiled.replace(store.MARK, "http://localhost")
    assert json.loads(compiled) == record["compiledRelease"]
