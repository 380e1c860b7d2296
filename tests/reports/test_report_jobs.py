"""Reports, spreadsheets and audit packages are made by jobs: a request only queues one (it reads
nothing of the record), the job finds the copy kept for the same data or makes and keeps a new one,
and the page then offers the download.

The jobs run here in the test's own transaction, one after the other (`run`); test_jobs.py runs
them in a thread and on RQ.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import gettext as _

from svcproc.core import files, jobs
from svcproc.extensions import db
from svcproc.reports import desk, render
from svcproc.reports.models import AuditPackage, GeneratedReport, ReportFormat
from tests.helpers import audit_events, count, in_page, login, row_counts
from tests.reports.conftest import all_names_and_numbers, pdf_text

pytestmark = pytest.mark.usefixtures("shared_connection")

# What assembling a report reads; a request that only queues a job touches none of it.
RECORD_TABLES = ("service_activity", "activity_participant", "payment", "evaluation_round", "red_flag",
                 "milestone", "beneficiary")
KEPT = ("generated_report", "audit_package", "stored_file", "job", "audit_event")


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """The ids of the jobs requests dispatched, waiting for `run`."""
    waiting: list[str] = []
    monkeypatch.setattr(jobs, "dispatch", lambda job: waiting.append(getattr(job, "id", job)))
    return waiting


def run(queued: list[str]) -> jobs.Job:
    """Run the jobs queued so far; the last one, finished."""
    assert queued, "no job was queued"
    while queued:
        job_id = queued.pop(0)
        jobs.execute(job_id, jobs.Progress(job_id))
    job = db.session.get(jobs.Job, job_id)
    db.session.refresh(job)
    return job


def _job_id(response) -> str:
    assert response.status_code == 303, response.text[:300]
    return re.fullmatch(r"/jobs/([0-9a-f-]+)", response.headers["Location"]).group(1)


def ask(client, queued: list[str], url: str, **form) -> jobs.Job:
    """Post the button's form, then run the job it queued."""
    job_id = _job_id(client.post(url, data=form))
    job = run(queued)
    assert job.id == job_id
    return job


def _year(world) -> int:
    return world.contract.tender.plan.fiscal_year


@pytest.mark.parametrize("url, form", [
    ("/reports/portfolio/{year}", {}), ("/reports/portfolio/{year}", {"format": "xlsx"}),
    ("/reports/organization/{org}", {"format": "xlsx"}), ("/reports/assessment/{contract}", {}),
    ("/contracts/{contract}/audit-package", {}),
])
def test_a_request_only_queues_a_job(client, report_world, queued, count_queries, url, form):
    login(client, report_world.users["auditor"])
    url = url.format(year=_year(report_world), org=report_world.org.id, contract=report_world.contract.id)

    with count_queries() as counted:
        job_id = _job_id(client.post(url, data=form))

    read = " ".join(counted.statements).lower()
    assert not [t for t in RECORD_TABLES if re.search(rf"\b{t}\b", read)]
    assert counted.count <= 10
    assert queued == [job_id] and db.session.get(jobs.Job, job_id).status == jobs.JobStatus.QUEUED
    assert len(audit_events(object_id=job_id)) == 1   # report.requested or audit_package.requested


def test_the_portfolio_job_makes_the_pdf_then_finds_it_again(client, report_world, queued):
    login(client, report_world.users["procurement"])
    year = _year(report_world)

    first = ask(client, queued, f"/reports/portfolio/{year}")
    report = db.session.get(GeneratedReport, first.result["report_id"])
    again = ask(client, queued, f"/reports/portfolio/{year}")

    assert (first.status, first.result["stored_before"]) == (jobs.JobStatus.DONE, False)
    assert report.format == ReportFormat.PDF and report.code and report.job_id == first.id
    assert json.loads(render.read_attachment(files.read(report.file)))["year"] == year
    assert again.result == {"report_id": report.id, "stored_before": True}
    assert count(GeneratedReport, GeneratedReport.kind == report.kind) == 1
    page = client.get(f"/jobs/{again.id}")
    assert in_page(lambda: _("It was already there: the record has not changed since it was generated.")) in page.text
    assert f"/reports/{report.id}/download" in page.text and report.code in page.text
    text = pdf_text(files.read(report.file))
    assert report_world.contract.number in text and "甲社会工作服务中心" in text
    for secret in all_names_and_numbers():
        assert secret not in text


def test_two_jobs_for_the_same_data_keep_one_copy(client, report_world, stored_report, queued, monkeypatch):
    """The second job, having rendered while the first kept its copy, hands back the first's."""
    from svcproc.reports import services

    login(client, report_world.users["procurement"])
    real, calls = services.stored, []

    def not_yet_kept_at_first(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(services, "stored", not_yet_kept_at_first)
    files_before = count(files.StoredFile)

    job = ask(client, queued, f"/reports/assessment/{report_world.contract.id}")

    assert (job.status, job.error) == (jobs.JobStatus.DONE, "")
    assert job.result == {"report_id": stored_report.id, "stored_before": True}
    assert count(GeneratedReport) == 1 and count(files.StoredFile) == files_before
    assert len(calls) == 2


@pytest.mark.parametrize("kind", ["portfolio", "organization"])
def test_a_spreadsheet_is_kept_like_a_pdf_but_without_a_code(client, report_world, queued, kind):
    login(client, report_world.users["auditor"])
    subject = _year(report_world) if kind == "portfolio" else report_world.org.id

    job = ask(client, queued, f"/reports/{kind}/{subject}", format="xlsx")
    report = db.session.get(GeneratedReport, job.result["report_id"])
    download = client.get(f"/reports/{report.id}/download")
    again = ask(client, queued, f"/reports/{kind}/{subject}", format="xlsx")

    assert (report.format, report.code, report.file.kind) == (ReportFormat.XLSX, None, "xlsx")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    cells = [c for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r if c is not None]
    assert report_world.contract.number in cells
    assert not any(str(c).startswith("=") for c in cells)  # typed text never runs as a formula
    assert len(book.worksheets) == (6 if kind == "portfolio" else 1)
    assert again.result == {"report_id": report.id, "stored_before": True}
    page = client.get(f"/jobs/{job.id}")
    assert in_page(lambda: _("Download the spreadsheet")) in page.text and in_page(lambda: _("Verification code")) not in page.text
    listing = client.get(f"/reports/{kind}/{subject}")
    assert f"/reports/{report.id}/download" in listing.text and "(XLSX)" in listing.text
    assert audit_events("report.generated", object_id=str(report.id))[0].changes["format"] == [None, "xlsx"]


@pytest.mark.parametrize("url, form", [
    ("/reports/assessment/{contract}", {"format": "xlsx"}),   # an assessment is a document only
    ("/reports/portfolio/{year}", {"format": "docx"}),
])
def test_no_job_for_a_format_the_report_does_not_have(client, report_world, queued, url, form):
    login(client, report_world.users["procurement"])
    before = row_counts(KEPT)

    response = client.post(url.format(contract=report_world.contract.id, year=_year(report_world)), data=form)

    assert response.status_code == 422 and queued == [] and row_counts(KEPT) == before


def test_the_audit_package_job_keeps_the_zip_and_a_get_downloads_it(client, report_world, stored_report, queued):
    login(client, report_world.users["auditor"])
    contract = report_world.contract
    assert client.get(f"/contracts/{contract.id}/audit-package.zip").status_code == 404  # none built yet
    reports_before = count(GeneratedReport)

    job = ask(client, queued, f"/contracts/{contract.id}/audit-package")
    package = db.session.get(AuditPackage, job.result["package_id"])
    before = row_counts(KEPT)
    response = client.get(f"/contracts/{contract.id}/audit-package.zip")

    assert job.status == jobs.JobStatus.DONE and package.report_id == stored_report.id  # unchanged data
    assert count(GeneratedReport) == reports_before
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.data == files.read(package.file) and package.file.sha256 == hashlib.sha256(response.data).hexdigest()
    assert row_counts(KEPT) == before                                      # a GET makes nothing
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    # The contract's monitoring cases are listed even when there are none (an empty list).
    assert sorted(archive.namelist()) == ["audit-events.csv", "manifest.json", "monitoring/cases.json", "report.pdf"]
    assert json.loads(archive.read("monitoring/cases.json")) == []
    pdf = archive.read("report.pdf")
    assert pdf == files.read(stored_report.file)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["report"]["code"] == stored_report.code
    assert manifest["report"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert manifest["audit_events"]["sha256"] == hashlib.sha256(archive.read("audit-events.csv")).hexdigest()
    rows = list(csv.DictReader(io.StringIO(archive.read("audit-events.csv").decode("utf-8-sig"))))
    assert {"contract.created", "contract.signed", "evaluation.finalized", "finding.added",
            "report.generated"} <= {r["action"] for r in rows}
    assert all(r["object_type"] != "beneficiary" for r in rows)
    for secret in all_names_and_numbers():
        assert secret.encode() not in archive.read("manifest.json")
    assert len(audit_events("audit_package.built", object_id=str(package.id))) == 1
    page = client.get(f"/jobs/{job.id}")
    assert in_page(lambda: _("The audit package is ready.")) in page.text
    assert f"/contracts/{contract.id}/audit-package.zip" in page.text


def test_the_package_brings_a_new_report_when_the_record_changed(client, report_world, stored_report, queued):
    login(client, report_world.users["auditor"])
    report_world.record(activity_date=date(2025, 6, 12), topic="补充记录")
    db.session.flush()

    job = ask(client, queued, f"/contracts/{report_world.contract.id}/audit-package")
    package = db.session.get(AuditPackage, job.result["package_id"])

    assert package.report_id != stored_report.id and package.report.job_id == job.id
    archive = zipfile.ZipFile(io.BytesIO(files.read(package.file)))
    assert archive.read("report.pdf") == files.read(package.report.file)
    events = list(csv.DictReader(io.StringIO(archive.read("audit-events.csv").decode("utf-8-sig"))))
    # The new report's own event is in the package: the report was committed before it was built.
    mine = [e["action"] for e in events if (e["object_type"], e["object_id"]) == ("report", str(package.report_id))]
    assert mine == ["report.generated"]
    assert json.loads(render.read_attachment(archive.read("report.pdf")))["outputs"]["activities"] == 6


def test_package_jobs_are_for_those_who_read_the_audit_trail(client, report_world, queued):
    login(client, report_world.users["auditor"])
    job_id = _job_id(client.post(f"/contracts/{report_world.contract.id}/audit-package"))
    client.post("/logout")
    login(client, report_world.users["procurement"])   # reads reports, not the audit trail

    assert client.get(f"/jobs/{job_id}").status_code == 403
    assert client.post(f"/contracts/{report_world.contract.id}/audit-package").status_code == 403
    assert queued == [job_id]


def test_a_failed_package_job_says_why_and_can_be_retried(client, report_world, queued, monkeypatch):
    login(client, report_world.users["auditor"])

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(desk, "audit_package", broken)
    failed = ask(client, queued, f"/contracts/{report_world.contract.id}/audit-package")
    page = client.get(f"/jobs/{failed.id}")
    retried = client.post(f"/reports/jobs/{failed.id}/retry")

    assert failed.status == jobs.JobStatus.FAILED and count(AuditPackage) == 0
    assert in_page(lambda: _("The audit package could not be built: %(e)s", e="RuntimeError: disk full")) in page.text
    assert f"/reports/jobs/{failed.id}/retry" in page.text
    again = db.session.get(jobs.Job, _job_id(retried))
    assert (again.kind, again.payload, queued) == (failed.kind, failed.payload, [again.id])


def test_the_subject_page_offers_the_pdf_the_spreadsheet_and_the_package(client, report_world, stored_report):
    login(client, report_world.users["auditor"])

    assessment = client.get(f"/reports/assessment/{report_world.contract.id}")
    portfolio = client.get(f"/reports/portfolio/{_year(report_world)}")

    assert f'action="/contracts/{report_world.contract.id}/audit-package"' in assessment.text
    assert 'value="xlsx"' not in assessment.text and 'value="xlsx"' in portfolio.text
    assert stored_report.code in assessment.text
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditPackage)).scalar_one() == 0
