"""The auditor's desk, the audit events of a package, and the district's and an organization's reports."""
from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest

from svcproc.core import files, versions
from svcproc.extensions import db
from svcproc.reports import assemble, desk, render, services
from svcproc.reports.models import GeneratedReport, ReportFormat, ReportKind
from tests.helpers import login
from tests.reports.builders import add_contracts, add_people
from tests.reports.conftest import all_names_and_numbers, pdf_text

pytestmark = pytest.mark.usefixtures("shared_connection")


def test_an_auditors_home_is_the_desk(client, report_world, stored_report, count_queries):
    login(client, report_world.users["auditor"])
    year = report_world.contract.tender.plan.fiscal_year

    with count_queries() as counted:
        page = client.get("/")

    assert page.status_code == 200
    assert report_world.contract.number in page.text and stored_report.code in page.text
    assert "补齐签到表签名" in page.text                       # the open rectification item
    assert f'action="/contracts/{report_world.contract.id}/audit-package"' in page.text   # build a package
    assert f"/contracts/{report_world.contract.id}/audit-package.zip" not in page.text    # none built yet
    assert f'action="/reports/portfolio/{year}"' in page.text and 'value="xlsx"' in page.text
    assert 'action="/audit"' in page.text                   # the audit-trail search
    assert counted.count <= 12


def test_the_desk_takes_as_many_statements_for_many_contracts_as_for_few(client, report_world, stored_report,
                                                                        count_queries):
    """Worked out afresh after each change (the lists are kept until then, core/versions.py)."""
    versions.forget_kept()  # an earlier test of the module may have left the desk kept
    login(client, report_world.users["auditor"])
    with count_queries() as few:
        client.get("/desk")
    people = add_people([report_world.org.id, report_world.other_org.id], report_world.communities[0].id)
    add_contracts(2033, 8, report_world.org, report_world.manager, report_world.communities[0].id, people, "D")
    services.build_package(report_world.users["auditor"], report_world.contract, stored_report)

    with count_queries() as many:
        page = client.get("/desk")
    with count_queries() as kept:
        again = client.get("/desk")

    assert "D-C08" in page.text and f"/contracts/{report_world.contract.id}/audit-package.zip" in page.text
    assert few.count == many.count
    # Each list selects its columns: no contract drags its tender, plan, organization and areas along.
    listed = [s for s in many.statements if "FROM contract" in s or "FROM red_flag" in s]
    assert listed and not any("tender" in s or "area" in s for s in listed)
    # The next page reads none of the lists again, and shows the same.
    def unsealed(text: str) -> str:  # each page has its own nonce and its own signed CSRF token
        text = re.sub(r'nonce="[^"]+"', "", text)
        return re.sub(r'(csrf[-_]token"[^>]*?(?:content|value))="[^"]+"', r"\1", text)

    assert unsealed(again.text) == unsealed(page.text) and kept.count < many.count
    assert not [s for s in kept.statements if "FROM contract" in s or "FROM red_flag" in s]


def test_the_desks_lists_are_bounded(app, report_world, monkeypatch):
    people = add_people([report_world.org.id, report_world.other_org.id], report_world.communities[0].id)
    add_contracts(2033, 8, report_world.org, report_world.manager, report_world.communities[0].id, people, "D")
    monkeypatch.setattr(desk, "DESK_ROWS", 3)

    with app.test_request_context():
        shown = desk.overview()

    assert len(shown["contracts"]) == 3 and len(shown["flags"]) == 3
    assert [c.number for c in shown["contracts"]] == ["D-C08", "D-C07", "D-C06"]
    assert shown["object_types"] == desk._object_types() and "contract" in shown["object_types"]


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
    staff = report_world.users["procurement"]

    report = services.generate(staff, ReportKind.PORTFOLIO, year, "zh_CN")
    sheet = services.generate(staff, ReportKind.ORGANIZATION, report_world.org.id, "zh_CN", fmt=ReportFormat.XLSX)
    text = pdf_text(files.read(report.file))
    download = client.get(f"/reports/{sheet.id}/download")

    data = json.loads(render.read_attachment(files.read(report.file)))
    assert data["year"] == year and len(data["contracts"]) >= 2
    assert report_world.contract.number in text and "甲社会工作服务中心" in text
    assert data["organizations"][0]["mean_score"] is not None  # the evaluated organization ranks first
    for secret in all_names_and_numbers():
        assert secret not in text
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert download.status_code == 200 and any(report_world.contract.number in r for r in rows)
    assert sheet.code is None and sheet.data_sha256 == assemble.digest(
        services.current_data(ReportKind.ORGANIZATION, report_world.org.id, "zh_CN"))


def test_the_subject_page_lists_reports_and_offers_generation(client, report_world, stored_report):
    login(client, report_world.users["procurement"])

    page = client.get(f"/reports/assessment/{report_world.contract.id}")

    assert page.status_code == 200 and stored_report.code in page.text
    assert f'action="/reports/assessment/{report_world.contract.id}"' in page.text
    assert "&lt;img" in page.text and '<img src="file' not in page.text
    assert client.get("/reports/unknown/1").status_code == 404
    assert db.session.get(GeneratedReport, stored_report.id) is not None
