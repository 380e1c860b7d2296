"""A report's key figures (what a reader compares with the paper) are kept with it when it is made,
and read back from the attached data of the reports kept before (the migration)."""
from __future__ import annotations

import importlib.util
import json

import pytest

from svcproc.config import ROOT
from svcproc.extensions import db
from svcproc.reports import figures, services
from svcproc.reports.models import GeneratedReport, ReportFormat, ReportKind
from tests.reports.conftest import KINDS, build_every_kind, pdf_of, report_of

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(scope="module")
def report_built(build_once):
    return build_once(build_every_kind)


@pytest.fixture
def originals(report_built) -> dict[str, bytes]:
    return {kind: pdf_of(report_built, kind) for kind in KINDS}


@pytest.mark.parametrize("kind", ["assessment", "portfolio", "organization"])
def test_the_kept_figures_are_those_of_the_attached_data(report_built, originals, kind):
    report = report_of(report_built, kind)

    assert report.figures == figures.from_pdf(kind, originals[kind])
    assert report.figures == json.loads(json.dumps(report.figures))   # plain JSON values, no objects


def _migration():
    path = ROOT / "migrations" / "versions" / "9b2d4f6a8c13_report_key_figures.py"
    spec = importlib.util.spec_from_file_location("report_key_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_reads_the_figures_of_reports_kept_before_back_from_their_files(
        report_built, report_world, file_storage):
    """Reports made before the figures were kept get them from their PDFs, wherever the file is."""
    sheet = services.generate(None, ReportKind.ORGANIZATION, report_world.org.id, "en", fmt=ReportFormat.XLSX)
    fresh = services.generate(None, ReportKind.ORGANIZATION, report_world.org.id, "zh_CN")  # kept in `file_storage`
    db.session.flush()
    kept = {r.id: r.figures for r in db.session.query(GeneratedReport)}

    found = _migration().figures_of_kept_reports(db.session.connection())

    assert found == kept and fresh.id in found and found[sheet.id] == kept[report_built["kinds"]["organization"]]
