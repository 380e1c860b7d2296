"""Lists taken to Excel: CSV (UTF-8 with a byte-order mark, so Excel reads Chinese) or XLSX, every
text cell made formula-safe, rows written as they are read so a long list never sits in memory."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from flask import Response, abort, stream_with_context

FORMATS = ("csv", "xlsx")
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
                    title: str = "") -> Response:
    """The list in the format asked for (`csv` or `xlsx`); any other format is no page (404)."""
    if fmt == "csv":
        return csv_response(filename, header, rows)
    if fmt == "xlsx":
        return xlsx_response(filename, header, rows, title)
    abort(404)
