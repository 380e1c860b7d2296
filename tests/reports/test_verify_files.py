"""Verifiable paper, for every kind of report (the assessment, the district portfolio, an organization's
history, and the assessment as it travels inside an audit package).

A file handed in is compared twice: the whole file with the SHA-256 of the copy kept, its attached data
with the report's. A figure changed on a printed page while the attachment is kept is refused as an
altered file; an altered attachment, or both, are refused as such; the genuine file passes, on the
public page and on the command line alike. The page shows the report's key figures as they were kept
(it never assembles a report again).
"""
from __future__ import annotations

import io
import json
from datetime import date

import pytest
from flask_babel import force_locale, gettext as _
from pypdf import PdfReader

from svcproc.extensions import db
from svcproc.reports import figures, render, services
from svcproc.reports.models import GeneratedReport, ReportKind
from svcproc.reports.services import Verdict
from tests.helpers import audit_events, in_page, row_counts
from tests.reports.alter import alter_a_figure, alter_both, alter_the_data, text_of_page
from tests.reports.conftest import KINDS, build_every_kind, pdf_of, report_of

pytestmark = pytest.mark.usefixtures("shared_connection")

ALTERATIONS = {"figure": (alter_a_figure, Verdict.FILE_ALTERED), "data": (alter_the_data, Verdict.DATA_ALTERED),
               "both": (alter_both, Verdict.BOTH_ALTERED)}


@pytest.fixture(scope="module")
def report_built(build_once):
    return build_once(build_every_kind)


@pytest.fixture
def originals(report_built) -> dict[str, bytes]:
    return {kind: pdf_of(report_built, kind) for kind in KINDS}


# --- one verification, four verdicts ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_genuine_file_passes(report_built, originals, kind):
    report = report_of(report_built, kind)

    result = services.verify_file(originals[kind])

    assert result.verdict == Verdict.GENUINE and result.genuine
    assert result.report.id == report.id and result.file_matches and result.data_matches


@pytest.mark.parametrize("kind", KINDS)
def test_a_figure_changed_on_a_page_with_the_attachment_kept_is_refused_as_an_altered_file(
        report_built, originals, kind):
    altered = alter_a_figure(originals[kind])
    assert text_of_page(altered) != text_of_page(originals[kind])               # the page says something else
    assert render.read_attachment(altered) == render.read_attachment(originals[kind])  # the data is as it was

    result = services.verify_file(altered)

    assert result.verdict == Verdict.FILE_ALTERED and not result.genuine
    assert result.report.id == report_of(report_built, kind).id
    assert result.data_matches and not result.file_matches


@pytest.mark.parametrize("kind", KINDS)
def test_an_altered_attachment_is_refused_and_the_pages_are_recognised_as_the_kept_ones(
        report_built, originals, kind):
    altered = alter_the_data(originals[kind])

    result = services.verify_file(altered)

    assert result.verdict == Verdict.DATA_ALTERED and not result.genuine
    assert result.report.id == report_of(report_built, kind).id
    assert not result.data_matches and not result.file_matches


@pytest.mark.parametrize("kind", KINDS)
def test_pages_and_attachment_altered_together_are_refused_as_both(report_built, originals, kind):
    result = services.verify_file(alter_both(originals[kind]))

    assert result.verdict == Verdict.BOTH_ALTERED and result.report.id == report_of(report_built, kind).id


def test_a_file_whose_code_was_stripped_is_still_found_by_its_data(report_built, originals):
    """Metadata removed and the page altered: the attached data still names the report."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(alter_a_figure(originals["portfolio"]))))
    writer.add_metadata({"/Keywords": ""})
    out = io.BytesIO()
    writer.write(out)

    result = services.verify_file(out.getvalue())

    assert result.verdict == Verdict.FILE_ALTERED and result.report.id == report_of(report_built, "portfolio").id


def test_a_pdf_of_another_system_is_unknown(report_built):
    from tests.builders.files import pdf_bytes as plain_pdf

    result = services.verify_file(plain_pdf("另一份文件"))

    assert result.verdict == Verdict.UNKNOWN and result.report is None and not result.names_a_report


def test_verifying_writes_nothing(report_built, originals):
    before, events = row_counts(), len(audit_events())

    for kind in ("assessment", "portfolio"):
        services.verify_file(alter_both(originals[kind]))
        services.verify_file(originals[kind])
    db.session.flush()

    assert row_counts() == before and len(audit_events()) == events


# --- the command line gives the same verdicts ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alteration", [None, *ALTERATIONS])
def test_the_command_line_gives_the_same_verdict(cli, report_built, originals, tmp_path, kind, alteration):
    content = originals[kind] if alteration is None else ALTERATIONS[alteration][0](originals[kind])
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    expected = services.verify_file(content)
    with force_locale("zh_CN"):
        message = expected.message

    result = cli("report", "verify", str(path))

    assert result.exit_code == (0 if alteration is None else 1), result.output
    assert message in result.output and report_of(report_built, kind).code in result.output


def test_the_command_line_speaks_english_when_asked(cli, originals, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(alter_a_figure(originals["assessment"]))

    result = cli("report", "verify", str(path), "--locale", "en")

    assert result.exit_code == 1
    assert "Not genuine: the file was altered." in result.output
    assert "Contract amount: ¥" in result.output


def test_the_command_line_refuses_a_file_of_another_system(cli, tmp_path):
    from tests.builders.files import pdf_bytes as plain_pdf

    path = tmp_path / "other.pdf"
    path.write_bytes(plain_pdf("x"))

    result = cli("report", "verify", str(path), "--locale", "en")

    assert result.exit_code == 1 and "Unknown: the file carries neither report data" in result.output


# --- the public page ---------------------------------------------------------------------------------


def _upload(client, content: bytes, name: str = "报告.pdf"):
    return client.post("/verify", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def _figures_in_page(report: GeneratedReport, page: str) -> None:
    with force_locale("zh_CN"):
        rows = figures.rows(report.figures)
    assert len(rows) >= 6
    for name, value in rows:
        assert str(in_page(name)) in page and str(in_page(value)) in page, (name, value)


def _zh_grade(grade: str) -> str:
    from svcproc.reports.labels import label

    with force_locale("zh_CN"):
        return label("grade", grade)


# Figures a reader finds on the paper of each kind, as the page must show them.
EXPECTED = {
    "assessment": lambda data: [data["contract"]["number"], data["contract"]["organization"],
                                f"{data['evaluation']['total']} / 100", _zh_grade(data["evaluation"]["grade"]),
                                f"{data['contract']['start_date']} – {data['contract']['end_date']}"],
    "portfolio": lambda data: [str(data["year"]), data["report"]["bureau"]],
    "organization": lambda data: [data["organization"]["name"], data["organization"]["credit_code"]],
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_page_shows_the_key_figures_of_a_code(client, report_built, originals, kind):
    report = report_of(report_built, kind)
    data = json.loads(render.read_attachment(originals[kind]))

    page = client.get(f"/verify/{report.code}")

    assert page.status_code == 200 and 'class="flash flash-success"' in page.text
    _figures_in_page(report, page.text)
    for value in EXPECTED["assessment" if kind == "audit_package" else kind](data):
        assert str(in_page(value)) in page.text, value
    assert report.data_sha256 in page.text and report.file.sha256 in page.text


@pytest.mark.parametrize("kind", KINDS)
def test_the_page_passes_the_genuine_file_and_shows_its_figures(client, report_built, originals, kind):
    page = _upload(client, originals[kind])

    assert page.status_code == 200 and 'class="flash flash-success"' in page.text
    assert in_page(lambda: services.verify_file(originals[kind]).message) in page.text
    _figures_in_page(report_of(report_built, kind), page.text)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alteration", list(ALTERATIONS))
def test_the_page_refuses_an_altered_file_and_says_what_differs(client, report_built, originals, kind,
                                                                 alteration):
    make, verdict = ALTERATIONS[alteration]
    content = make(originals[kind])
    report = report_of(report_built, kind)

    page = _upload(client, content)

    result = services.verify_file(content)
    assert result.verdict == verdict
    assert page.status_code == 200 and 'class="flash flash-error"' in page.text
    assert in_page(lambda: result.message) in page.text
    _figures_in_page(report, page.text)   # what the paper should say, beside the refusal
    assert report.file.sha256 in page.text and result.file_sha256 in page.text


def test_the_page_speaks_english_too(client, originals):
    client.post("/lang/en")

    page = _upload(client, alter_the_data(originals["portfolio"]))

    assert "Not genuine: the data attached to the file was altered." in page.text
    assert "Fiscal year" in page.text and "Budget" in page.text


@pytest.mark.parametrize("data, message", [
    ({}, lambda: _("Choose the report's PDF file.")),
    ({"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n not a report"), "scan.pdf")},
     lambda: _("This file is not a PDF. Choose the report's PDF file as it was downloaded or handed to you.")),
])
def test_the_page_refuses_what_is_not_a_pdf_beside_the_field(client, data, message):
    before = row_counts()

    page = client.post("/verify", data=data, content_type="multipart/form-data")

    assert page.status_code == 422 and in_page(message) in page.text and 'class="error"' in page.text
    assert row_counts() == before


def test_the_page_reads_a_bounded_number_of_statements(client, report_built, originals, count_queries):
    code = report_of(report_built, "portfolio").code
    with count_queries() as by_code:
        assert client.get(f"/verify/{code}").status_code == 200
    with count_queries() as by_file:
        assert _upload(client, alter_both(originals["portfolio"])).status_code == 200

    # the report by its code, a newer one's time, its file's row (and the kept copy's chunks, when
    # files are kept in the database)
    assert by_code.count == 3
    assert by_file.count <= 4


def test_the_figures_are_read_from_the_report_never_assembled_again(client, report_built, monkeypatch):
    def no_assembly(*args, **kwargs):
        raise AssertionError("the verification page assembled a report")

    monkeypatch.setattr(services.assemble, "data_for", no_assembly)
    for kind in ("assessment", "portfolio", "organization"):
        assert client.get(f"/verify/{report_of(report_built, kind).code}").status_code == 200


def test_the_page_names_a_newer_report_of_the_same_subject(client, report_built, report_world, clock):
    old = report_of(report_built, "assessment")
    clock.advance(days=1)
    report_world.record(activity_date=date(2025, 6, 12), topic="补充记录")
    newer = services.generate(None, ReportKind.ASSESSMENT, old.subject_id, old.locale)

    page = client.get(f"/verify/{old.code}")

    assert newer.id != old.id and services.verify_code(old.code).newer_at == newer.generated_at
    assert 'class="flash flash-success"' in page.text and newer.code not in page.text
    with force_locale("zh_CN"):
        from svcproc.core.formatting import local_datetime

        assert local_datetime(newer.generated_at) in page.text
