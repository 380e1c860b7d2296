"""The assessment report read back from its PDF: what it says, what it never says, and how it proves itself."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from flask_babel import force_locale, gettext as _
from pypdf import PdfReader

from svcproc.reports import assemble, render
from tests.reports.conftest import all_names_and_numbers, pdf_text

pytestmark = pytest.mark.usefixtures("shared_connection")

SECTIONS = ("Summary", "Project and procurement record", "Contract and amendments", "Milestones and payments",
            "Outputs against targets", "Beneficiary profile", "Indicator scores by party",
            "Findings and rectification", "Red flags and explanations", "Sources")


def _zh(text: str, **values) -> str:
    with force_locale("zh_CN"):
        return _(text, **values)


def test_the_report_has_every_section_in_chinese_with_the_contracts_record(pdf_bytes, report_world):
    text = pdf_text(pdf_bytes)

    for heading in SECTIONS:
        assert _zh(heading) in text, heading
    assert report_world.contract.number in text
    assert "甲社会工作服务中心" in text and "蓉城第三方评估中心" in text and "末期评估" in text
    assert "签到表缺少服务对象签名" in text            # the finding
    assert "个案探访与社区活动为同一地点" in text        # the red flag's explanation
    assert re.search(r"[\u4e00-\u9fff]", text)


def test_every_page_carries_the_code_and_its_number_of_pages(pdf_bytes, stored_report):
    pages = PdfReader(io.BytesIO(pdf_bytes)).pages

    assert 6 <= len(pages) <= 12
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert stored_report.code in text
        assert _zh("Page %(page)s of %(pages)s", page=number, pages=len(pages)) in text


def test_no_name_and_no_identity_number_anywhere(pdf_bytes):
    attached = render.read_attachment(pdf_bytes).decode("utf-8")
    text = pdf_text(pdf_bytes)

    for secret in all_names_and_numbers():
        assert secret not in text and secret not in attached, secret
        assert secret.encode("utf-8") not in pdf_bytes
        assert secret.encode("utf-16-be") not in pdf_bytes
    profile = json.loads(attached)["profile"]
    assert profile["total"] == 4 and sum(profile["gender"].values()) == 4


def test_the_attached_data_hashes_to_the_printed_code(pdf_bytes, stored_report, report_world):
    attached = render.read_attachment(pdf_bytes)
    sha256 = hashlib.sha256(attached).hexdigest()

    assert sha256 == stored_report.data_sha256
    assert assemble.code_of(sha256) == stored_report.code
    data = json.loads(attached)
    assert assemble.canonical(data) == attached
    assert data["contract"]["number"] == report_world.contract.number
    fresh = assemble.canonical(assemble.assessment_data(report_world.contract.id, "zh_CN"))
    assert fresh == attached


def test_the_pdf_declares_pdf_a_3b(pdf_bytes):
    reader = PdfReader(io.BytesIO(pdf_bytes))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")

    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert list(reader.attachments) == [render.ATTACHMENT_NAME]
    fonts = [ref.get_object() for ref in reader.pages[0]["/Resources"]["/Font"].values()]
    descriptors = [f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object() for f in fonts]
    assert descriptors and all("/FontFile2" in d for d in descriptors)  # embedded, not referenced
    assert any("WenQuanYi" in str(f["/BaseFont"]) or "SvcprocCJK" in str(f["/BaseFont"]) for f in fonts)


def test_markup_typed_by_people_is_printed_not_followed(pdf_bytes):
    text = pdf_text(pdf_bytes).replace("\n", " ")

    assert 'src="file:///etc/passwd"' in text
    assert b"root:x:0:0" not in pdf_bytes


def test_the_scores_come_only_from_the_finalized_round(pdf_bytes):
    data = json.loads(render.read_attachment(pdf_bytes))

    assert data["evaluation"]["finalized"] is True
    assert data["evaluation"]["grade"] in ("excellent", "good", "pass", "fail") and data["evaluation"]["total"]
    assert set(data["evaluation"]["leaves"][0]["by_party"]) == {"第三方", "区民政局"}


@pytest.mark.parametrize("text, css", [
    ("Page \x01 of \x02", '"Page " counter(page) " of " counter(pages)'),
    ("第 \x01 页 / 共 \x02 页", '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'),
    ('"\x01\\', '"\\"" counter(page) "\\\\"'),
])
def test_page_numbers_become_css_counters_in_either_language(text, css):
    assert render.counter_content(text) == css


def test_a_code_typed_from_paper_is_read_in_the_stored_form():
    assert assemble.normalise_code("bbf1 adc0-671d 7af6") == "BBF1-ADC0-671D-7AF6"
    assert assemble.code_of("ab" * 32) == "ABAB-ABAB-ABAB-ABAB"


def test_score_tables_say_full_marks_and_points_scored_not_the_same_word_twice(pdf_bytes):
    text = pdf_text(pdf_bytes)

    assert "满分" in text and "得分" in text
    assert "分值 分值" not in text and "项目 录入" not in text


def test_the_file_is_named_by_the_contracts_number_and_title(stored_report, report_world):
    from svcproc.reports.services import download_stem

    name = stored_report.file.original_name

    c = report_world.contract
    assert name == download_stem(f"评估报告 {c.number} {c.title}") + f"-{stored_report.code}.pdf"
    assert name.startswith(f"评估报告 {c.number} ") and "/" not in name


@pytest.mark.parametrize("title, stem", [
    ("评估报告 HT/2026/1 社区长者服务", "评估报告 HT_2026_1 社区长者服务"),
    ('a:b*c?"d"<e>|f\\g', "a_b_c__d__e__f_g"),
    ("  .  ", "report"),
])
def test_a_title_becomes_a_file_name_without_separators(title, stem):
    from svcproc.reports.services import download_stem

    assert download_stem(title) == stem
