"""Ledgers an organization can fill: people named by their register code, the service-entry form's
words (and the older spellings), every error of a file in one pass under the file's own headings and
in the sender's language, repeats within a file named; files that would exhaust the server or cannot
be read refused as a whole; an import left by a process that died failed and confirmable again."""
from __future__ import annotations

import io
import re
import socket
import subprocess
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import gettext

from svcproc.core import jobs
from svcproc.delivery import identity, labels, ledger
from svcproc.delivery import permissions as perms
from svcproc.delivery import workflow
from svcproc.delivery.models import ImportBatch, ImportStatus, ServiceActivity
from svcproc.extensions import db
from tests.builders.delivery import (HEADER_EN, HEADER_OLD_EN, HEADER_OLD_ZH, HEADER_ZH, csv_bytes, ledger_row,
                                     unchanged, upload, xlsx_bytes)
from tests.helpers import count, events_after, in_page, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")


def _send(client, world, data: bytes, name: str):
    return client.post(f"/contracts/{world.contract.id}/imports", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _batch(response) -> ImportBatch:
    assert response.status_code == 303, response.text[:2000]
    return db.session.get(ImportBatch, int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1)))


def _check(world, data: bytes, name: str = "台账.csv") -> ImportBatch:
    batch = ledger.create_batch(world.manager, world.contract, upload(data, name))
    ledger.run_check(world.manager, batch)
    return batch


def _imported(world) -> int:
    return count(ServiceActivity, ServiceActivity.contract_id == world.contract.id,
                 ServiceActivity.import_batch_id.is_not(None))


def _code(world, key: str) -> str:
    return world.people[key].register_code


# --- register codes ---------------------------------------------------------------------------


def test_a_register_code_has_a_check_character_that_catches_a_wrong_or_swapped_digit():
    code = identity.register_code(127)

    assert code == "FW0001274" and identity.register_id(code) == 127 and identity.register_id(code.lower()) == 127
    wrong = [code[:i] + d + code[i + 1:] for i in range(2, len(code)) for d in "0123456789X" if d != code[i]]
    swapped = [code[:i] + code[i + 1] + code[i] + code[i + 2:] for i in range(2, len(code) - 1)
               if code[i] != code[i + 1]]
    assert [c for c in wrong + swapped if identity.register_id(c) is not None] == []


def test_the_register_and_the_persons_page_show_the_code(client, login_as, world):
    login_as("manager")
    person = world.people["no_number"]

    assert person.register_code in client.get("/beneficiaries").text
    assert person.register_code in client.get(f"/beneficiaries/{person.id}").text


def test_people_named_by_register_code_are_imported_even_without_an_identity_number(world):
    n = world.number
    rows = [ledger_row(day="2025-06-02", people=f"{_code(world, 'elder')};{_code(world, 'no_number').lower()}"),
            ledger_row(day="2025-06-03", kind="个案服务", people=_code(world, "third"), head_count=""),
            ledger_row(day="2025-06-04", people=f"{_code(world, 'second')}、{n('shared')}")]  # code and number mixed

    batch = _check(world, csv_bytes(rows))
    assert (batch.rows_new, batch.error_count) == (3, 0), batch.errors
    ledger.run_import(world.manager, batch)

    made = db.session.execute(sa.select(ServiceActivity).where(ServiceActivity.import_batch_id == batch.id)
                              .order_by(ServiceActivity.activity_date)).unique().scalars().all()
    people = world.people
    assert [sorted(p.id for p in a.participants) for a in made] == [
        sorted([people["elder"].id, people["no_number"].id]), [people["third"].id],
        sorted([people["second"].id, people["shared"].id])]


@pytest.mark.parametrize("case", ["another organization's person", "wrong check character", "cut short",
                                  "no such record", "a name", "a masked number", "the same person twice"])
def test_a_code_that_names_nobody_of_the_register_is_refused_and_nothing_is_imported(world, case):
    code = _code(world, "elder")
    token = {
        "another organization's person": _code(world, "other_only"),
        "wrong check character": code[:-1] + ("0" if code[-1] != "0" else "1"),
        "cut short": code[:-1],
        "no such record": identity.register_code(9_999_999),
        "a name": "王秀英",
        "a masked number": world.people["elder"].id_number_masked,
        "the same person twice": f"{code};{world.number('elder')}",
    }[case]
    batch = _check(world, csv_bytes([ledger_row(people=token)]))

    with unchanged(batch):
        with pytest.raises(ledger.LedgerError):
            ledger.run_import(world.manager, batch)

    assert (batch.rows_new, batch.error_count) == (0, 1)
    [error] = batch.errors
    assert (error["row"], error["column"]) == (2, "参与人员")
    assert world.number("elder") not in error["message"]  # a full number is never repeated back
    assert _imported(world) == 0


# --- the register as a template ---------------------------------------------------------------


def _sheet(response) -> list[list]:
    assert response.status_code == 200, response.text[:500]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    return [["" if v is None else v for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_register_template_lists_the_people_served_under_the_contract_by_code(client, login_as, world):
    world.record(participants=[world.people["elder"], world.people["shared"]])
    login_as("manager")

    rows = _sheet(client.get(f"/contracts/{world.contract.id}/imports/template.xlsx?people=contract"))

    header, lines = rows[0], rows[1:]
    assert header[:len(HEADER_ZH)] == HEADER_ZH and len(header) == len(HEADER_ZH) + 2
    at = HEADER_ZH.index("参与人员")
    people = world.people
    assert sorted((line[at], line[-2], line[-1]) for line in lines) == sorted(
        (p.register_code, p.name, p.id_number_masked) for p in (people["elder"], people["shared"]))
    assert all(not cell for line in lines for cell in line[:at] + line[at + 1:-2])
    body = client.get(f"/contracts/{world.contract.id}/imports/template.xlsx?people=contract").data
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert not any(world.number("elder").encode() in archive.read(n) for n in archive.namelist())


def test_the_whole_register_is_the_organizations_own_and_fills_in_to_an_import(client, login_as, world):
    login_as("manager")

    rows = _sheet(client.get(f"/contracts/{world.contract.id}/imports/template.xlsx?people=organization"))

    at = HEADER_ZH.index("参与人员")
    codes = {line[at] for line in rows[1:]}
    assert codes == {p.register_code for p in world.people.values() if p.organization_id == world.org.id}
    # Filled in: one line becomes an entry, the others are left as they came.
    filled = [list(line) for line in rows]
    line = next(line for line in filled[1:] if line[at] == _code(world, "elder"))
    line[:at] = ["2025-06-02", "09:00", "10:30", "社区活动", "玉林北路社区", "社区活动室", "周婷"]
    line[at + 1] = "5"
    batch = _batch(_send(client, world, xlsx_bytes(filled[1:], header=filled[0]), "名册台账.xlsx"))
    assert (batch.rows_total, batch.rows_new, batch.error_count) == (1, 1, 0), batch.errors


def test_the_register_template_is_the_managers_of_the_organization(client, login_as, world):
    login_as("other_manager")
    assert client.get(f"/contracts/{world.contract.id}/imports/template.xlsx?people=organization").status_code == 403


# --- the form's words -------------------------------------------------------------------------


def _rows_in(world, words: dict) -> list[list[str]]:
    n = world.number
    return [
        ledger_row(day="2025-06-02", kind=words["event"], people=f"{n('elder')};{n('second')}"),
        ledger_row(day="2025-06-03", start="14:00", end="15:00", kind=words["case"], people=n("third"), head_count=""),
        ledger_row(day="2025-06-04", kind=words["group"], people=f"{n('elder')}、{n('shared')}", head_count="",
                   group="独居老人互助小组", session="1"),
        ledger_row(day="2025-06-05", kind=words["deliberation"], people=f"{n('second')};{n('shared')}",
                   head_count="", topic="院落停车秩序议事"),
        ledger_row(day="2025-06-06", kind=words["training"], head_count="15", topic="探访技巧培训"),
    ]


FORM_ZH = dict(event="社区活动", case="个案服务", group="小组活动", deliberation="微议事会", training="志愿者培训")
FORM_EN = dict(event="Community event", case="case work", group="Group session",
               deliberation="Micro-deliberation meeting", training="Volunteer training")
OLD = dict(event="社区活动", case="个案", group="小组", deliberation="微议事", training="志愿者培训")


@pytest.mark.parametrize("header, words", [
    (HEADER_ZH, FORM_ZH), (HEADER_EN, FORM_EN), (HEADER_OLD_ZH, OLD), (HEADER_OLD_EN, OLD),
    ([h.replace("（", "(").replace("）", ")") for h in HEADER_ZH], FORM_EN)],
    ids=["form-zh", "form-en", "old-zh", "old-en", "half-width-brackets"])
def test_the_forms_words_and_the_older_spellings_are_accepted(world, header, words):
    batch = _check(world, csv_bytes(_rows_in(world, words), header=header))

    assert (batch.rows_new, batch.error_count) == (5, 0), batch.errors


@pytest.mark.parametrize("locale, header", [("zh_CN", HEADER_ZH), ("en", HEADER_EN)])
def test_the_templates_speak_the_forms_words(client, login_as, world, locale, header):
    world.manager.locale = locale
    login_as("manager")

    rows = _sheet(client.get(f"/contracts/{world.contract.id}/imports/template.xlsx"))

    assert rows[0] == header
    assert rows[1][3] == {"zh_CN": "小组活动", "en": "Group session"}[locale]


# --- every error at once ----------------------------------------------------------------------


def _broken_rows(world) -> list[list[str]]:
    n = world.number
    return [
        # A group session without its group or session number, on a wrong date, by a stranger: four at once.
        ledger_row(day="2025-13-01", kind="小组", people=n("elder"), head_count="", workers="王五"),
        # Case work with a name instead of a number, and a formula in the notes.
        ledger_row(day="2025-06-03", kind="个案", people="王秀英", head_count="", notes="=1+1"),
        # A deliberation without its topic, ending before it starts, with an unknown community.
        ledger_row(day="2025-06-04", start="11:00", end="10:00", kind="微议事", people=n("second"), head_count="",
                   topic="", community="不存在社区"),
        ledger_row(day="2025-06-05"),  # fine
    ]


def test_every_error_of_the_file_is_reported_at_once_under_the_files_headings(client, login_as, world):
    login_as("manager")

    batch = _batch(_send(client, world, csv_bytes(_broken_rows(world), header=HEADER_OLD_ZH), "旧表头台账.csv"))

    found = sorted((e["row"], e["column"]) for e in batch.errors)
    assert found == sorted([(2, "日期"), (2, "社工"), (2, "小组名称"), (2, "节次"),
                            (3, "服务对象身份证号"), (3, "备注"),
                            (4, "结束时间"), (4, "社区"), (4, "主题")])
    assert (batch.rows_total, batch.rows_new, batch.error_count) == (4, 1, 9)
    page = client.get(f"/imports/{batch.id}").text
    assert "(participant id numbers)" not in page
    assert in_page(lambda: ledger.heading("participants")) not in "".join(e["column"] for e in batch.errors)
    title = in_page(lambda: labels.import_state(batch))
    assert title in page and "9" in title
    assert in_page(lambda: str(labels.IMPORT_STATUS_LABELS[ImportStatus.CHECKED])) not in page
    assert f"/imports/{batch.id}/confirm" not in page


def test_the_errors_speak_the_senders_language(client, login_as, world):
    world.manager.locale = "en"
    login_as("manager")

    batch = _batch(_send(client, world, csv_bytes(_broken_rows(world)[:1], header=HEADER_EN), "ledger.csv"))

    messages = {e["column"]: e["message"] for e in batch.errors}
    assert set(messages) == {"Date", "Social workers", "Group", "Session number"}
    assert messages["Group"] == "A group session needs the group's name."
    assert "Checked: 4 errors" in client.get(f"/imports/{batch.id}").text


def test_a_missing_group_column_is_named_with_the_other_errors_on_the_first_upload(world):
    header = [h for h in HEADER_ZH if h != "小组"]
    row = ledger_row(day="2025-13-01", kind="小组活动", people=world.number("elder"), head_count="", session="1")
    del row[HEADER_ZH.index("小组")]

    batch = _check(world, csv_bytes([row], header=header))

    assert sorted((e["row"], e["column"]) for e in batch.errors) == [(2, "小组"), (2, "日期")]


def test_a_repeat_within_the_file_is_named_as_a_repeat_of_its_row(client, login_as, world):
    login_as("manager")
    row = ledger_row(day="2025-06-02", people=world.number("elder"))
    other = ledger_row(day="2025-06-03", people=world.number("elder"))

    batch = _batch(_send(client, world, csv_bytes([row, other, list(row)]), "台账.csv"))

    assert (batch.rows_new, batch.rows_duplicate, batch.rows_repeated) == (2, 0, 1)
    page = client.get(f"/imports/{batch.id}").text
    assert in_page(lambda: gettext("Row %(row)d repeats row %(first)d of this file; it is imported once.",
                                   row=4, first=2)) in page


# --- files the server will not read -----------------------------------------------------------


def _rezip(data: bytes, change) -> bytes:
    """The workbook with its parts passed through change(name, content) -> content."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
    return out.getvalue()


def _good_xlsx(world) -> bytes:
    return xlsx_bytes([ledger_row(people=world.number("elder"))])


def _bomb(world) -> bytes:
    """A small file that unpacks a hundred-fold: 40 MB of one character in a worksheet."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_good_xlsx(world))) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        with target.open("xl/worksheets/sheet2.xml", "w") as part:
            for _ in range(40):
                part.write(b" " * (1024 * 1024))
    return out.getvalue()


def _with_sheet_xml(world, extra: bytes, doctype: bytes = b"") -> bytes:
    def change(name, content):
        if name == "xl/worksheets/sheet1.xml":
            content = content.replace(b"</sheetData>", extra + b"</sheetData>")
            if doctype:
                content = content.replace(b"?>", b"?>" + doctype, 1)
        return content
    return _rezip(_good_xlsx(world), change)


def _broken_zip(world) -> bytes:
    data = bytearray(_good_xlsx(world))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + min(60, info.compress_size - 2)):
        data[i] ^= 0x5A
    return bytes(data)


FILES = {
    "zip bomb": (_bomb, {}),
    "too large unpacked": (lambda w: _good_xlsx(w), {"LEDGER_MAX_UNPACKED_MB": 0}),
    "too many rows (xlsx)": (lambda w: xlsx_bytes([ledger_row(day=f"2025-06-0{d}") for d in range(1, 6)]),
                             {"LEDGER_MAX_ROWS": 3}),
    "too many rows (csv)": (lambda w: csv_bytes([ledger_row(day=f"2025-06-0{d}") for d in range(1, 6)]),
                            {"LEDGER_MAX_ROWS": 3}),
    "malformed XML entity": (lambda w: _with_sheet_xml(
        w, b'<row r="9"><c r="A9" t="inlineStr"><is><t>&bogus;</t></is></c></row>'), {}),
    "entity expansion": (lambda w: _with_sheet_xml(
        w, b'<row r="9"><c r="A9" t="inlineStr"><is><t>&lol;</t></is></c></row>',
        doctype=b'<!DOCTYPE x [<!ENTITY lol "lollollollollollollol">]>'), {}),
    "cut tag": (lambda w: _rezip(_good_xlsx(w), lambda n, c: c[:-40] if n == "xl/worksheets/sheet1.xml" else c), {}),
    "broken zip": (_broken_zip, {}),
    "not a workbook inside": (lambda w: _rezip(_good_xlsx(w), lambda n, c: b"\x00\x01" if n == "xl/workbook.xml" else c),
                              {}),
}


def _ratio(data: bytes) -> int:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet2.xml")
    return info.file_size // info.compress_size

DAMAGED = lambda data: gettext("The Excel file is damaged or not an .xlsx workbook; save it again from Excel as .xlsx "  # noqa: E731
                          "(or as CSV) and upload it again.")
UNREADABLE = lambda data: gettext("The Excel file cannot be read after row %(n)d: it is damaged. Save it again from "  # noqa: E731
                             "Excel and upload it again.", n=2)
TOO_MANY = lambda data: gettext("The file has more than %(n)d rows; split it into several files.", n=3)  # noqa: E731
REFUSALS = {  # what each file is refused with
    "zip bomb": lambda data: gettext("The workbook is compressed %(r)d times over; at most %(max)d times is accepted. "
                                "Save it again from Excel and upload it again.", r=_ratio(data), max=100),
    "too large unpacked": lambda data: gettext("Unpacked, the workbook would take more than %(max)d MB, the most "
                                          "accepted; split it into several files.", max=0),
    "too many rows (xlsx)": TOO_MANY, "too many rows (csv)": TOO_MANY,
    "malformed XML entity": UNREADABLE, "entity expansion": UNREADABLE, "cut tag": UNREADABLE,
    "broken zip": DAMAGED, "not a workbook inside": DAMAGED,
}


@pytest.mark.parametrize("case", list(FILES))
def test_a_file_the_server_will_not_read_is_refused_as_a_whole_and_nothing_changes(
        app, client, login_as, world, monkeypatch, case):
    make, settings = FILES[case]
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    data = make(world)
    login_as("manager")
    name = "台账.csv" if "csv" in case else "台账.xlsx"

    with unchanged():
        response = _send(client, world, data, name)

    assert response.status_code == 422, (case, response.status_code, response.text[:500])
    assert 'id="file-err"' in response.text  # the file's one message, beside the upload field
    assert in_page(lambda: REFUSALS[case](data)) in response.text
    assert _imported(world) == 0


def test_the_zip_bomb_is_small_and_refused_before_it_is_unpacked(world, monkeypatch):
    data = _bomb(world)
    unpacked = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: unpacked.append(a[1]) or 1 / 0)

    with pytest.raises(ledger.LedgerError):
        ledger.inspect_workbook(io.BytesIO(data))

    assert len(data) < 200_000 and unpacked == []


def test_a_file_within_the_limits_passes_them(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LEDGER_MAX_ROWS", 3)
    batch = _check(world, xlsx_bytes([ledger_row(day=f"2025-06-0{d}") for d in range(1, 4)]), "台账.xlsx")
    assert (batch.rows_total, batch.error_count) == (3, 0)


# --- an import left by a process that died ----------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _importing(world, runner: str, started: datetime) -> tuple[ImportBatch, jobs.Job]:
    batch = _check(world, csv_bytes([ledger_row(day="2025-06-02", people=world.number("elder"))]))
    job = jobs.create_job("ledger_import", {"batch_id": batch.id}, world.manager)
    workflow.start_import(world.manager, batch, job.id)
    job.status, job.runner, job.started_at = jobs.JobStatus.RUNNING, runner, started
    db.session.flush()
    return batch, job


def test_an_import_whose_process_died_is_failed_at_start_up_and_can_be_confirmed_again(client, login_as, world,
                                                                                       clock):
    batch, job = _importing(world, f"{socket.gethostname()}:{_dead_pid()}", clock.now)
    seq = last_seq()

    failed = jobs.recover_orphans()

    assert failed == [job.id]
    db.session.refresh(job)
    db.session.refresh(batch)
    assert job.status == jobs.JobStatus.FAILED and job.error and job.finished_at is not None
    assert batch.status == ImportStatus.CHECKED and perms.can_confirm_import(world.manager, batch)
    assert [e.action for e in events_after(seq)] == ["job.failed", "import.failed"]
    login_as("manager")
    assert f"/imports/{batch.id}/confirm" in client.get(f"/imports/{batch.id}").text
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 303
    assert db.session.get(ImportBatch, batch.id).status == ImportStatus.IMPORTED and _imported(world) == 1


@pytest.mark.parametrize("case, orphaned", [
    ("this host, process alive", False),
    ("another host, started within the timeout", False),
    ("another host, started past the timeout", True),
])
def test_only_jobs_no_process_will_finish_are_failed(world, clock, case, orphaned):
    now = clock.now
    runner, started = {
        "this host, process alive": (f"{socket.gethostname()}:1", now - timedelta(days=2)),
        "another host, started within the timeout": ("web-2.internal:4242", now - timedelta(minutes=50)),
        "another host, started past the timeout": ("web-2.internal:4242", now - timedelta(minutes=70)),
    }[case]
    batch, job = _importing(world, runner, started)

    if orphaned:
        assert jobs.recover_orphans() == [job.id]
        assert batch.status == ImportStatus.CHECKED
    else:
        with unchanged(batch):
            assert jobs.recover_orphans() == []
        assert job.status == jobs.JobStatus.RUNNING and batch.status == ImportStatus.IMPORTING


# --- statements -------------------------------------------------------------------------------


def _statements_by_code(world, count_queries, rows: int) -> tuple[int, int]:
    people = ";".join(_code(world, k) for k in ("elder", "second", "no_number"))
    lines = [ledger_row(day=(date(2025, 4, 1) + timedelta(days=i % 60)).isoformat(),
                        start=f"{7 + i // 60:02d}:00", end=f"{7 + i // 60:02d}:30", people=people)
             for i in range(rows)]
    savepoint = db.session.begin_nested()
    try:
        batch = ledger.create_batch(world.manager, world.contract, upload(csv_bytes(lines)))
        db.session.expire_all()
        with count_queries() as checking:
            ledger.run_check(world.manager, batch)
        with count_queries() as importing:
            ledger.run_import(world.manager, batch)
        assert (batch.rows_new, batch.error_count) == (rows, 0), batch.errors[:3]
    finally:
        savepoint.rollback()
    return checking.count, importing.count


def test_the_statements_of_an_import_by_code_do_not_grow_with_its_rows(world, count_queries, monkeypatch):
    from svcproc.delivery import flags

    monkeypatch.setattr(flags, "refresh_flags", lambda *args, **kwargs: None)

    assert _statements_by_code(world, count_queries, 40) == _statements_by_code(world, count_queries, 400)


# --- when processes start ---------------------------------------------------------------------


def test_the_development_server_fails_the_orphaned_jobs_before_it_serves(app, world, clock, monkeypatch):
    import flask.cli
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from svcproc.cli import cli as svcproc_cli

    batch, job = _importing(world, f"{socket.gethostname()}:{_dead_pid()}", clock.now)
    served = []
    status = sa.select(jobs.Job.status).where(jobs.Job.id == job.id)
    monkeypatch.setattr(flask.cli, "run_simple",
                        lambda *args, **kwargs: served.append(db.session.execute(status).scalar_one()))

    result = CliRunner().invoke(svcproc_cli, ["run", "--port", "5999"], obj=ScriptInfo(create_app=lambda: app))

    assert result.exit_code == 0, result.output
    assert served == [jobs.JobStatus.FAILED]  # failed before the server started
    db.session.expire_all()
    assert batch.status == ImportStatus.CHECKED


def test_a_worker_starting_fails_the_orphaned_jobs(app, cli, world, clock, monkeypatch):
    from redis import Redis

    from tests.helpers import REDIS_TEST_URL

    try:
        Redis.from_url(REDIS_TEST_URL).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {REDIS_TEST_URL} is not available: {exc}")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    batch, job = _importing(world, f"{socket.gethostname()}:{_dead_pid()}", clock.now)
    job_id, batch_id = job.id, batch.id

    result = cli("worker", "--burst")

    assert result.exit_code == 0, result.output
    assert db.session.get(jobs.Job, job_id).status == jobs.JobStatus.FAILED
    assert db.session.get(ImportBatch, batch_id).status == ImportStatus.CHECKED


def test_a_database_not_yet_upgraded_does_not_stop_a_process_starting(app, monkeypatch):
    def no_table():
        raise sa.exc.OperationalError("SELECT job", {}, Exception("no such table: job"))

    monkeypatch.setattr(jobs, "recover_orphans", no_table)

    jobs.recover_orphans_at_start(app)  # logs and returns


def test_the_register_template_takes_the_same_statements_however_long_the_register(client, login_as, world,
                                                                                   count_queries):
    from tests.builders.delivery import add_person

    login_as("manager")
    url = f"/contracts/{world.contract.id}/imports/template.xlsx?people=organization"
    client.get(url)  # the login's first page loads what every page loads once
    with count_queries() as short:
        before = _sheet(client.get(url))
    for i in range(30):
        add_person(world.manager, world.org.id, f"新登记{i}", birth_year=1950, community=world.communities[0])
    with count_queries() as long:
        after = _sheet(client.get(url))

    assert len(after) == len(before) + 30
    assert long.count == short.count
