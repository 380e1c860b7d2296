"""The tabular parts of the portfolio and organization reports as XLSX workbooks."""
from __future__ import annotations

import io

from flask_babel import gettext as _

from ..core.exports import safe
from .labels import label
from .models import ReportKind


def _yuan(fen) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def _sheet(workbook, title: str, header: list[str], rows: list[list]) -> None:
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([safe(v) for v in row])  # text typed by people never runs as a formula
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18


def workbook(kind: ReportKind, data: dict) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    if kind == ReportKind.PORTFOLIO:
        _sheet(book, _("Contracts"),
               [_("Contract"), _("Title"), _("Service organization"), _("Service category"), _("Status"),
                _("Amount (yuan)"), _("Paid (yuan)"), _("Score"), _("Grade")],
               [[r["number"], r["title"], r["organization"], label("category", r["category"]),
                 label("contract_status", r["status"]), _yuan(r["amount_fen"]), _yuan(r["paid_fen"]), r["total"],
                 label("grade", r["grade"] or "none")] for r in data["contracts"]])
        _sheet(book, _("Organizations ranked"), [_("Rank"), _("Service organization"), _("Contracts"),
                                                  _("Amount (yuan)"), _("Mean score")],
               [[i, r["organization"], r["contracts"], _yuan(r["amount_fen"]), r["mean_score"]]
                for i, r in enumerate(data["organizations"], start=1)])
        _sheet(book, _("Outputs against targets"), [_("Indicator"), _("Actual"), _("Target")],
               [[label("target", o["target"]), float(o["actual"]), o["planned"]] for o in data["outputs"]])
        money = data["money"]
        _sheet(book, _("By service category"),
               [_("Service category"), _("Plans"), _("Budget (yuan)"), _("Contracts"), _("Awarded (yuan)"),
                _("Paid (yuan)")],
               [[label("category", r["category"]), r["plans"], _yuan(r["budget_fen"]), r["contracts"],
                 _yuan(r["awarded_fen"]), _yuan(r["paid_fen"])] for r in money["by_category"]])
        _sheet(book, _("By month"), [_("Month"), _("Awarded (month signed, yuan)"), _("Paid (yuan)")],
               [[r["month"], _yuan(r["awarded_fen"]), _yuan(r["paid_fen"])] for r in money["by_month"]]
               + ([[_("Not signed yet"), _yuan(money["unsigned_fen"]), None]] if money["unsigned_fen"] else []))
        _sheet(book, _("Summary"), [_("Item"), _("Value")],
               [[_("Budget"), _yuan(data["budget_fen"])], [_("Awarded"), _yuan(data["awarded_fen"])],
                [_("Paid"), _yuan(data["paid_fen"])]]
               + [[label("contract_status", k), v] for k, v in data["by_status"].items()]
               + [[label("category", k), v["contracts"]] for k, v in data["by_category"].items()]
               + [[label("grade", k), v] for k, v in data["grades"].items()])
    else:
        _sheet(book, _("Performance history"),
               [_("Fiscal year"), _("Contract"), _("Title"), _("Status"), _("Start"), _("End"), _("Amount (yuan)"),
                _("Paid (yuan)"), _("Score"), _("Grade"), _("Red flags"), _("Unexplained")],
               [[r["fiscal_year"], r["number"], r["title"], label("contract_status", r["status"]), r["start_date"],
                 r["end_date"], _yuan(r["amount_fen"]), _yuan(r["paid_fen"]), r["total"],
                 label("grade", r["grade"] or "none"), r["red_flags"], r["unexplained_flags"]]
                for r in data["contracts"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
