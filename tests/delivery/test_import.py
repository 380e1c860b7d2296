"""Ledger imports: the templates, what the dry run reports, all-or-nothing, importing twice, files
that are not ledgers, and the `svcproc import-logs` command."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from svcproc.delivery import flags, ledger, services
from svcproc.delivery.models import (ActivityType, ImportBatch, ImportStatus, ServiceActivity, ServiceCase,
                                     ServiceGroup)
from svcproc.extensions import db
from tests.builders.delivery import (COMMUNITIES, HEADER_EN, HEADER_ZH, START, csv_bytes, id_number, ledger_row,
                                     unchanged, upload, xlsx_bytes)
from tests.helpers import audit_events, count, events_after, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")

UNREGISTERED = id_number(date(1947, 2, 3), 77)


def _heading(key: str) -> str:
    """A column's heading as the files of these tests name it (the template's, in Chinese)."""
    return HEADER_ZH[ledger.KEYS.index(key)]


def _valid_rows(world) -> list[list[str]]:
    """One row of each kind; participants separated the ways people type them."""
    n = world.number
    return [
        ledger_row(day="2025-06-02", people=f"{n('elder')};{n('second')}", head_count="8"),
        ledger_row(day="2025-06-03", start="14:00", end="15:00", kind="个案", people=n("third"), head_count="",
                   place="服务对象家中", topic="个案跟进"),
        ledger_row(day="2025-06-04", kind="小组", people=f"{n('elder')}、{n('shared')}", head_count="",
                   group="独居老人互助小组", session="1", topic="互助"),
        ledger_row(day="2025-06-05", kind="微议事", people=f"{n('second')}, {n('shared')}", head_count="",
                   topic="院落停车秩序议事", outcome="议定错峰停车"),
        ledger_row(day="2025-06-06", kind="志愿者培训", head_count="15", workers="周婷、吴昊", hours="2",
                   topic="探访技巧培训"),
    ]


def _send(client, world, data: bytes, name: str):
    return client.post(f"/contracts/{world.contract.id}/imports", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _batch(response) -> ImportBatch:
    assert response.status_code == 303, response.text[:2000]
    batch_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    return db.session.get(ImportBatch, batch_id)


def _imported(world) -> int:
    return count(ServiceActivity, ServiceActivity.contract_id == world.contract.id,
                 ServiceActivity.import_batch_id.is_not(None))


def _check(world, data: bytes, name: str = "台账.csv") -> ImportBatch:
    batch = ledger.create_batch(world.manager, world.contract, upload(data, name))
    ledger.run_check(world.manager, batch)
    return batch


# --- the templates ----------------------------------------------------------------------------


def test_the_excel_template_round_trip_imports_what_was_filled_in(client, login_as, world):
    login_as("manager")
    template = client.get(f"/contracts/{world.contract.id}/imports/template.xlsx")
    assert template.status_code == 200
    assert template.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER_ZH
    sheet.delete_rows(2, sheet.max_row)  # the example row
    for row in _valid_rows(world):
        sheet.append(row)
    filled = io.BytesIO()
    book.save(filled)

    batch = _batch(_send(client, world, filled.getvalue(), "五月台账.xlsx"))

    assert (batch.rows_total, batch.rows_new, batch.error_count, batch.status) == (5, 5, 0, ImportStatus.CHECKED)
    assert _imported(world) == 0  # nothing written before the confirmation
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303
    assert db.session.get(ImportBatch, batch.id).status == ImportStatus.IMPORTED
    assert _imported(world) == 5


def test_the_csv_template_round_trip_imports_what_was_filled_in(client, login_as, world):
    login_as("manager")
    template = client.get(f"/contracts/{world.contract.id}/imports/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert template.data.startswith("\ufeff".encode())  # so Excel reads it as UTF-8
    header = next(csv.reader(io.StringIO(template.data.decode("utf-8-sig"))))
    assert header == HEADER_ZH

    batch = _batch(_send(client, world, csv_bytes(_valid_rows(world), header=header), "台账.csv"))
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303

    assert _imported(world) == 5


@pytest.mark.parametrize("who, status", [("manager", 200), ("worker", 403), ("idle_worker", 403),
                                         ("other_manager", 403), ("procurement", 403), ("auditor", 403)])
def test_only_the_organizations_manager_imports(client, login_as, world, who, status):
    login_as(who)
    before = count(ImportBatch)

    assert client.get(f"/contracts/{world.contract.id}/imports/template.csv").status_code == status
    assert client.get(f"/contracts/{world.contract.id}/imports").status_code == status
    sent = _send(client, world, csv_bytes(_valid_rows(world)), "台账.csv")

    assert sent.status_code == (303 if status == 200 else status)
    assert count(ImportBatch) == before + (status == 200)


def test_the_import_page_names_its_earlier_files_in_as_many_statements_however_many_there_are(
        client, login_as, world, count_queries):
    login_as("manager")

    def listed(files: int):
        names = [f"台账{len(_names)}-{n}.csv" for n in range(files)]
        _names.extend(names)
        for name in names:
            ledger.create_batch(world.manager, world.contract, upload(csv_bytes(_valid_rows(world)), name))
        db.session.flush()
        with count_queries() as statements:
            html = client.get(f"/contracts/{world.contract.id}/imports").text
        assert all(name in html for name in names)
        return statements.count

    _names: list[str] = []
    assert listed(1) == listed(3)


def test_the_import_creates_each_kind_with_its_people_cases_and_groups(world):
    batch = _check(world, csv_bytes(_valid_rows(world)))

    ledger.run_import(world.manager, batch)

    made = db.session.execute(sa.select(ServiceActivity).where(ServiceActivity.import_batch_id == batch.id)
                              .order_by(ServiceActivity.activity_date)).unique().scalars().all()
    assert [a.type for a in made] == [ActivityType.COMMUNITY_EVENT, ActivityType.CASE_WORK,
                                      ActivityType.GROUP_SESSION, ActivityType.DELIBERATION,
                                      ActivityType.VOLUNTEER_TRAINING]
    people = world.people
    assert [sorted(p.id for p in a.participants) for a in made] == [
        sorted([people["elder"].id, people["second"].id]), [people["third"].id],
        sorted([people["elder"].id, people["shared"].id]), sorted([people["second"].id, people["shared"].id]), []]
    assert [a.head_count for a in made] == [8, 0, 0, 0, 15]
    assert [a.participant_count for a in made] == [len(a.participants) for a in made] == [2, 1, 2, 2, 0]
    assert [str(a.hours) for a in made] == ["1.50", "1.00", "1.50", "1.50", "2.00"]
    assert [w.name for w in made[4].workers] == ["吴昊", "周婷"]
    group = db.session.get(ServiceGroup, made[2].group_id)
    assert group.name == "独居老人互助小组" and {m.id for m in group.members} == {people["elder"].id,
                                                                               people["shared"].id}
    assert made[2].session_number == 1
    assert db.session.get(ServiceCase, made[1].case_id).beneficiary_id == people["third"].id
    assert batch.status == ImportStatus.IMPORTED and batch.rows_new == 5
    event = audit_events("import.completed", object_id=str(batch.id))[0]
    assert event.changes["created"] == [None, 5]
    assert event.changes["groups_created"] == [None, ["独居老人互助小组"]]


# --- headers, encodings, cell types -----------------------------------------------------------


@pytest.mark.parametrize("header", [HEADER_EN, [h.upper() for h in HEADER_EN],
                                    [k for k, *_rest in ledger.COLUMNS]], ids=["english", "upper", "keys"])
def test_english_headers_are_accepted(world, header):
    batch = _check(world, csv_bytes(_valid_rows(world), header=header))
    assert (batch.rows_new, batch.error_count) == (5, 0)


def test_columns_may_come_in_any_order(world):
    order = list(reversed(range(len(HEADER_ZH))))
    rows = [[row[i] for i in order] for row in _valid_rows(world)]

    batch = _check(world, csv_bytes(rows, header=[HEADER_ZH[i] for i in order]))

    assert (batch.rows_new, batch.error_count) == (5, 0)


def test_a_gb18030_csv_as_chinese_excel_saves_it_is_accepted(world):
    data = csv_bytes(_valid_rows(world), encoding="gb18030")
    assert COMMUNITIES[0].encode("gb18030") in data

    batch = _check(world, data)

    assert (batch.rows_new, batch.error_count) == (5, 0)


def _padded_past_64k(world, encoding: str) -> bytes:
    """A CSV longer than the 64 KiB sample, with a Chinese character cut at the sample's end."""
    rows = [ledger_row(day=f"2025-06-{1 + i % 15:02d}", start=f"{8 + i % 10:02d}:00", end=f"{8 + i % 10:02d}:30",
                       notes=f"社区志愿者协助签到{i}" * 3) for i in range(520)]
    for pad in range(200):
        rows[0][14] = "备" + "a" * pad
        data = csv_bytes(rows, encoding=encoding)
        assert len(data) > 70000
        if encoding.startswith("utf-8") and data[65536] & 0xC0 == 0x80:
            return data
        if encoding == "gb18030" and data[:65536].decode(encoding, "replace")[-1] == "\ufffd":
            return data
    raise AssertionError("no padding cuts a character")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_a_large_csv_cut_mid_character_by_the_sample_is_still_text(world, encoding):
    data = _padded_past_64k(world, encoding)

    batch = _check(world, data)

    assert batch.error_count == 0, batch.errors[:3]
    assert batch.rows_total == 520


def test_excel_dates_and_times_as_cell_values_are_read(world):
    rows = _valid_rows(world)
    for row in rows:
        row[0] = datetime.fromisoformat(row[0])
        row[1], row[2] = time.fromisoformat(row[1]), time.fromisoformat(row[2])
    rows[0][8] = 8  # a number cell

    batch = _check(world, xlsx_bytes(rows), "台账.xlsx")

    assert (batch.rows_new, batch.error_count) == (5, 0)


# --- row errors -------------------------------------------------------------------------------

BAD_ROWS = [  # (row as the spreadsheet numbers it, column key, changes to a valid row)
    (2, "date", dict(day="2025-13-45")),
    (3, "workers", dict(workers="周婷、王五")),
    (4, "participants", dict(people=UNREGISTERED)),
    (5, "participants", dict(people=UNREGISTERED[:17] + ("1" if UNREGISTERED[17] != "1" else "2"))),
    (6, "type", dict(kind="讲座")),
    (7, "community", dict(community="不存在社区")),
    (8, "start", dict(start="九点")),
    (9, "date", dict(day="2025-03-20")),            # before the contract
    (10, "date", dict(day="2025-06-20")),           # in the future
    (11, "participants", dict(kind="个案", head_count="")),  # case work with two people
    (12, "head_count", dict(head_count="很多")),
]


def test_the_dry_run_reports_every_error_with_row_and_column(client, login_as, world):
    login_as("manager")
    n = world.number
    rows = [ledger_row(**{"people": f"{n('elder')};{n('second')}", **changes}) for _row, _col, changes in BAD_ROWS]
    rows.append(ledger_row(day="2025-06-12"))

    batch = _batch(_send(client, world, csv_bytes(rows), "有错误的台账.csv"))

    found = {(e["row"], e["column"]) for e in batch.errors}
    assert found == {(row, _heading(col)) for row, col, _changes in BAD_ROWS}
    assert (batch.rows_total, batch.rows_new, batch.error_count) == (12, 1, len(BAD_ROWS))
    page = client.get(f"/imports/{batch.id}").text
    assert _heading("community") in page and "不存在社区" not in page.split("<h2")[0]
    assert f"/imports/{batch.id}/confirm" not in page  # no import button
    assert UNREGISTERED not in page


def test_an_unknown_worker_is_named(world):
    batch = _check(world, csv_bytes([ledger_row(workers="王五")]))
    assert "王五" in batch.errors[0]["message"]


def test_a_file_with_one_bad_row_imports_nothing(client, login_as, world):
    login_as("manager")
    rows = _valid_rows(world) + [ledger_row(day="2025-06-31")]
    batch = _batch(_send(client, world, csv_bytes(rows), "台账.csv"))
    assert (batch.rows_new, batch.error_count) == (5, 1)

    with unchanged(batch):
        response = client.post(f"/imports/{batch.id}/confirm")

    assert response.status_code == 422
    assert _imported(world) == 0


def test_the_import_checks_again_and_stops_at_any_error(world):
    batch = _check(world, csv_bytes(_valid_rows(world) + [ledger_row(day="2025-06-31")]))

    with unchanged(), pytest.raises(ledger.LedgerError):
        ledger.run_import(world.manager, batch)


def test_a_worker_taken_off_the_contract_after_the_dry_run_stops_the_import(world):
    batch = _check(world, csv_bytes(_valid_rows(world)))
    assert batch.error_count == 0
    services.set_contract_workers(world.manager, world.contract, [world.worker])  # 吴昊 taken off
    groups = count(ServiceGroup)

    with pytest.raises(ledger.LedgerError):
        ledger.run_import(world.manager, batch)

    assert _imported(world) == 0 and count(ServiceGroup) == groups


# --- importing twice --------------------------------------------------------------------------


def test_the_same_file_twice_creates_nothing_new(client, login_as, world):
    login_as("manager")
    data = csv_bytes(_valid_rows(world))
    first = _batch(_send(client, world, data, "台账.csv"))
    client.post(f"/imports/{first.id}/confirm")
    groups, cases = count(ServiceGroup), count(ServiceCase)

    again = _batch(_send(client, world, data, "台账（再次）.csv"))

    assert (again.rows_total, again.rows_new, again.rows_duplicate) == (5, 0, 5)
    assert f"/imports/{again.id}/confirm" not in client.get(f"/imports/{again.id}").text
    client.post(f"/imports/{again.id}/confirm")
    assert _imported(world) == 5
    assert (count(ServiceGroup), count(ServiceCase)) == (groups, cases)


def test_an_overlapping_file_imports_only_its_new_rows(world):
    rows = _valid_rows(world)
    ledger.run_import(world.manager, _check(world, csv_bytes(rows[:3])))

    batch = _check(world, csv_bytes(rows))
    ledger.run_import(world.manager, batch)

    assert (batch.rows_new, batch.rows_duplicate) == (2, 3)
    assert _imported(world) == 5


def test_a_row_repeated_in_one_file_is_imported_once(world):
    row = _valid_rows(world)[0]
    batch = _check(world, csv_bytes([row, list(row), list(row)]))

    assert (batch.rows_total, batch.rows_new, batch.rows_duplicate, batch.rows_repeated) == (3, 1, 0, 2)
    assert batch.repeats == [{"row": 3, "repeat_of": 2}, {"row": 4, "repeat_of": 2}]


def _by_hand(world, kind: str):
    """The entry of _valid_rows' row of this kind, recorded through the form instead."""
    people = world.people
    if kind == "community event":
        return world.record(activity_date=date(2025, 6, 2), participants=[people["elder"], people["second"]],
                            head_count=8, topic="重阳敬老茶话会")
    if kind == "case work":
        return world.record(type=ActivityType.CASE_WORK, activity_date=date(2025, 6, 3), start_time=time(14, 0),
                            end_time=time(15, 0), participants=[people["third"]], head_count=0, place="服务对象家中")
    group = services.create_group(world.manager, world.contract, "独居老人互助小组", 6,
                                  [people["elder"], people["shared"]])
    return world.record(type=ActivityType.GROUP_SESSION, group=group, session_number=1,
                        activity_date=date(2025, 6, 4), participants=[people["elder"], people["shared"]],
                        head_count=0, topic="互助")


@pytest.mark.parametrize("kind, row", [("community event", 0), ("case work", 1), ("group session", 2)])
def test_an_entry_recorded_by_hand_is_not_imported_again(world, kind, row):
    _by_hand(world, kind)

    batch = _check(world, csv_bytes([_valid_rows(world)[row]]))
    ledger.run_import(world.manager, batch)

    assert (batch.rows_new, batch.rows_duplicate) == (0, 1)
    assert _imported(world) == 0


# --- a chunk at a time ------------------------------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Two rows per chunk, so five rows cross three chunk boundaries."""
    monkeypatch.setattr(ledger, "BATCH", 2)


def test_duplicates_are_found_across_chunks(world, small_chunks):
    _by_hand(world, "community event")  # the file's first row
    rows = _valid_rows(world)
    repeated = rows + [list(rows[1]), list(rows[2]), list(rows[4])]  # each repeat chunks after its first

    batch = _check(world, csv_bytes(repeated))
    assert (batch.rows_total, batch.rows_new, batch.rows_duplicate, batch.rows_repeated) == (8, 4, 1, 3)
    assert batch.repeats == [{"row": 7, "repeat_of": 3}, {"row": 8, "repeat_of": 4}, {"row": 9, "repeat_of": 6}]
    ledger.run_import(world.manager, batch)

    assert (batch.rows_new, batch.rows_duplicate, batch.rows_repeated) == (4, 1, 3)
    assert _imported(world) == 4


def test_a_group_and_a_case_across_chunks_are_created_once_with_the_forms_fingerprints(world, small_chunks):
    n, people = world.number, world.people
    rows = [ledger_row(day="2025-06-02", kind="小组", people=f"{n('elder')};{n('shared')}", head_count="",
                       group="新建互助小组", session="1"),
            ledger_row(day="2025-06-02", start="14:00", end="15:00", kind="个案", people=n("third"), head_count=""),
            ledger_row(day="2025-06-09", kind="小组", people=f"{n('elder')};{n('second')}", head_count="",
                       group="新建互助小组", session="2"),
            ledger_row(day="2025-06-05", start="14:00", end="15:00", kind="个案", people=n("third"), head_count=""),
            ledger_row(day="2025-06-12", kind="小组", people=n("second"), head_count="", group="新建互助小组",
                       session="3")]
    groups, cases, seq = count(ServiceGroup), count(ServiceCase), last_seq()
    batch = _check(world, csv_bytes(rows))
    assert (batch.rows_new, batch.error_count) == (5, 0)

    ledger.run_import(world.manager, batch)

    assert (count(ServiceGroup), count(ServiceCase)) == (groups + 1, cases + 1)
    made = db.session.execute(sa.select(ServiceActivity).where(ServiceActivity.import_batch_id == batch.id)
                              ).unique().scalars().all()
    group = db.session.execute(sa.select(ServiceGroup).where(ServiceGroup.name == "新建互助小组")).unique().scalar_one()
    case = db.session.execute(sa.select(ServiceCase).where(ServiceCase.contract_id == world.contract.id)
                              ).unique().scalar_one()
    assert {m.id for m in group.members} == {people["elder"].id, people["shared"].id, people["second"].id}
    assert case.beneficiary_id == people["third"].id and case.opened_on == date(2025, 6, 2)
    assert sorted((a.type, a.group_id, a.case_id) for a in made) == sorted(
        [(ActivityType.GROUP_SESSION, group.id, None)] * 3 + [(ActivityType.CASE_WORK, None, case.id)] * 2)
    for a in made:  # what the form would have given the same entry
        assert a.fingerprint == services.fingerprint(
            world.contract.id, a.type, a.activity_date, a.start_time, a.end_time, a.community_id, a.place,
            [w.id for w in a.workers], [p.id for p in a.participants], a.head_count, a.group_id, a.session_number)
    assert [e.action for e in events_after(seq)] == ["import.checked", "import.completed"]
    assert audit_events("import.completed", object_id=str(batch.id))[0].changes["groups_created"] == [
        None, ["新建互助小组"]]


def test_an_error_after_chunks_were_written_keeps_nothing_and_counts_every_error(world, small_chunks):
    batch = _check(world, csv_bytes(_valid_rows(world) + [ledger_row(day="2025-06-07", workers="吴昊")]))
    assert (batch.rows_new, batch.error_count) == (6, 0)
    # 吴昊 taken off the contract after the dry run: the last two rows, after two chunks, now fail.
    services.set_contract_workers(world.manager, world.contract, [world.worker])

    with unchanged(batch), pytest.raises(ledger.LedgerError) as refused:
        ledger.run_import(world.manager, batch)

    assert refused.value.message == ledger.ngettext_errors(2)


def test_the_dry_run_writes_nothing_and_leaves_no_scratch_behind(world, small_chunks):
    rows = _valid_rows(world)
    data = csv_bytes(rows + [list(rows[0])])

    with unchanged():
        first = ledger.check_file(world.contract, io.BytesIO(data), "csv", len(data))
        # The second would fail if the first had left its scratch table behind.
        again = ledger.check_file(world.contract, io.BytesIO(data), "csv", len(data))

    assert (first.rows_new, first.rows_repeated) == (again.rows_new, again.rows_repeated) == (5, 1)


def _many_rows(world, number: int) -> list[list[str]]:
    """`number` different entries of every kind, a worker's entries a quarter-hour apart."""
    n = world.number
    kinds = [dict(kind="社区活动", people=f"{n('elder')};{n('second')}", head_count="8"),
             dict(kind="个案", people=n("third"), head_count=""),
             dict(kind="小组", people=f"{n('elder')};{n('shared')}", head_count="", group="独居老人互助小组"),
             dict(kind="微议事", people=f"{n('second')};{n('shared')}", head_count="", topic="院落议事"),
             dict(kind="志愿者培训", head_count="15", topic="探访技巧培训")]
    rows = []
    for i in range(number):
        day = START + timedelta(days=i % 60)
        begin = 7 * 60 + (i // 60) * 15
        values = dict(kinds[i % len(kinds)], session=str(i + 1) if i % len(kinds) == 2 else "")
        rows.append(ledger_row(day=day.isoformat(), start=f"{begin // 60:02d}:{begin % 60:02d}",
                               end=f"{begin // 60:02d}:{begin % 60 + 10:02d}", **values))
    return rows


def _statements(world, count_queries, rows: int) -> tuple[int, int]:
    """SQL statements of the dry run and of the import of `rows` rows, undone afterwards."""
    savepoint = db.session.begin_nested()
    try:
        batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes(_many_rows(world, rows))))
        db.session.expire_all()  # both counts start from the same empty session
        with count_queries() as checking:
            ledger.run_check(world.manager, batch)
        with count_queries() as importing:
            ledger.run_import(world.manager, batch)
        assert (batch.rows_new, batch.rows_duplicate) == (rows, 0)
    finally:
        savepoint.rollback()
    return checking.count, importing.count


@pytest.fixture
def without_flag_refresh(monkeypatch):
    """The red-flag refresh that ends an import has its own statement bounds (tests/delivery/test_flags.py)."""
    monkeypatch.setattr(flags, "refresh_flags", lambda *args, **kwargs: None)


def test_the_statements_of_an_import_do_not_grow_with_its_rows(world, count_queries, without_flag_refresh):
    few = _statements(world, count_queries, 50)
    many = _statements(world, count_queries, 500)

    assert many == few


def test_each_further_chunk_adds_the_same_few_statements(world, count_queries, without_flag_refresh, monkeypatch):
    monkeypatch.setattr(ledger, "BATCH", 100)

    one_chunk = _statements(world, count_queries, 100)
    five_chunks = _statements(world, count_queries, 500)

    # Dry run: look up the chunk's fingerprints met before, note the new ones. Import: the same
    # lookup among recorded entries, the entries, their ids, their workers, their participants (the
    # group, its members and the case came with the first chunk).
    assert (five_chunks[0] - one_chunk[0], five_chunks[1] - one_chunk[1]) == (4 * 2, 4 * 5)


# --- files that are not ledgers ---------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


BAD_FILES = {
    "pdf renamed csv": ("台账.csv", lambda w: b"%PDF-1.4\n%\xe2\xe3\n1 0 obj <<>> endobj\n%%EOF\n"),
    "word document": ("台账.docx", lambda w: _docx()),
    "word renamed xlsx": ("台账.xlsx", lambda w: _docx()),
    "truncated xlsx": ("台账.xlsx", lambda w: xlsx_bytes(_valid_rows(w))[:900]),
    "binary renamed csv": ("台账.csv", lambda w: b"\x00\x01\x02binary\x00" * 50),
    "empty": ("台账.csv", lambda w: b""),
    "no name": ("", lambda w: csv_bytes(_valid_rows(w))),
    "headers missing": ("台账.csv", lambda w: csv_bytes([["2025-06-02", "09:00"]], header=["日期", "开始时间"])),
    "xlsx without a sheet's rows": ("台账.xlsx", lambda w: _empty_xlsx()),
}


def _empty_xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_is_not_a_ledger_is_refused_and_nothing_is_kept(client, login_as, world, case):
    login_as("manager")
    name, make = BAD_FILES[case]

    with unchanged():
        response = _send(client, world, make(world), name)

    assert response.status_code in (400, 409, 422), case


def test_the_headers_missing_are_named(world):
    with pytest.raises(ledger.LedgerError) as refused:
        _check(world, csv_bytes([["2025-06-02", "09:00"]], header=["日期", "开始时间"]))
    assert ledger.heading("workers") in refused.value.message


@pytest.mark.parametrize("column, value", [("notes", "备" * 2001), ("place", "地" * 2001), ("topic", "x" * 5000)])
def test_a_huge_cell_is_refused(world, column, value):
    row = ledger_row(**{"notes" if column == "notes" else column: value})

    batch = _check(world, csv_bytes([row]))

    assert batch.rows_new == 0
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, _heading(column))]


def test_a_cell_of_2000_characters_is_accepted(world):
    batch = _check(world, csv_bytes([ledger_row(notes="备" * 2000)]))
    assert (batch.rows_new, batch.error_count) == (1, 0)


@pytest.mark.parametrize("column, value", [("notes", "=cmd|' /C calc'!A0"), ("place", "=HYPERLINK(\"http://x\")"),
                                           ("notes", "@SUM(1+1)"), ("topic", "+cmd"), ("head_count", "=1+1"),
                                           ("workers", "=周婷"), ("notes", "=1+cmd|' /C calc'!A0"),
                                           ("outcome", "=2*3")])
def test_a_formula_in_a_csv_cell_is_refused(world, column, value):
    batch = _check(world, csv_bytes([ledger_row(**{"people" if column == "participants" else column: value})]))

    assert batch.rows_new == 0
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, _heading(column))]


def test_a_formula_in_an_excel_cell_is_refused(world):
    rows = _valid_rows(world)
    rows[0][8] = "=SUM(1,7)"
    rows[1][14] = "=HYPERLINK(\"http://example.com\",\"看这里\")"

    batch = _check(world, xlsx_bytes(rows), "台账.xlsx")

    assert {(e["row"], e["column"]) for e in batch.errors} == {(2, _heading("head_count")),
                                                                (3, _heading("notes"))}
    assert batch.rows_new == 3


@pytest.mark.parametrize("value", ["-", "+86 是电话", "1+1 人"])
def test_text_that_merely_starts_like_a_formula_is_kept(world, value):
    batch = _check(world, csv_bytes([ledger_row(notes=value)]))
    assert batch.error_count == 0


# --- the command line -------------------------------------------------------------------------


def _file(tmp_path, data: bytes, name: str = "ledger.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_command_dry_run_prints_row_errors_and_exits_1(cli, tmp_path, world):
    path = _file(tmp_path, csv_bytes(_valid_rows(world) + [ledger_row(community="不存在社区", day="2025-06-09")]))
    batches = count(ImportBatch)

    result = cli("import-logs", world.contract.number, path, "--dry-run")

    assert result.exit_code == 1
    assert f"row 7, {_heading('community')}: " in result.output
    assert "6 rows: 5 new, 0 already recorded, 0 repeated in the file, 1 errors." in result.output
    assert (count(ImportBatch), _imported(world)) == (batches, 0)


def test_the_command_exits_1_on_errors_without_dry_run_too(cli, tmp_path, world):
    path = _file(tmp_path, csv_bytes([ledger_row(workers="王五")]))

    result = cli("import-logs", world.contract.number, path)

    assert result.exit_code == 1 and "王五" in result.output
    assert _imported(world) == 0


def test_the_command_dry_run_writes_nothing(cli, tmp_path, world):
    path = _file(tmp_path, csv_bytes(_valid_rows(world)))
    batches = count(ImportBatch)

    result = cli("import-logs", world.contract.number, path, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "5 rows: 5 new" in result.output and "Dry run: nothing was written." in result.output
    assert (count(ImportBatch), _imported(world)) == (batches, 0)


def test_the_command_imports_and_a_second_run_adds_nothing(cli, tmp_path, world):
    path = _file(tmp_path, xlsx_bytes(_valid_rows(world)), "ledger.xlsx")

    first = cli("import-logs", world.contract.number, path)
    second = cli("import-logs", world.contract.number, path)

    assert first.exit_code == 0 and f"Imported 5 entries into {world.contract.number}." in first.output
    assert second.exit_code == 0 and "5 rows: 0 new, 5 already recorded" in second.output
    assert _imported(world) == 5


@pytest.mark.parametrize("case", ["unknown contract", "not a ledger"])
def test_the_command_refuses_what_it_cannot_import(cli, tmp_path, world, case):
    if case == "unknown contract":
        result = cli("import-logs", "2099-HT-999", _file(tmp_path, csv_bytes(_valid_rows(world))))
    else:
        result = cli("import-logs", world.contract.number, _file(tmp_path, b"%PDF-1.4 fake", "ledger.csv"))

    assert result.exit_code != 0
    assert count(ImportBatch) == 0 and _imported(world) == 0
