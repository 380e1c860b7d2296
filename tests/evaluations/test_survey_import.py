"""Satisfaction surveys imported through the round page: one row per respondent, counted per group;
CSV in UTF-8 (with a BOM) or GB18030 and XLSX; one bad row refuses the whole file and nothing is
stored; the sample file downloads and imports as it is."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from flask_babel import gettext as _

from svcproc.evaluations.models import SatisfactionSurvey
from tests.builders.evaluations import count_of, unchanged
from tests.builders.files import pdf_bytes
from tests.helpers import audit_events, in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")

ROWS = [["服务对象", "满意"], ["服务对象", "5"], ["服务对象", "不满意"], ["服务对象家属", "是"], ["服务对象家属", "2"],
        ["社区居委会", "非常满意"]]
EXPECTED = {"服务对象": (2, 3), "服务对象家属": (1, 2), "社区居委会": (1, 1)}   # satisfied, surveyed


def csv_file(rows, encoding="utf-8-sig", header=("受访群体", "是否满意")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows, header=("受访群体", "是否满意")) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def planned(world, client):
    round_ = world.prepared(survey=None)
    assert login(client, world.staff).status_code == 303
    return round_


def _import(client, round_, data: bytes, name: str):
    return client.post(f"/evaluations/rounds/{round_.id}/surveys/import",
                       data={"leaf_key": "b.sat", "surveyed_on": "2025-06-10", "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _counts(round_) -> dict:
    return {s.group_name: (s.satisfied, s.surveyed) for s in round_.surveys}


@pytest.mark.parametrize("name, data", [
    ("满意度调查.csv", csv_file(ROWS)),
    ("满意度调查.csv", csv_file(ROWS, encoding="gb18030")),
    ("满意度调查.xlsx", xlsx_file(ROWS)),
], ids=["utf8-bom", "gb18030", "xlsx"])
def test_a_file_of_respondents_is_counted_per_group(client, planned, name, data):
    response = _import(client, planned, data, name)

    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    assert _counts(planned) == EXPECTED
    assert {s.file.original_name for s in planned.surveys} == {name}
    assert len(audit_events("evaluation.survey_added")) == 3
    page = client.get(f"/evaluations/rounds/{planned.id}").get_data(as_text=True)
    assert "服务对象家属" in page and name in page


def test_the_imported_file_downloads_from_the_round(client, planned):
    data = csv_file(ROWS)
    _import(client, planned, data, "满意度调查.csv")

    response = client.get(f"/evaluations/surveys/{planned.surveys[0].id}/file")

    assert response.status_code == 200 and response.get_data() == data


@pytest.mark.parametrize("name, data, row, message", [
    ("s.csv", csv_file(ROWS[:2] + [["服务对象", "还行"]] + ROWS[2:]), 4,
     lambda: _("Row %(n)d: %(a)s is not an answer (%(words)s, yes/no or a rating from 1 to 5).", n=4, a="还行",
               words="满意/不满意")),
    ("s.csv", csv_file(ROWS + [["", "满意"]]), 8, lambda: _("Row %(n)d: the group is empty.", n=8)),
    ("s.csv", csv_file([["=HYPERLINK(\"http://x\")", "满意"]] + ROWS), 2,
     lambda: _("Row %(n)d: formulas are not accepted.", n=2)),
    ("s.xlsx", xlsx_file(ROWS + [["=A2", "满意"]]), 8, lambda: _("Row %(n)d: formulas are not accepted.", n=8)),
    ("s.xlsx", xlsx_file(ROWS + [["服务对象", "=1+4"]]), 8, None),
], ids=["bad-answer", "no-group", "csv-formula", "xlsx-formula-group", "xlsx-formula-answer"])
def test_one_bad_row_refuses_the_whole_file_with_its_row_number(client, planned, name, data, row, message):
    with unchanged(planned):
        response = _import(client, planned, data, name)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    if message:
        assert in_page(message) in html
    else:
        assert in_page(lambda: _("Row %(n)d: %(a)s is not an answer (%(words)s, yes/no or a rating from 1 to 5).",
                                 n=row, a="=1+4", words="满意/不满意")) in html
    assert count_of(SatisfactionSurvey) == 0


@pytest.mark.parametrize("name, data", [
    ("满意度.pdf", pdf_bytes()),
    ("满意度.csv", pdf_bytes()),
    ("满意度.xlsx", b"not a workbook at all"),
    ("满意度.csv", csv_file(ROWS * 130_000)),
    ("满意度.csv", csv_file(ROWS, header=("姓名", "评价"))),
    ("满意度.csv", b""),
], ids=["pdf", "pdf-named-csv", "fake-xlsx", "oversize", "no-header", "empty"])
def test_a_file_of_the_wrong_kind_size_or_shape_is_refused(client, planned, name, data):
    with unchanged(planned):
        response = _import(client, planned, data, name)

    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert count_of(SatisfactionSurvey) == 0


def test_the_sample_file_downloads_and_imports_cleanly(client, planned):
    sample = client.get("/evaluations/surveys/template.csv")

    response = _import(client, planned, sample.get_data(), "样例.csv")

    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    assert sample.get_data().startswith("\ufeff受访群体".encode())
    assert response.status_code == 303
    assert _counts(planned) == {"服务对象": (1, 2), "服务对象家属": (1, 1), "社区居委会": (1, 1)}


@pytest.mark.parametrize("who", ["manager", "tp1", "auditor"])
def test_only_the_bureau_imports_surveys(make_client, world, who):
    round_ = world.prepared(survey=None)
    other = make_client()
    login(other, world.user(who))

    with unchanged(round_):
        response = _import(other, round_, csv_file(ROWS), "s.csv")

    assert response.status_code == 403


def test_surveys_cannot_be_imported_once_scoring_is_open(client, world):
    round_ = world.scoring()
    login(client, world.staff)

    with unchanged(round_, *round_.surveys):
        response = _import(client, round_, csv_file(ROWS), "s.csv")

    assert response.status_code == 409
