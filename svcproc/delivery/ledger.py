"""Service ledgers (台账) from Excel or CSV: the template, a dry run that reports every row error,
and an all-or-nothing import that streams the file and skips entries already recorded.

Both go through the rows BATCH at a time and keep what they must remember of earlier rows (which
entries were met before) in the database, so their memory does not grow with the rows: one chunk of
rows, what is loaded per contract (the register's keys, its groups, cases and members) and the
first errors and preview rows kept for the page. The file's own bytes are read whole (they are
stored encrypted in one piece), so they are held too, within the upload limit.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO, Callable, Iterable, Iterator

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..contracts.models import Contract
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..core.workflow import allow
from ..extensions import db
from . import identity, services
from .workflow import IMPORT
from .models import (ActivityType, Beneficiary, ImportBatch, ImportStatus, PersonStatus, ServiceActivity,
                     ServiceCase, ServiceGroup, activity_participant, activity_worker, group_member)

# The columns, headed with the service-entry form's own words (in either language), each with the
# spellings earlier templates used, still accepted: (key, heading, other spellings, what it holds).
COLUMNS = (
    ("date", _l("Date"), ("日期", "date"), _l("YYYY-MM-DD")),
    ("start", _l("From"), ("开始时间", "start", "start time"), _l("HH:MM")),
    ("end", _l("To"), ("结束时间", "end", "end time"), _l("HH:MM")),
    ("type", _l("Kind of service"), ("服务类型", "type"), _l("kind of service, in one of the words listed below")),
    ("community", _l("Community"), ("社区", "community"), _l("name of the community")),
    ("place", _l("Place"), ("地点", "place"), _l("where")),
    ("workers", _l("Social workers"), ("社工", "workers"), _l("social workers' names, separated by 、")),
    ("participants", _l("Participants"), ("服务对象身份证号", "participant id numbers", "服务对象", "participants"),
     _l("register codes (FW…, as the register shows them) or full identity numbers, separated by ;")),
    ("head_count", _l("Others present (head-count)"), ("其他参与人数", "head count", "head-count"),
     _l("people present beyond those named")),
    ("hours", _l("Service hours"), ("服务时长", "hours"), _l("hours, e.g. 1.5; left empty: from start to end")),
    ("group", _l("Group"), ("小组名称", "group name", "group"), _l("group name (group sessions)")),
    ("session", _l("Session number"), ("节次", "session"), _l("session number (group sessions)")),
    ("topic", _l("Topic"), ("主题", "topic"), _l("topic")),
    ("outcome", _l("Outcome"), ("成果", "outcome"), _l("outcome")),
    ("notes", _l("Notes"), ("备注", "notes"), _l("notes")),
)
KEYS = tuple(key for key, *_rest in COLUMNS)
REQUIRED = ("date", "start", "end", "type", "community", "workers")
# Kinds of service as earlier templates spelled them; the form's own words (both languages) and the
# stored values are accepted too (type_words).
TYPE_SYNONYMS = {
    "个案": ActivityType.CASE_WORK, "小组": ActivityType.GROUP_SESSION, "社区活动": ActivityType.COMMUNITY_EVENT,
    "微议事": ActivityType.DELIBERATION, "志愿者培训": ActivityType.VOLUNTEER_TRAINING,
}
# Columns of the register's template that help whoever fills it in; the import does not read them.
REFERENCE_COLUMNS = (_l("Name (for checking, not imported)"), _l("Identity number (masked, not imported)"))
MAX_CELL = 2000
MAX_ERRORS_KEPT = 500
PREVIEW_ROWS = 50
BATCH = 1000  # rows checked, looked up and written together (a few statements per chunk)
FORMULA_START = ("=", "+", "@")
SPLIT = re.compile(r"[、,，;；/\s]+")
FILE_PURPOSE = "ledger-file"


class LedgerError(DomainError):
    """The file as a whole cannot be read."""

    status_code = 422


def _word(text: str) -> str:
    """A heading or a kind of service as compared: case, spaces and full-width brackets set aside."""
    return re.sub(r"\s+", "", str(text)).replace("（", "(").replace("）", ")").lower()


def _locales() -> list[str]:
    return list(current_app.config.get("LANGUAGES") or ["zh_CN", "en"])


def heading(key: str) -> str:
    """The column's heading in the language of the page (the form's word for it)."""
    for k, label, _other, _help in COLUMNS:
        if k == key:
            return str(label)
    return key


def headings() -> list[str]:
    return [str(label) for _k, label, _other, _help in COLUMNS]


def header_words() -> dict[str, str]:
    """Every accepted heading -> column key: the form's words in each language, the older spellings
    and the keys themselves."""
    words = {}
    for locale in _locales():
        with force_locale(locale):
            for key, label, _other, _help in COLUMNS:
                words.setdefault(_word(label), key)
    for key, _label, other, _help in COLUMNS:
        for spelling in (*other, key):
            words.setdefault(_word(spelling), key)
    return words


def type_words() -> dict[str, ActivityType]:
    """Every accepted kind of service -> its type: the form's words in each language, the older
    spellings and the stored values."""
    from .labels import ACTIVITY_TYPE_LABELS

    words = {}
    for locale in _locales():
        with force_locale(locale):
            for type_, label in ACTIVITY_TYPE_LABELS.items():
                words.setdefault(_word(label), type_)
    for spelling, type_ in TYPE_SYNONYMS.items():
        words.setdefault(_word(spelling), type_)
    for type_ in ActivityType:
        words.setdefault(_word(type_.value), type_)
    return words


def type_list() -> str:
    """The kinds of service in the form's words, in the page's language."""
    from .labels import ACTIVITY_TYPE_LABELS

    separator = "、" if str(get_locale() or "zh").startswith("zh") else ", "
    return separator.join(str(label) for label in ACTIVITY_TYPE_LABELS.values())


# --- reading ----------------------------------------------------------------------------------


def _csv_encoding(source: BinaryIO) -> str:
    head = source.read(65536)
    complete = not source.read(1)
    source.seek(0)
    # Not UTF-8: GB18030 is what Chinese Excel saves CSV as.
    return "utf-8-sig" if files.decodes_as(head, "utf-8-sig", complete) else "gb18030"


def ledger_stream(stored) -> BinaryIO:
    """A stored ledger's content. Ledgers are kept encrypted: they list participants' identity numbers."""
    return files.stream(stored, decrypt_purpose=FILE_PURPOSE)


def _limits() -> tuple[int, int, int]:
    cfg = current_app.config
    return (int(cfg.get("LEDGER_MAX_ROWS", 200_000)), int(cfg.get("LEDGER_MAX_UNPACKED_MB", 256)) * 1024 * 1024,
            int(cfg.get("LEDGER_MAX_COMPRESSION_RATIO", 100)))


def _damaged() -> LedgerError:
    return LedgerError(_("The Excel file is damaged or not an .xlsx workbook; save it again from Excel as "
                         ".xlsx (or as CSV) and upload it again."))


def _too_many_rows(max_rows: int) -> LedgerError:
    return LedgerError(_("The file has more than %(n)d rows; split it into several files.", n=max_rows))


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
# A part this small may compress very well without harm (styles, an empty sheet); the ratio is
# checked above it.
_RATIO_FLOOR = 1024 * 1024


def inspect_workbook(source: BinaryIO) -> None:
    """Refuses an .xlsx before any of its XML is parsed when it is not a zip archive, would unpack to
    more than the configured size, has a part compressed more than the configured ratio (a small
    file made to expand hugely), or has more rows than the configured number. The sizes a zip
    declares bound what Python unpacks (a part that unpacks to more fails its check), so the row
    count below reads at most the declared, accepted size."""
    max_rows, max_bytes, max_ratio = _limits()
    source.seek(0)
    try:
        archive = zipfile.ZipFile(source)
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _damaged() from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_bytes:
        raise LedgerError(_("Unpacked, the workbook would take more than %(max)d MB, the most accepted; split it "
                            "into several files.", max=max_bytes // (1024 * 1024)))
    for member in members:
        if member.file_size > _RATIO_FLOOR and member.file_size > max_ratio * max(1, member.compress_size):
            raise LedgerError(_("The workbook is compressed %(r)d times over; at most %(max)d times is accepted. "
                                "Save it again from Excel and upload it again.",
                                r=member.file_size // max(1, member.compress_size), max=max_ratio))
    rows = 0
    try:
        for member in members:
            if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
                continue
            with archive.open(member) as part:
                tail = b""
                while chunk := part.read(1024 * 1024):
                    data = tail + chunk
                    rows += len(_ROW_TAG.findall(data))
                    # Keep the end of the chunk unless it ends inside a row tag counted already.
                    last = data.rfind(b"<")
                    tail = data[last:] if last >= 0 and len(data) - last < 40 and not _ROW_TAG.match(data, last) else b""
                    if rows > max_rows + 1:  # the heading row besides
                        raise _too_many_rows(max_rows)
    except LedgerError:
        raise
    except Exception:  # a bad checksum, a broken deflate stream, a truncated archive
        raise _damaged() from None
    finally:
        source.seek(0)


def iter_rows(source: BinaryIO, kind: str) -> Iterator[tuple[int, list]]:
    """(row number as the spreadsheet shows it, cells) for every row, header included, streamed from a
    seekable binary file, which is left open at the end. A file that cannot be read (a broken zip,
    malformed XML, an undecodable CSV) ends in one LedgerError, never in another exception."""
    if kind == "csv":
        text = io.TextIOWrapper(source, encoding=_csv_encoding(source), newline="")
        number = 0
        try:
            for number, cells in enumerate(csv.reader(text), start=1):
                yield number, cells
        except (csv.Error, UnicodeDecodeError):
            raise LedgerError(_("The CSV file cannot be read after row %(n)d; save it again as CSV (UTF-8) and "
                                "upload it again.", n=number)) from None
        finally:
            if not source.closed:  # an abandoned reader is finished after its file was closed
                text.detach()
        return
    import openpyxl

    inspect_workbook(source)
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=False)
    except Exception:
        raise _damaged() from None
    try:
        try:
            sheet = workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
        except Exception:
            raise _damaged() from None
        number = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                break
            except Exception:  # malformed XML (an undefined entity, a cut tag) met while streaming
                raise LedgerError(_("The Excel file cannot be read after row %(n)d: it is damaged. Save it "
                                    "again from Excel and upload it again.", n=number)) from None
            number += 1
            yield number, list(cells)
    finally:
        workbook.close()


def _header(cells: list) -> tuple[dict[str, int], dict[str, str]]:
    """The position of each column, and its heading as the file names it."""
    words = header_words()
    positions, names = {}, {}
    for index, cell in enumerate(cells):
        name = _text(cell)
        key = words.get(_word(name))
        if key and key not in positions:
            positions[key] = index
            names[key] = name
    missing = [heading(k) for k in REQUIRED if k not in positions]
    if missing:
        raise LedgerError(_("The first row must hold the column headings of the template; missing: %(m)s.",
                            m="、".join(missing)))
    return positions, names


# --- checking one row -------------------------------------------------------------------------


@dataclass
class Context:
    """What rows are checked against, loaded once per file (bounded by the register, not the file)."""

    contract: Contract
    communities: dict
    workers: dict
    people: dict          # match key -> beneficiary id
    groups: dict          # name -> group id (existing)
    registered: set = field(default_factory=set)   # every beneficiary id of the organization's register
    kinds: dict = field(default_factory=dict)      # accepted word -> kind of service
    # Identity numbers as typed in the file -> beneficiary id, for registered people only: the keyed
    # hash is the costly part of a row and the same people come back row after row.
    numbers: dict = field(default_factory=dict)
    # Match keys and ids of people who withdrew consent: no new entry names them (delivery/privacy.py).
    withdrawn: set = field(default_factory=set)
    closed: set = field(default_factory=set)

    @classmethod
    def load(cls, contract: Contract) -> Context:
        assigned = services.WorkerNames(contract.workers)  # namesakes told apart by their number
        people, registered, withdrawn, closed = {}, set(), set(), set()
        for bid, key, status in db.session.execute(
                sa.select(Beneficiary.id, Beneficiary.id_match_key, Beneficiary.status).where(
                    Beneficiary.organization_id == contract.organization_id)):
            if status == PersonStatus.ACTIVE:
                registered.add(bid)
                if key is not None:
                    people[key] = bid
            else:
                closed.add(bid)
                if key is not None:
                    withdrawn.add(key)
        groups = {name: gid for gid, name in db.session.execute(
            sa.select(ServiceGroup.id, ServiceGroup.name).where(ServiceGroup.contract_id == contract.id))}
        return cls(contract, services.areas_by_name(), assigned, people, groups, registered, type_words(),
                   withdrawn=withdrawn, closed=closed)


@dataclass
class RowResult:
    number: int
    values: dict | None = None
    errors: list = field(default_factory=list)


class _Ref:
    """Stands in for an ORM object where check_activity only needs an id (and organization)."""

    def __init__(self, id, organization_id=None, name=""):
        self.id, self.organization_id, self.name = id, organization_id, name


def _cell(cells: list, positions: dict, key: str):
    index = positions.get(key)
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _text(value) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # as the template asks: no rewriting needed
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    text = text.replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


_NUMBER_LIKE = re.compile(r"[\dXx*]+")


def _participant(ctx: Context, raw: str) -> tuple[int | None, str | None]:
    """(beneficiary id, None) for a person of the register named by register code or identity number,
    else (None, what is wrong)."""
    person = ctx.numbers.get(raw)
    if person is not None:
        return person, None
    if identity.looks_like_register_code(raw):
        person = identity.register_id(raw)
        if person is None:
            return None, _("%(c)s is not a register code: a character is wrong or missing; copy the code from "
                           "the register.", c=raw[:40])
        if person in ctx.closed:
            return None, _("%(c)s withdrew consent: no new service entry may name this person.", c=raw[:40])
        if person not in ctx.registered:
            return None, _("%(c)s is not a code of the organization's register.", c=raw[:40])
        ctx.numbers[raw] = person
        return person, None
    if not _NUMBER_LIKE.fullmatch(raw):
        return None, _("%(t)s is neither a register code (FW…) nor an identity number.", t=raw[:40])
    if "*" in raw:
        return None, _("%(n)s is a masked identity number; give the register code or the full number.",
                       n=raw[:40])
    try:
        key = identity.match_key(identity.validate(raw))
    except identity.IdentityNumberError as exc:
        return None, _("%(n)s: %(why)s", n=identity.mask(identity.normalise(raw)),
                       why=services.identity_message(exc.reason))
    person = ctx.people.get(key)
    if person is None and key in ctx.withdrawn:
        return None, _("%(n)s withdrew consent: no new service entry may name this person.",
                       n=identity.mask(identity.normalise(raw)))
    if person is None:
        return None, _("%(n)s is not in the organization's register; add the person first.",
                       n=identity.mask(identity.normalise(raw)))
    ctx.numbers[raw] = person
    return person, None


# The form's fields as the ledger's columns, for the refusals of check_activity.
_FIELD_COLUMN = {"activity_date": "date", "start_time": "start", "end_time": "end", "community_id": "community",
                 "group_id": "group", "session_number": "session"}


def check_row(ctx: Context, number: int, cells: list, positions: dict) -> RowResult:
    """Every error of the row at once, each as (column key, message); the checked values when none."""
    result = RowResult(number)
    problems = result.errors
    unreadable = set()  # columns already refused: what the form's rules say of them is not repeated

    def refuse(key: str, message: str) -> None:
        problems.append((key, message))
        unreadable.add(key)

    texts = {}
    for key, index in positions.items():
        text = _text(cells[index]) if index < len(cells) else ""
        if len(text) > MAX_CELL:
            refuse(key, _("The cell holds %(n)d characters; at most %(m)d are accepted.", n=len(text), m=MAX_CELL))
            text = ""
        elif text[:1] in FORMULA_START and len(text) > 1 and (
                text.startswith("=") or not text[1:2].isdigit()):  # "=…" is never data ("=1+cmd|…")
            refuse(key, _("Formulas are not accepted; paste the values instead."))
            text = ""
        texts[key] = text

    def raw(key: str):
        return None if key in unreadable else _cell(cells, positions, key)

    def text(key: str) -> str:
        return texts.get(key, "")

    day = _date(raw("date"))
    if day is None and "date" not in unreadable:
        refuse("date", _("Not a date; write it as 2026-03-15."))
    start = services.parse_time(raw("start"))
    end = services.parse_time(raw("end"))
    if start is None and "start" not in unreadable:
        refuse("start", _("Not a time; write it as 09:30."))
    if end is None and "end" not in unreadable:
        refuse("end", _("Not a time; write it as 11:00."))
    type_ = ctx.kinds.get(_word(text("type")))
    if type_ is None and "type" not in unreadable:
        refuse("type", _("Unknown kind of service; use one of: %(words)s.", words=type_list()))
    community = ctx.communities.get(text("community"))
    if community is None and "community" not in unreadable:
        refuse("community", _("No community of this name in the district.") if text("community")
               else _("Give the community."))
    workers = []
    for name in [n for n in SPLIT.split(text("workers")) if n]:
        worker = ctx.workers.get(name)
        if worker is None:
            refuse("workers", ctx.workers.problem(name))
        elif worker not in workers:
            workers.append(worker)
    participants, named = [], set()
    organization_id = ctx.contract.organization_id
    for token in [n for n in SPLIT.split(text("participants")) if n]:
        person, problem = _participant(ctx, token)
        if problem:
            refuse("participants", problem)
            participants.append(_Ref(None, organization_id))  # still counts for the rules of the kind
        elif person in named:
            shown = token[:40] if identity.looks_like_register_code(token) else identity.mask(identity.normalise(token))
            refuse("participants", _("%(t)s names a person already named in this row.", t=shown))
        else:
            named.add(person)
            participants.append(_Ref(person, organization_id))
    head_count = 0
    if text("head_count"):
        if not text("head_count").isdigit():
            refuse("head_count", _("The head-count is a whole number."))
        else:
            head_count = int(text("head_count"))
    session_text = text("session")
    if session_text and not session_text.isdigit():
        refuse("session", _("The session number is a whole number."))
    group_name = text("group")
    if type_ == ActivityType.GROUP_SESSION and not group_name and "group" not in unreadable:
        refuse("group", _("A group session needs the group's name."))
    group = None
    if type_ == ActivityType.GROUP_SESSION and group_name:
        group = _Ref(ctx.groups.get(group_name), name=group_name)
    values = dict(type=type_.value if type_ else None, activity_date=day, start_time=start, end_time=end,
                  community=community, place=text("place"), hours=text("hours") or None, head_count=head_count,
                  topic=text("topic"), outcome=text("outcome"), notes=text("notes"), group=group,
                  session_number=int(session_text) if session_text.isdigit() else None, workers=workers,
                  participants=participants)
    # The rules the form applies, every one of them; a refusal of a column already refused above
    # (or of a time when either time is unreadable) would only say the same again.
    rules: list = []
    clean = services.check_activity(ctx.contract, values, errors=rules)
    quiet = unreadable | ({"start", "end"} if unreadable & {"start", "end"} else set())
    if "workers" in unreadable:  # the hours a row may carry depend on how many workers it names
        quiet.add("hours")
    for form_field, message in rules:
        key = _FIELD_COLUMN.get(form_field, form_field)
        if key not in quiet:
            problems.append((key, message))
    if problems:
        return result
    clean["group_name"] = group_name if type_ == ActivityType.GROUP_SESSION else ""
    result.values = clean
    return result


def row_fingerprint(ctx: Context, values: dict) -> str:
    group_key = values.get("group_id") or (f"new:{values['group_name']}" if values.get("group_name") else None)
    return services.fingerprint(ctx.contract.id, values["type"], values["activity_date"], values["start_time"],
                                values["end_time"], values["community_id"], values["place"],
                                [w.id for w in values["workers"]], [p.id for p in values["participants"]],
                                values["head_count"], group_key, values["session_number"])


# --- the dry run ------------------------------------------------------------------------------


@dataclass
class CheckResult:
    rows_total: int = 0
    rows_new: int = 0
    rows_duplicate: int = 0   # already recorded on the contract
    rows_repeated: int = 0    # the same as an earlier row of the file
    error_count: int = 0
    errors: list = field(default_factory=list)
    preview: list = field(default_factory=list)
    repeats: list = field(default_factory=list)
    names: dict = field(default_factory=dict)   # column key -> its heading as the file names it

    def add_errors(self, row: RowResult) -> None:
        self.error_count += len(row.errors)
        for key, message in row.errors:
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append({"row": row.number, "column": self.names.get(key) or heading(key),
                                    "message": message})

    def add_repeat(self, number: int, first: int) -> None:
        self.rows_repeated += 1
        if len(self.repeats) < MAX_ERRORS_KEPT:
            self.repeats.append({"row": number, "repeat_of": first})


def _preview_row(number: int, values: dict) -> dict:
    return {"row": number, "date": values["activity_date"].isoformat(), "type": values["type"].value,
            "time": f"{values['start_time'].strftime('%H:%M')}-{values['end_time'].strftime('%H:%M')}",
            "workers": "、".join(w.name for w in values["workers"]), "people": len(values["participants"]),
            "head_count": values["head_count"], "hours": str(values["hours"]), "group": values.get("group_name", "")}


def _blank(cells: list) -> bool:
    for cell in cells:
        if cell is not None and (type(cell) is not str or cell.strip()):
            return False
    return True


def _register_line(cells: list, positions: dict) -> bool:
    """A line of the register's template left as it came: people named, nothing else of an entry."""
    for key, index in positions.items():
        if key != "participants" and index < len(cells):
            cell = cells[index]
            if cell is not None and (type(cell) is not str or cell.strip()):
                return False
    return True


def _rows(source: BinaryIO, kind: str, total_hint: int | None, progress: Callable | None, share: tuple[int, int],
          result: CheckResult):
    source.seek(0)
    max_rows = _limits()[0]
    rows = iter_rows(source, kind)
    try:
        _n, header = next(rows)
    except StopIteration:
        raise LedgerError(_("The file is empty.")) from None
    positions, result.names = _header(header)
    for number, cells in rows:
        if number > max_rows + 1:
            raise _too_many_rows(max_rows)
        if _blank(cells) or _register_line(cells, positions):
            continue
        if progress and total_hint and number % 500 == 0:
            low, high = share
            progress(low + (high - low) * min(1.0, number / total_hint))
        yield number, cells, positions


def _checked_chunks(ctx: Context, rows, result: CheckResult):
    """The file's rows checked, BATCH at a time: (row number, values) of the rows without errors;
    the errors go to `result`. Only one chunk is held at a time."""
    chunk = []
    for number, cells, positions in rows:
        result.rows_total += 1
        row = check_row(ctx, number, cells, positions)
        if row.errors:
            result.add_errors(row)
        else:
            chunk.append((number, row.values))
        if len(chunk) >= BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _recorded(contract_id: int, fingerprints: list[str]) -> dict[str, int | None]:
    """Those of the fingerprints that entries on the contract already have -> the import batch that
    wrote the entry (None: recorded through the form)."""
    # By fingerprint alone, so the planner takes its index rather than scan the contract's entries (a
    # fingerprint holds the contract's id; the filter below only guards against a hash collision).
    found = db.session.execute(sa.select(ServiceActivity.fingerprint, ServiceActivity.contract_id,
                                         ServiceActivity.import_batch_id).where(
        ServiceActivity.fingerprint.in_(list(set(fingerprints)))))
    return {fp: batch for fp, contract, batch in found if contract == contract_id}


# The dry run's memory of the fingerprints met so far (the contract's entries, then the file's new
# rows with their row numbers): a temporary table, created and dropped inside a savepoint, so what the
# dry run holds does not grow with the file. The import needs none: the entries it writes are what it
# checks against.
_SCRATCH = sa.Table("ledger_fingerprint", sa.MetaData(), sa.Column("fingerprint", sa.String(64), primary_key=True),
                    sa.Column("row_number", sa.Integer), prefixes=["TEMPORARY"])


def estimate_rows(size: int, kind: str) -> int:
    """A cheap estimate for progress: bytes / typical row size."""
    return max(1, size // (90 if kind == "csv" else 40))


def check_file(contract: Contract, source: BinaryIO, kind: str, size: int, progress: Callable | None = None,
               share: tuple[int, int] = (0, 100)) -> CheckResult:
    """Check every row and count what the import would create, writing nothing."""
    ctx = Context.load(contract)
    result = CheckResult()
    rows = _rows(source, kind, estimate_rows(size, kind), progress, share, result)
    scratch = db.session.begin_nested()
    try:
        _SCRATCH.create(db.session.connection())
        recorded = sa.select(ServiceActivity.fingerprint).where(ServiceActivity.contract_id == contract.id).distinct()
        db.session.execute(sa.insert(_SCRATCH).from_select(["fingerprint"], recorded))
        for chunk in _checked_chunks(ctx, rows, result):
            fingerprints = [row_fingerprint(ctx, values) for _number, values in chunk]
            met = dict(db.session.execute(sa.select(_SCRATCH.c.fingerprint, _SCRATCH.c.row_number).where(
                _SCRATCH.c.fingerprint.in_(list(set(fingerprints))))).all())
            new = []
            for (number, values), fp in zip(chunk, fingerprints):
                if fp in met:
                    if met[fp] is None:
                        result.rows_duplicate += 1
                    else:
                        result.add_repeat(number, met[fp])
                    continue
                met[fp] = number
                new.append({"fingerprint": fp, "row_number": number})
                result.rows_new += 1
                if len(result.preview) < PREVIEW_ROWS:
                    result.preview.append(_preview_row(number, values))
            if new:
                db.session.execute(sa.insert(_SCRATCH), new)
    finally:
        scratch.rollback()  # the scratch table goes with it
    return result


def create_batch(actor, contract: Contract, upload) -> ImportBatch:
    from .workflow import check_ledger_import

    check_ledger_import(actor, contract)  # the page and the command line refuse the same files
    stored = files.store(upload, purpose="ledger", rule=files.UploadRule(kinds=files.LEDGERS), actor=actor,
                         encrypt_purpose=FILE_PURPOSE)
    if stored.kind == "xlsx":  # refused at once, before a job is queued for it
        with ledger_stream(stored) as source:
            inspect_workbook(source)
    batch = ImportBatch(contract_id=contract.id, file_id=stored.id, sha256=stored.sha256, status=ImportStatus.CHECKED,
                        status_changed_at=clock.now(), created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(batch)
    db.session.flush()
    return batch


def run_check(actor, batch: ImportBatch, progress: Callable | None = None) -> CheckResult:
    IMPORT.check("check", batch)
    contract = db.session.get(Contract, batch.contract_id)
    with ledger_stream(batch.file) as source:
        result = check_file(contract, source, batch.file.kind, batch.file.size, progress)
    batch.rows_total, batch.rows_new, batch.rows_duplicate = result.rows_total, result.rows_new, result.rows_duplicate
    batch.rows_repeated, batch.repeats = result.rows_repeated, result.repeats
    batch.error_count, batch.errors, batch.preview = result.error_count, result.errors, result.preview
    IMPORT.move(actor, batch, "check",
                changes={"contract_id": [None, batch.contract_id], "file_sha256": [None, batch.sha256],
                         "rows": [None, result.rows_total], "new": [None, result.rows_new],
                         "duplicates": [None, result.rows_duplicate], "repeated": [None, result.rows_repeated],
                         "errors": [None, result.error_count]})
    return result


# --- the import -------------------------------------------------------------------------------


def run_import(actor, batch: ImportBatch, progress: Callable | None = None) -> ImportBatch:
    """All or nothing: any row error aborts before anything is kept. Entries already recorded are skipped.

    One pass, BATCH rows at a time: each chunk is checked again (the register may have changed since
    the dry run) and written, inside a savepoint that a row error anywhere in the file rolls back.
    """
    IMPORT.check("complete", batch)
    contract = db.session.get(Contract, batch.contract_id)
    from .workflow import check_recording

    check_recording(contract)  # the contract may have closed since the file was checked
    kind = batch.file.kind
    ctx = Context.load(contract)
    writer = _Writer(ctx, batch.id, getattr(actor, "id", None))
    check = CheckResult()
    with ledger_stream(batch.file) as source, db.session.begin_nested():
        rows = _rows(source, kind, batch.rows_total or estimate_rows(batch.file.size, kind), progress, (0, 100), check)
        for chunk in _checked_chunks(ctx, rows, check):
            if not check.error_count:  # after an error the rest is only checked, to count the errors
                writer.write(chunk)
        if check.error_count:
            raise LedgerError(ngettext_errors(check.error_count))
    batch.rows_total, batch.rows_new = check.rows_total, writer.created
    batch.rows_duplicate, batch.rows_repeated = writer.recorded, writer.repeated
    batch.error_count, batch.errors = 0, []
    db.session.flush()
    from .flags import refresh_flags
    from .progress import log_changed

    refresh_flags([contract.id])
    log_changed([contract.id])
    IMPORT.move(actor, batch, "complete",
                changes={"contract_id": [None, contract.id], "file_sha256": [None, batch.sha256],
                         "created": [None, writer.created], "skipped_as_recorded": [None, batch.rows_duplicate],
                         "skipped_as_repeated": [None, batch.rows_repeated],
                         "groups_created": [None, sorted(writer.groups_created)]})
    return batch


class _Writer:
    """Writes checked rows a chunk at a time: a few multi-row INSERTs per chunk, whatever its size."""

    def __init__(self, ctx: Context, batch_id: int, actor_id: int | None):
        self.ctx, self.batch_id, self.actor_id = ctx, batch_id, actor_id
        self.now = clock.now()
        self.created = self.recorded = self.repeated = 0
        self.groups_created: list[str] = []
        contract_id = ctx.contract.id
        self.cases = {bid: cid for cid, bid in db.session.execute(
            sa.select(ServiceCase.id, ServiceCase.beneficiary_id).where(ServiceCase.contract_id == contract_id))}
        self.members = set(tuple(row) for row in db.session.execute(
            sa.select(group_member.c.group_id, group_member.c.beneficiary_id)
            .join(ServiceGroup, ServiceGroup.id == group_member.c.group_id)
            .where(ServiceGroup.contract_id == contract_id)))

    def write(self, chunk: list[tuple[int, dict]]) -> None:
        ctx, contract_id = self.ctx, self.ctx.contract.id
        self._create_groups([values["group_name"] for _n, values in chunk if values.get("group_name")])
        for _n, values in chunk:
            if values.get("group_name"):
                values["group_id"] = ctx.groups[values["group_name"]]
        # With the group's id, as the form computes it: the same entry has the same fingerprint either way.
        fingerprints = [row_fingerprint(ctx, values) for _n, values in chunk]
        met = _recorded(contract_id, fingerprints)
        new = []
        for (_n, values), fp in zip(chunk, fingerprints):
            if fp not in met:
                met[fp] = self.batch_id
                new.append((values, fp))
            elif met[fp] == self.batch_id:  # written from an earlier row of this file
                self.repeated += 1
            else:
                self.recorded += 1
        if not new:
            return
        self._open_cases([values for values, _fp in new if values["type"] == ActivityType.CASE_WORK])
        members = []
        for values, _fp in new:
            for person in values["participants"]:
                pair = (values.get("group_id"), person.id)
                if pair[0] and pair not in self.members:
                    self.members.add(pair)
                    members.append({"group_id": pair[0], "beneficiary_id": pair[1]})
        if members:
            db.session.execute(sa.insert(group_member), members)
        entries = [{
            "contract_id": contract_id, "type": values["type"], "activity_date": values["activity_date"],
            "start_time": values["start_time"], "end_time": values["end_time"], "community_id": values["community_id"],
            "place": values["place"], "hours": values["hours"], "head_count": values["head_count"],
            "participant_count": len(values["participants"]),
            "topic": values["topic"], "outcome": values["outcome"], "notes": values["notes"],
            "group_id": values.get("group_id"),
            "case_id": (self.cases[values["participants"][0].id] if values["type"] == ActivityType.CASE_WORK
                        else None),
            "session_number": values["session_number"], "fingerprint": fp, "import_batch_id": self.batch_id,
            "revision": 1, "created_at": self.now, "created_by_id": self.actor_id, "updated_at": self.now,
            "version": 1,
        } for values, fp in new]
        # A plain executemany, then the ids read back by fingerprint (unique in the chunk): with
        # RETURNING, SQLAlchemy sends PostgreSQL one statement of ~20,000 parameters per chunk, which
        # psycopg takes longer to parse than the server to run.
        db.session.execute(sa.insert(ServiceActivity.__table__), entries)
        ids = {fp: aid for aid, fp, batch_id in db.session.execute(
            sa.select(ServiceActivity.id, ServiceActivity.fingerprint, ServiceActivity.import_batch_id).where(
                ServiceActivity.fingerprint.in_([fp for _values, fp in new])))
            if batch_id == self.batch_id}
        db.session.execute(sa.insert(activity_worker), [{"activity_id": ids[fp], "social_worker_id": w.id}
                                                        for values, fp in new for w in values["workers"]])
        participants = [{"activity_id": ids[fp], "beneficiary_id": p.id} for values, fp in new
                        for p in values["participants"]]
        if participants:
            db.session.execute(sa.insert(activity_participant), participants)
        self.created += len(new)

    def _create_groups(self, names: list[str]) -> None:
        missing = sorted(set(names) - set(self.ctx.groups))
        if not missing:
            return
        table = ServiceGroup.__table__
        for gid, name in db.session.execute(sa.insert(table).returning(table.c.id, table.c.name), [
                {"contract_id": self.ctx.contract.id, "name": name, "planned_sessions": 6, "created_at": self.now}
                for name in missing]):
            self.ctx.groups[name] = gid
        self.groups_created.extend(missing)

    def _open_cases(self, case_work: list[dict]) -> None:
        """A case for each person served in case work who has none on the contract yet, opened on the
        day of their first entry in the file."""
        opened: dict[int, date] = {}
        for values in case_work:
            person = values["participants"][0].id
            if person not in self.cases and person not in opened:
                opened[person] = values["activity_date"]
        if not opened:
            return
        table = ServiceCase.__table__
        for cid, bid in db.session.execute(sa.insert(table).returning(table.c.id, table.c.beneficiary_id), [
                {"contract_id": self.ctx.contract.id, "beneficiary_id": person, "opened_on": day,
                 "created_at": self.now} for person, day in opened.items()]):
            self.cases[bid] = cid


def ngettext_errors(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d error in the file; nothing was imported.",
                    "%(num)d errors in the file; nothing was imported.", count)


# --- the template -----------------------------------------------------------------------------


def template_rows() -> list[list[str]]:
    """The headings (the form's words in the page's language), what each column holds, an example."""
    from .labels import ACTIVITY_TYPE_LABELS

    header = headings()
    help_row = [str(h) for _k, _label, _other, h in COLUMNS]
    example = ["2026-03-15", "09:30", "11:00", str(ACTIVITY_TYPE_LABELS[ActivityType.GROUP_SESSION]), "玉林北路社区",
               "社区活动室", "周婷、吴昊", identity.register_code(1), "", "1.5", "独居老人互助小组", "1", "防跌倒知识",
               "", ""]
    return [header, help_row, example]


def template_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(template_rows()[0])
    writer.writerow(template_rows()[2])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("Service ledger")[:31]
    header, help_row, example = template_rows()
    sheet.append(header)
    sheet.append(example)
    for index, cell in enumerate(sheet[1]):
        cell.font = Font(bold=True)
        cell.comment = Comment(help_row[index], "svcproc")
        sheet.column_dimensions[cell.column_letter].width = max(12, len(header[index]) * 3)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def register_template(people: Iterable[tuple[int, str, str]]) -> tuple[list[str], Iterator[list]]:
    """The ledger's headings and one line per person (id, name, masked identity number): their register
    code in the participants column, their name and masked number beside it for whoever fills it in.
    A line left as it came (nobody filled in the entry) is skipped by the import (_register_line)."""
    header = headings() + [str(c) for c in REFERENCE_COLUMNS]
    at = KEYS.index("participants")

    def rows():
        for person_id, name, masked in people:
            line = [""] * len(KEYS)
            line[at] = identity.register_code(person_id)
            yield line + [name, masked or ""]

    return header, rows()
