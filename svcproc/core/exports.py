"""Lists taken to Excel: CSV (UTF-8 with a byte-order mark, so Excel reads Chinese) or XLSX, every
text cell made formula-safe, rows written as they are read so a long list never sits in memory.

A list's export holds the rows its page would list, with the page's filters, read by one streamed
statement (`bounded`) of at most ROW_CAP rows: a list that grows without limit (a busy contract's
log, the district's payments) ends with a row saying where the export stopped, never with a
request that reads a table whole.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, stream_with_context
from flask_babel import gettext as _
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from . import clock

FORMATS = ("csv", "xlsx")
# The most rows one export holds: about a year of the busiest contract's log. Beyond it the filters
# narrow the list (the export says so in its last row).
ROW_CAP = 20_000
BATCH = 1000  # rows fetched from the database at a time while the answer is written
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe(value: Any) -> Any:
    """The cell's value, with text that a spreadsheet would run as a formula turned into plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal, date, datetime)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def yuan(fen: int | None) -> Decimal | None:
    """Money as a number a spreadsheet adds up (yuan, two places), not as text."""
    return None if fen is None else (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def stamped(name: str) -> str:
    """A file name with today's date (Asia/Shanghai), so two downloads of a list are told apart."""
    return f"{name}-{clock.to_local(clock.now()):%Y%m%d}"


def bounded(stmt: sa.Select) -> sa.Select:
    """The statement an export streams: at most ROW_CAP + 1 rows (the one more tells the answer
    that the cap was reached), fetched BATCH at a time, in one statement however many there are."""
    return stmt.limit(ROW_CAP + 1).execution_options(yield_per=BATCH)


def rows_of(listed: sa.Select) -> sa.ColumnElement[bool]:
    """The condition that picks a list's rows (its scope and its filters), for an export that
    selects other columns from the same table: a scope with no condition (the bureau's) is all."""
    return listed.whereclause if listed.whereclause is not None else sa.true()


class joined_text(FunctionElement):
    """The texts of a group joined by "、" (a row's social workers in one cell): group_concat on
    SQLite, string_agg on PostgreSQL, so a row's names come with the row in the same statement."""

    type = sa.String()
    name = "joined_text"
    inherit_cache = True


@compiles(joined_text, "sqlite")
def _joined_text_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, '、')"


@compiles(joined_text, "postgresql")
def _joined_text_postgresql(element, compiler, **kw):
    return f"string_agg({compiler.process(element.clauses, **kw)}, '、')"


def _capped(rows: Iterable[Sequence[Any]], cap: int) -> Iterable[Sequence[Any]]:
    for index, row in enumerate(rows):
        if index == cap:
            yield [_("Only the first %(num)d rows are exported: narrow the filters to export the rest.", num=cap)]
            return
        yield row


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The whole CSV file at once, for an archive that bundles it (the same cells as `csv_response`)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([safe(h) for h in header])
    writer.writerows([safe(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([safe(h) for h in header])
        for index, row in enumerate(rows, 1):
            writer.writerow([safe(v) for v in row])
            if index % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(filename + ".csv"), "Cache-Control": "no-store"})


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> Response:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(title or "Sheet1")[:31])
    bold = Font(bold=True)
    head = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=safe(text))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        values = []
        for value in row:
            value = safe(value)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(filename + ".xlsx"), "Cache-Control": "no-store"})


def export_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                    title: str = "", cap: int | None = None) -> Response:
    """The list in the format asked for (`csv` or `xlsx`); any other format is no page (404). At
    most `cap` rows (ROW_CAP unless said), then a row saying the rest was left out."""
    rows = _capped(rows, ROW_CAP if cap is None else cap)
    if fmt == "csv":
        return csv_response(filename, header, rows)
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows, title)
    abort(404)
