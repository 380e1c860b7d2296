"""Service ledgers (台账) from Excel or CSV: the template, a dry run that reports every row error,
and an all-or-nothing import that streams the file and skips entries already recorded.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO, Callable, Iterator

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import record
from ..contracts.models import Contract
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..extensions import db
from . import identity, services
from .models import (ActivityType, Beneficiary, ImportBatch, ImportStatus, ServiceActivity, ServiceCase, ServiceGroup,
                     activity_participant, activity_worker, group_member)

# (key, Chinese header, English header, what it holds)
COLUMNS = (
    ("date", "日期", "date", _l("YYYY-MM-DD")),
    ("start", "开始时间", "start", _l("HH:MM")),
    ("end", "结束时间", "end", _l("HH:MM")),
    ("type", "服务类型", "type", _l("kind of service, in one of the words listed below")),
    ("community", "社区", "community", _l("name of the community")),
    ("place", "地点", "place", _l("where")),
    ("workers", "社工", "workers", _l("social workers' names, separated by 、")),
    ("participants", "服务对象身份证号", "participant id numbers", _l("identity numbers, separated by ;")),
    ("head_count", "其他参与人数", "head count", _l("people present beyond those named")),
    ("hours", "服务时长", "hours", _l("hours, e.g. 1.5")),
    ("group", "小组名称", "group", _l("group name (group sessions)")),
    ("session", "节次", "session", _l("session number (group sessions)")),
    ("topic", "主题", "topic", _l("topic")),
    ("outcome", "成果", "outcome", _l("outcome")),
    ("notes", "备注", "notes", _l("notes")),
)
REQUIRED = ("date", "start", "end", "type", "community", "workers")
HEADER_KEYS = {}
for _key, _zh, _en, _help in COLUMNS:
    HEADER_KEYS[_zh] = _key
    HEADER_KEYS[_en.lower()] = _key
    HEADER_KEYS[_key] = _key
TYPE_WORDS = {
    "个案": ActivityType.CASE_WORK, "小组": ActivityType.GROUP_SESSION, "社区活动": ActivityType.COMMUNITY_EVENT,
    "微议事": ActivityType.DELIBERATION, "志愿者培训": ActivityType.VOLUNTEER_TRAINING,
}
TYPE_LIST = "、".join(TYPE_WORDS)
TYPE_WORDS.update({t.value: t for t in ActivityType})
MAX_CELL = 2000
MAX_ERRORS_KEPT = 500
PREVIEW_ROWS = 50
BATCH = 1000
SPLIT = re.compile(r"[、,，;；/\s]+")
FILE_PURPOSE = "ledger-file"


class LedgerError(DomainError):
    """The file as a whole cannot be read."""

    status_code = 422


def column_label(key: str) -> str:
    for k, zh, en, _help in COLUMNS:
        if k == key:
            return f"{zh} ({en})"
    return key


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


def iter_rows(source: BinaryIO, kind: str) -> Iterator[tuple[int, list]]:
    """(row number as the spreadsheet shows it, cells) for every row, header included, streamed from a
    seekable binary file, which is left open at the end."""
    if kind == "csv":
        text = io.TextIOWrapper(source, encoding=_csv_encoding(source), newline="")
        try:
            for number, cells in enumerate(csv.reader(text), start=1):
                yield number, cells
        except (csv.Error, UnicodeDecodeError) as exc:
            raise LedgerError(_("The CSV file cannot be read (%(e)s).", e=str(exc)[:200])) from None
        finally:
            if not source.closed:  # an abandoned reader is finished after its file was closed
                text.detach()
        return
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise LedgerError(_("The Excel file is damaged or not an .xlsx workbook (%(e)s).", e=str(exc)[:200])) from None
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def _header(cells: list) -> dict[str, int]:
    positions = {}
    for index, cell in enumerate(cells):
        name = str(cell or "").strip()
        key = HEADER_KEYS.get(name) or HEADER_KEYS.get(name.lower())
        if key and key not in positions:
            positions[key] = index
    missing = [column_label(k) for k in REQUIRED if k not in positions]
    if missing:
        raise LedgerError(_("The first row must hold the column headings of the template; missing: %(m)s.",
                            m="、".join(missing)))
    return positions


# --- checking one row -------------------------------------------------------------------------


@dataclass
class Context:
    """What rows are checked against, loaded once per file (bounded by the register, not the file)."""

    contract: Contract
    communities: dict
    workers: dict
    people: dict          # match key -> beneficiary id
    people_orgs: dict
    groups: dict          # name -> group id (existing)
    existing: set         # fingerprints already recorded on the contract

    @classmethod
    def load(cls, contract: Contract) -> Context:
        assigned = {w.name: w for w in contract.workers}
        people = {}
        for bid, key in db.session.execute(sa.select(Beneficiary.id, Beneficiary.id_match_key).where(
                Beneficiary.organization_id == contract.organization_id, Beneficiary.id_match_key.is_not(None))):
            people[key] = bid
        groups = {name: gid for gid, name in db.session.execute(
            sa.select(ServiceGroup.id, ServiceGroup.name).where(ServiceGroup.contract_id == contract.id))}
        existing = set(db.session.execute(sa.select(ServiceActivity.fingerprint)
                                          .where(ServiceActivity.contract_id == contract.id)).scalars())
        return cls(contract, services.areas_by_name(), assigned, people, {}, groups, existing)


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
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


def check_row(ctx: Context, number: int, cells: list, positions: dict) -> RowResult:
    result = RowResult(number)
    problems = result.errors
    for key, index in positions.items():
        value = cells[index] if index < len(cells) else None
        text = _text(value)
        if len(text) > MAX_CELL:
            problems.append((key, _("The cell holds %(n)d characters; at most %(m)d are accepted.", n=len(text), m=MAX_CELL)))
        elif text.startswith("=") and len(text) > 1:  # never data, whatever follows ("=1+cmd|…")
            problems.append((key, _("Formulas are not accepted; paste the values instead.")))
        elif text.startswith(("+", "@")) and len(text) > 1 and not text[1:2].isdigit():
            problems.append((key, _("Formulas are not accepted; paste the values instead.")))
    if problems:
        return result
    day = _date(_cell(cells, positions, "date"))
    if day is None:
        problems.append(("date", _("Not a date; write it as 2026-03-15.")))
    start = services.parse_time(_cell(cells, positions, "start"))
    end = services.parse_time(_cell(cells, positions, "end"))
    if start is None:
        problems.append(("start", _("Not a time; write it as 09:30.")))
    if end is None:
        problems.append(("end", _("Not a time; write it as 11:00.")))
    type_ = TYPE_WORDS.get(_text(_cell(cells, positions, "type")))
    if type_ is None:
        problems.append(("type", _("Unknown kind of service; use one of: %(words)s.", words=TYPE_LIST)))
    community = ctx.communities.get(_text(_cell(cells, positions, "community")))
    if community is None:
        problems.append(("community", _("No community of this name in the district.")))
    workers = []
    for name in [n for n in SPLIT.split(_text(_cell(cells, positions, "workers"))) if n]:
        worker = ctx.workers.get(name)
        if worker is None:
            problems.append(("workers", _("%(n)s is not a social worker assigned to this contract.", n=name)))
        else:
            workers.append(worker)
    participants = []
    for raw in [n for n in SPLIT.split(_text(_cell(cells, positions, "participants"))) if n]:
        try:
            key = identity.match_key(identity.validate(raw))
        except identity.IdentityNumberError as exc:
            problems.append(("participants", _("%(n)s: %(why)s", n=identity.mask(identity.normalise(raw)),
                                                why=services.identity_message(exc.reason))))
            continue
        person = ctx.people.get(key)
        if person is None:
            problems.append(("participants", _("%(n)s is not in the organization's register; add the person first.",
                                               n=identity.mask(identity.normalise(raw)))))
        else:
            participants.append(_Ref(person, ctx.contract.organization_id))
    head_count_text = _text(_cell(cells, positions, "head_count"))
    head_count = 0
    if head_count_text:
        if not head_count_text.isdigit():
            problems.append(("head_count", _("The head-count is a whole number.")))
        else:
            head_count = int(head_count_text)
    session_text = _text(_cell(cells, positions, "session"))
    if session_text and not session_text.isdigit():
        problems.append(("session", _("The session number is a whole number.")))
    if problems:
        return result
    group_name = _text(_cell(cells, positions, "group"))
    group = _Ref(ctx.groups[group_name]) if group_name in ctx.groups else (_Ref(None, name=group_name) if group_name else None)
    values = dict(type=type_, activity_date=day, start_time=start, end_time=end, community=community,
                  place=_text(_cell(cells, positions, "place")), hours=_text(_cell(cells, positions, "hours")) or None,
                  head_count=head_count, topic=_text(_cell(cells, positions, "topic")),
                  outcome=_text(_cell(cells, positions, "outcome")), notes=_text(_cell(cells, positions, "notes")),
                  group=group if type_ == ActivityType.GROUP_SESSION else None,
                  session_number=int(session_text) if session_text else None, workers=workers,
                  participants=participants)
    if type_ == ActivityType.GROUP_SESSION and group is None:
        problems.append(("group", _("A group session needs the group's name.")))
        return result
    try:
        clean = services.check_activity(ctx.contract, values)
    except ValidationError as exc:
        problems.append((_error_column(exc.field), exc.message))
        return result
    clean["group_name"] = group_name if type_ == ActivityType.GROUP_SESSION else ""
    result.values = clean
    return result


def _error_column(form_field: str | None) -> str:
    return {"activity_date": "date", "start_time": "start", "end_time": "end", "community_id": "community",
            "group_id": "group", "session_number": "session"}.get(form_field or "", form_field or "date")


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
    rows_duplicate: int = 0
    error_count: int = 0
    errors: list = field(default_factory=list)
    preview: list = field(default_factory=list)
    new_groups: set = field(default_factory=set)


def _preview_row(number: int, values: dict) -> dict:
    return {"row": number, "date": values["activity_date"].isoformat(), "type": values["type"].value,
            "time": f"{values['start_time'].strftime('%H:%M')}-{values['end_time'].strftime('%H:%M')}",
            "workers": "、".join(w.name for w in values["workers"]), "people": len(values["participants"]),
            "head_count": values["head_count"], "hours": str(values["hours"]), "group": values.get("group_name", "")}


def _rows(source: BinaryIO, kind: str, total_hint: int | None, progress: Callable | None, share: tuple[int, int]):
    source.seek(0)
    rows = iter_rows(source, kind)
    try:
        _n, header = next(rows)
    except StopIteration:
        raise LedgerError(_("The file is empty.")) from None
    positions = _header(header)
    for number, cells in rows:
        if not any(_text(c) for c in cells):
            continue
        if progress and total_hint and number % 500 == 0:
            low, high = share
            progress(low + (high - low) * min(1.0, number / total_hint))
        yield number, cells, positions


def estimate_rows(size: int, kind: str) -> int:
    """A cheap estimate for progress: bytes / typical row size."""
    return max(1, size // (90 if kind == "csv" else 40))


def check_file(contract: Contract, source: BinaryIO, kind: str, size: int, progress: Callable | None = None,
               share: tuple[int, int] = (0, 100)) -> CheckResult:
    ctx = Context.load(contract)
    result = CheckResult()
    seen: set[str] = set()
    hint = estimate_rows(size, kind)
    for number, cells, positions in _rows(source, kind, hint, progress, share):
        result.rows_total += 1
        row = check_row(ctx, number, cells, positions)
        if row.errors:
            result.error_count += len(row.errors)
            for key, message in row.errors:
                if len(result.errors) < MAX_ERRORS_KEPT:
                    result.errors.append({"row": number, "column": column_label(key), "message": message})
            continue
        fp = row_fingerprint(ctx, row.values)
        if fp in ctx.existing or fp in seen:
            result.rows_duplicate += 1
            continue
        seen.add(fp)
        result.rows_new += 1
        if row.values.get("group_name") and row.values["group_name"] not in ctx.groups:
            result.new_groups.add(row.values["group_name"])
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append(_preview_row(number, row.values))
    return result


def create_batch(actor, contract: Contract, upload) -> ImportBatch:
    from . import permissions as perms
    from ..core.permissions import is_system, require

    if not is_system(actor):
        require(perms.can_manage_delivery(actor, contract))
    stored = files.store(upload, purpose="ledger", rule=files.UploadRule(kinds=files.LEDGERS), actor=actor,
                         encrypt_purpose=FILE_PURPOSE)
    batch = ImportBatch(contract_id=contract.id, file_id=stored.id, sha256=stored.sha256, status=ImportStatus.CHECKED,
                        status_changed_at=clock.now(), created_at=clock.now(), created_by_id=getattr(actor, "id", None))
    db.session.add(batch)
    db.session.flush()
    return batch


def run_check(actor, batch: ImportBatch, progress: Callable | None = None) -> CheckResult:
    contract = db.session.get(Contract, batch.contract_id)
    with ledger_stream(batch.file) as source:
        result = check_file(contract, source, batch.file.kind, batch.file.size, progress)
    batch.rows_total, batch.rows_new, batch.rows_duplicate = result.rows_total, result.rows_new, result.rows_duplicate
    batch.error_count, batch.errors, batch.preview = result.error_count, result.errors, result.preview
    batch.status, batch.status_changed_at = ImportStatus.CHECKED, clock.now()
    db.session.flush()
    record("import.checked", actor=actor, obj=batch,
           changes={"contract_id": [None, batch.contract_id], "file_sha256": [None, batch.sha256],
                    "rows": [None, result.rows_total], "new": [None, result.rows_new],
                    "duplicates": [None, result.rows_duplicate], "errors": [None, result.error_count]})
    return result


# --- the import -------------------------------------------------------------------------------


def run_import(actor, batch: ImportBatch, progress: Callable | None = None) -> ImportBatch:
    """All or nothing: any row error aborts before anything is kept. Entries already recorded are skipped."""
    contract = db.session.get(Contract, batch.contract_id)
    with ledger_stream(batch.file) as source:
        return _import(actor, batch, contract, source, progress)


def _import(actor, batch: ImportBatch, contract: Contract, source: BinaryIO, progress: Callable | None) -> ImportBatch:
    kind = batch.file.kind
    # Pass 1: check every row again (the register may have changed since the dry run).
    check = check_file(contract, source, kind, batch.file.size, progress, (0, 40))
    if check.error_count:
        raise LedgerError(ngettext_errors(check.error_count))
    ctx = Context.load(contract)
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    groups = dict(ctx.groups)
    for name in sorted(check.new_groups):
        group = ServiceGroup(contract_id=contract.id, name=name, planned_sessions=6, created_at=now)
        db.session.add(group)
        db.session.flush()
        groups[name] = group.id
        ctx.groups[name] = group.id
    cases = {bid: cid for cid, bid in db.session.execute(
        sa.select(ServiceCase.id, ServiceCase.beneficiary_id).where(ServiceCase.contract_id == contract.id))}
    members = set(tuple(row) for row in db.session.execute(sa.select(group_member.c.group_id, group_member.c.beneficiary_id)
                                     .where(group_member.c.group_id.in_(list(groups.values()) or [-1]))).all())
    seen: set[str] = set()
    pending: list[tuple[dict, list[int], list[int]]] = []
    created = 0

    def flush_pending():
        nonlocal created
        if not pending:
            return
        rows = [p[0] for p in pending]
        ids = db.session.execute(sa.insert(ServiceActivity).returning(ServiceActivity.id, sort_by_parameter_order=True),
                                 rows).scalars().all()
        worker_rows = [{"activity_id": aid, "social_worker_id": w} for aid, (_r, ws, _ps) in zip(ids, pending) for w in ws]
        people_rows = [{"activity_id": aid, "beneficiary_id": p} for aid, (_r, _ws, ps) in zip(ids, pending) for p in ps]
        if worker_rows:
            db.session.execute(sa.insert(activity_worker), worker_rows)
        if people_rows:
            db.session.execute(sa.insert(activity_participant), people_rows)
        created += len(pending)
        pending.clear()

    for number, cells, positions in _rows(source, kind, max(1, check.rows_total), progress, (40, 100)):
        row = check_row(ctx, number, cells, positions)
        if row.errors:  # cannot happen after pass 1 unless the data changed under us
            raise LedgerError(_("Row %(n)d no longer passes its checks (the register or the contract changed "
                                "after the dry run); nothing was imported. Check the file again.", n=number))
        values = row.values
        if values.get("group_name"):
            values["group_id"] = groups[values["group_name"]]
        fp = row_fingerprint(ctx, values)
        if fp in ctx.existing or fp in seen:
            continue
        seen.add(fp)
        people = [p.id for p in values["participants"]]
        if values["type"] == ActivityType.CASE_WORK and people[0] not in cases:
            case = ServiceCase(contract_id=contract.id, beneficiary_id=people[0], opened_on=values["activity_date"],
                               created_at=now)
            db.session.add(case)
            db.session.flush()
            cases[people[0]] = case.id
        if values.get("group_id"):
            new_members = [{"group_id": values["group_id"], "beneficiary_id": p} for p in people
                           if (values["group_id"], p) not in members]
            if new_members:
                db.session.execute(sa.insert(group_member), new_members)
                members.update((m["group_id"], m["beneficiary_id"]) for m in new_members)
        pending.append(({
            "contract_id": contract.id, "type": values["type"], "activity_date": values["activity_date"],
            "start_time": values["start_time"], "end_time": values["end_time"], "community_id": values["community_id"],
            "place": values["place"], "hours": values["hours"], "head_count": values["head_count"],
            "topic": values["topic"], "outcome": values["outcome"], "notes": values["notes"],
            "group_id": values.get("group_id"),
            "case_id": cases.get(people[0]) if values["type"] == ActivityType.CASE_WORK else None,
            "session_number": values["session_number"], "fingerprint": fp, "import_batch_id": batch.id,
            "revision": 1, "created_at": now, "created_by_id": actor_id, "updated_at": now, "version": 1,
        }, [w.id for w in values["workers"]], people))
        if len(pending) >= BATCH:
            flush_pending()
    flush_pending()
    batch.rows_total, batch.rows_new = check.rows_total, created
    batch.rows_duplicate = check.rows_total - created
    batch.error_count, batch.errors = 0, []
    batch.status, batch.status_changed_at = ImportStatus.IMPORTED, clock.now()
    db.session.flush()
    from .flags import refresh_flags

    refresh_flags([contract.id])
    record("import.completed", actor=actor, obj=batch,
           changes={"contract_id": [None, contract.id], "file_sha256": [None, batch.sha256],
                    "created": [None, created], "skipped_as_recorded": [None, batch.rows_duplicate],
                    "groups_created": [None, sorted(check.new_groups)]})
    return batch


def ngettext_errors(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d error in the file; nothing was imported.",
                    "%(num)d errors in the file; nothing was imported.", count)


# --- the template -----------------------------------------------------------------------------


def template_rows() -> list[list[str]]:
    header = [zh for _k, zh, _en, _h in COLUMNS]
    help_row = [str(h) for _k, _zh, _en, h in COLUMNS]
    example = ["2026-03-15", "09:30", "11:00", "小组", "玉林北路社区", "社区活动室", "周婷、吴昊", "", "", "1.5",
               "独居老人互助小组", "1", "防跌倒知识", "", ""]
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
    sheet.title = "服务台账"
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
