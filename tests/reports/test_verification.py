"""A printed or downloaded report proves itself: the public /verify page, `svcproc report verify`, the
stored copy handed back for unchanged data, and a renderer that fetches nothing outside the app."""
from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from svcproc.core import files
from svcproc.extensions import db
from svcproc.reports import assemble, render, services
from svcproc.reports.models import GeneratedReport, ReportFormat, ReportKind
from tests.helpers import audit_events, count

pytestmark = pytest.mark.usefixtures("shared_connection")


def _tampered(pdf: bytes) -> bytes:
    """The same pages, with the attached data changed (a higher amount paid)."""
    data = json.loads(render.read_attachment(pdf))
    data["contract"]["paid_fen"] += 100_000
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(render.ATTACHMENT_NAME, assemble.canonical(data))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_public_page_says_a_printed_code_is_genuine_and_the_record_unchanged(client, stored_report):
    typed = stored_report.code.lower().replace("-", " ")   # as read off paper

    redirect = client.get("/verify", query_string={"code": typed})
    page = client.get(redirect.headers["Location"])

    assert redirect.status_code == 303 and page.status_code == 200
    assert stored_report.title.split("<")[0] in page.text and stored_report.code in page.text
    assert stored_report.data_sha256 in page.text
    assert 'class="flash flash-success"' in page.text and "file:///etc/passwd\">" not in page.text


def test_the_public_page_says_when_the_record_changed_since(client, stored_report, report_world):
    report_world.record(activity_date=date(2025, 6, 12), topic="补充记录")
    db.session.flush()

    result = services.verify_code(stored_report.code)

    assert result.genuine and result.changed
    assert services.verify_code(stored_report.code).report.id == stored_report.id


def test_an_unknown_code_is_not_genuine(client, stored_report):
    page = client.get("/verify/0000-0000-0000-0000")

    assert page.status_code == 200 and 'class="flash flash-error"' in page.text


def test_the_command_line_verifies_a_genuine_report(cli, pdf_bytes, stored_report, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes)

    result = cli("report", "verify", str(path))

    assert result.exit_code == 0, result.output
    assert "Genuine" in result.output and stored_report.code in result.output and "unchanged" in result.output


def test_the_command_line_refuses_a_tampered_report(cli, pdf_bytes, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(_tampered(pdf_bytes))

    result = cli("report", "verify", str(path))

    assert result.exit_code == 1 and "NOT GENUINE" in result.output


def test_the_command_line_refuses_a_pdf_without_report_data(cli, tmp_path):
    from tests.builders.files import pdf_bytes as plain_pdf

    path = tmp_path / "other.pdf"
    path.write_bytes(plain_pdf("x"))

    assert cli("report", "verify", str(path)).exit_code == 1


def test_the_command_line_writes_the_stored_report_for_unchanged_data(cli, report_world, stored_report, tmp_path):
    path = tmp_path / "out.pdf"
    before = count(GeneratedReport)

    result = cli("report", "assessment", report_world.contract.number, "-o", str(path))

    assert result.exit_code == 0, result.output
    assert stored_report.code in result.output and count(GeneratedReport) == before
    assert path.read_bytes() == files.read(stored_report.file)


def test_asking_again_for_unchanged_data_gives_the_stored_report(report_world, stored_report):
    staff = report_world.users["procurement"]
    before = count(GeneratedReport)

    again = services.generate(staff, ReportKind.ASSESSMENT, report_world.contract.id, "zh_CN")

    assert again.id == stored_report.id and count(GeneratedReport) == before


def test_a_pdf_is_verified_against_pdfs_only(stored_report, report_world):
    """A spreadsheet of the same data shares its SHA-256 but has no code: the PDF still finds its own row."""
    sheet = services.generate(None, ReportKind.ORGANIZATION, report_world.org.id, "zh_CN", fmt=ReportFormat.XLSX)
    pdf = services.generate(None, ReportKind.ORGANIZATION, report_world.org.id, "zh_CN")

    result = services.verify_pdf(files.read(pdf.file))

    assert sheet.data_sha256 == pdf.data_sha256 and sheet.code is None
    assert result.genuine and result.report.id == pdf.id and not result.changed


def test_generating_is_audited(report_world, stored_report):
    events = audit_events("report.generated", object_id=str(stored_report.id))

    assert len(events) == 1 and events[0].changes["code"] == [None, stored_report.code]


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "http://127.0.0.1:9/x.css", "https://example.com/font.ttf",
    "data:text/css,body{}", "svcproc:static/../../../../etc/passwd", "svcproc:static/../svcproc/config.py",
    "svcproc:font/../../etc/passwd", "ftp://example.com/x",
])
def test_the_fetcher_refuses_anything_but_the_apps_own_files(app, url):
    fetcher = render.make_fetcher()

    with pytest.raises(render.RefusedURL):
        fetcher.fetch(url)


def test_the_fetcher_serves_the_report_stylesheet_and_the_font(app):
    fetcher = render.make_fetcher()

    assert b"@page" in fetcher.fetch("svcproc:static/css/report.css").read()
    assert len(fetcher.fetch(render.CJK_FONT_URL).read()) > 1_000_000


def test_raw_markup_in_a_template_still_cannot_reach_a_file(app, monkeypatch, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: url(svcproc-secret) }")
    made = []
    real = render.make_fetcher
    monkeypatch.setattr(render, "make_fetcher", lambda: made.append(real()) or made[-1])
    html = (f'<html><head><link rel="stylesheet" href="file://{secret}"></head><body>'
            f'<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png"><p>正文</p></body></html>')

    pdf = render.html_to_pdf(html, {"report": {"kind": "test"}}, generated_at=datetime(2025, 6, 16, 2, 0))

    assert pdf.startswith(b"%PDF")
    assert set(made[0].refused) >= {f"file://{secret}", "file:///etc/passwd", "http://127.0.0.1:9/x.png"}
    assert b"svcproc-secret" not in pdf and b"root:" not in pdf
    assert Path("/etc/passwd").exists()


def test_the_command_line_writes_the_report_in_english_too(cli, report_world, tmp_path):
    from tests.reports.conftest import pdf_text

    path = tmp_path / "en.pdf"

    result = cli("report", "assessment", report_world.contract.number, "-o", str(path), "--locale", "en")

    assert result.exit_code == 0, result.output
    text = pdf_text(path.read_bytes())
    assert "Assessment report" in text and "Page 1 of " in text and "Indicator scores by party" in text
    assert json.loads(render.read_attachment(path.read_bytes()))["report"]["locale"] == "en"
