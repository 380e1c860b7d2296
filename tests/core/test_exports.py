"""Exports: formula-safe cells in CSV and XLSX, Chinese file names, streaming CSV with a BOM."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from svcproc.core import exports

DANGEROUS = ["=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_a_spreadsheet_would_run_is_kept_as_text(text):
    assert exports.safe(text) == "'" + text


@pytest.mark.parametrize("value", [12, Decimal("3.50"), date(2026, 1, 2), "社工站", "a=b", ""])
def test_other_values_are_kept_as_they_are(value):
    assert exports.safe(value) == value


def test_csv_starts_with_a_bom_and_neutralises_formulas(app):
    with app.test_request_context():
        response = exports.export_response("csv", "台账-2026", ["名称", "金额"], [["=1+1", 5], ["普通", -3]])
        body = "".join(response.response)

    assert body.startswith("\ufeff名称,金额")
    assert "'=1+1,5" in body and "普通,-3" in body
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6-2026.csv" in response.headers["Content-Disposition"]


def test_xlsx_cells_hold_text_not_formulas(app):
    with app.test_request_context():
        response = exports.export_response("xlsx", "ledger", ["name", "amount"], [["=1+1", 5]], title="Ledger")

    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert [c.value for c in sheet[2]] == ["'=1+1", 5]
    assert sheet[2][0].data_type == "s"


def test_an_unknown_format_is_no_page(app):
    from werkzeug.exceptions import NotFound

    with app.test_request_context(), pytest.raises(NotFound):
        exports.export_response("pdf", "x", ["a"], [])
