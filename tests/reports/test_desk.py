"""The auditor's desk, the audit package, and the district's and an organization's reports."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import openpyxl
import pytest

from svcproc.core import files
from svcproc.extensions import db
from svcproc.reports import render, services
from svcproc.reports.models import GeneratedReport, ReportKind
from tests.helpers import login
from tests.reports.conftest import all_names_and_numbers, pdf_text

pytestmark = pytest.mark.usefixtures("shared_connection")


def test_an_auditors_home_is_the_desk(client, report_world, stored_report, count_queries):
    login(client, report_world.users["auditor"])

    with count_queries() as counted:
        page = client.get("/")

    assert page.status_code == 200
    assert report_world.contract.number in page.text and stored_report.code in page.text
    assert "补齐签到表签名" in page.text                       # the open rectification item
    assert f"/contracts/{report_world.contract.id}/audit-package.zip" in page.text
    assert 'action="/audit"' in page.text                   # the audit-trail search
    assert counted.count < 40


def test_the_audit_package_holds_the_report_the_contracts_events_and_a_manifest(client, report_world,
                                                                                stored_report):
    login(client, report_world.users["auditor"])

    response = client.get(f"/contracts/{report_world.contract.id}/audit-package.zip")

    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["audit-events.csv", "manifest.json", "report.pdf"]
    pdf = archive.read("report.pdf")
    assert pdf == files.read(stored_report.file)  # unchanged data: the stored report
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["report"]["code"] == stored_report.code
    assert manifest["report"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert manifest["audit_events"]["sha256"] == hashlib.sha256(archive.read("audit-events.csv")).hexdigest()
    rows = list(csv.DictReader(io.StringIO(archive.read("audit-events.csv").decode("utf-8-sig"))))
    actions = {r["action"] for r in rows}
    assert {"contract.created", "contract.signed", "evaluation.finalized", "finding.added",
            "report.generated"} <= actions
    assert all(r["object_type"] != "beneficiary" for r in rows)
    for secret in all_names_and_numbers():
        assert secret.encode() not in archive.read("manifest.json")


def test_the_audit_events_csv_is_formula_safe(report_world):
    from svcproc.audit.services import append_pending, record
    from svcproc.reports import desk

    record("contract.viewed", actor_name="=cmd|' /C calc'!A0", obj=report_world.contract)
    append_pending(db.session)  # as the commit before a package is built would

    rows = list(csv.reader(io.StringIO(desk.events_csv(report_world.contract).decode("utf-8-sig"))))

    assert ["'=cmd|' /C calc'!A0", "contract.viewed"] == [rows[-1][3], rows[-1][4]]


def test_the_portfolio_report_and_an_organizations_history(client, report_world):
    login(client, report_world.users["procurement"])
    year = report_world.contract.tender.plan.fiscal_year

    report = services.generate(report_world.users["procurement"], ReportKind.PORTFOLIO, year, "zh_CN")
    text = pdf_text(files.read(report.file))
    sheet = client.get(f"/reports/organization/{report_world.org.id}.xlsx")
    portfolio_sheet = client.get(f"/reports/portfolio/{year}.xlsx")

    data = json.loads(render.read_attachment(files.read(report.file)))
    assert data["year"] == year and len(data["contracts"]) >= 2
    assert report_world.contract.number in text and "甲社会工作服务中心" in text
    assert data["organizations"][0]["mean_score"] is not None  # the evaluated organization ranks first
    for secret in all_names_and_numbers():
        assert secret not in text
    book = openpyxl.load_workbook(io.BytesIO(sheet.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert sheet.status_code == 200 and any(report_world.contract.number in r for r in rows)
    portfolio = openpyxl.load_workbook(io.BytesIO(portfolio_sheet.data))
    assert len(portfolio.worksheets) == 4
    assert all(not str(c).startswith("=") for ws in portfolio.worksheets for r in ws.iter_rows(values_only=True)
               for c in r if c is not None)


def test_the_subject_page_lists_reports_and_offers_generation(client, report_world, stored_report):
    login(client, report_world.users["procurement"])

    page = client.get(f"/reports/assessment/{report_world.contract.id}")

    assert page.status_code == 200 and stored_report.code in page.text
    assert f'action="/reports/assessment/{report_world.contract.id}"' in page.text
    assert "&lt;img" in page.text and '<img src="file' not in page.text
    assert client.get("/reports/unknown/1").status_code == 404
    assert db.session.get(GeneratedReport, stored_report.id) is not None
