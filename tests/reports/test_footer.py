"""Every page of every PDF report carries the absolute verification address, built from the
PUBLIC_URL setting, and a QR code of that address drawn in inline SVG (the renderer fetches nothing),
so a reader of the paper can follow it."""
from __future__ import annotations

import io
import json
import re

import pytest
import segno
from pypdf import PdfReader

from svcproc.config import load_config
from svcproc.reports import render
from tests.reports.conftest import KINDS, build_every_kind, pdf_of, report_of

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(scope="module")
def report_built(build_once):
    return build_once(build_every_kind)


@pytest.fixture
def originals(report_built) -> dict[str, bytes]:
    return {kind: pdf_of(report_built, kind) for kind in KINDS}


def _qr_modules(svg: str) -> list[list[bool]]:
    """The dark modules of a QR code drawn by segno's SVG path (one horizontal line per run)."""
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    width, height = int(view.group(1)), int(view.group(2))
    grid = [[False] * width for _ in range(height)]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHhVv])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        elif command == "h":
            for column in range(int(x), int(x + float(a))):
                grid[int(y)][column] = True
            x += float(a)
    return grid


def _segno_modules(url: str, border: int) -> list[list[bool]]:
    return [[bool(cell) for cell in row] for row in segno.make(url, error="m", micro=False).matrix_iter(border=border)]


@pytest.mark.parametrize("kind", ["assessment", "portfolio", "organization"])
def test_every_page_carries_the_absolute_address_and_its_qr_code(app, report_built, originals, kind, monkeypatch):
    report = report_of(report_built, kind)
    url = f"{app.config['PUBLIC_URL']}/verify/{report.code}"
    data = json.loads(render.read_attachment(originals[kind]))

    html = render.render_html(kind, data, code=report.code, generated_at=report.generated_at)

    assert url.startswith("http://") and html.count(f'href="{url}"') == 1
    svg = re.search(r'<svg[^>]*class="qr".*?</svg>', html, re.S).group(0)
    assert _qr_modules(svg) == _segno_modules(url, border=2)   # the drawn code reads back as the address
    reader = PdfReader(io.BytesIO(originals[kind]))
    for page in reader.pages:
        assert url in page.extract_text().replace("\n", "")
        links = [a.get_object()["/A"]["/URI"] for a in page.get("/Annots", []) if "/A" in a.get_object()]
        assert url in links
    assert report.code in str(reader.metadata.get("/Keywords"))


def test_the_qr_code_lies_in_the_bottom_margin_of_every_page(app, report_built, originals):
    """Laid out by WeasyPrint: one 18 mm code per page, inside the page, below the text."""
    from weasyprint import HTML

    report = report_of(report_built, "assessment")
    data = json.loads(render.read_attachment(originals["assessment"]))
    html = render.render_html("assessment", data, code=report.code, generated_at=report.generated_at)
    document = HTML(string=html, base_url="svcproc:static/", url_fetcher=render.make_fetcher()).render()
    mm = 96 / 25.4

    def svg_boxes(box):
        found = [box] if type(box).__name__ == "BlockReplacedBox" and box.width == pytest.approx(18 * mm) else []
        for child in getattr(box, "children", None) or []:
            found += svg_boxes(child)
        return found

    assert len(document.pages) == len(PdfReader(io.BytesIO(originals["assessment"])).pages)
    for page in document.pages:
        boxes = svg_boxes(page._page_box)
        assert len(boxes) == 1
        box = boxes[0]
        assert box.position_y >= page.height - 26 * mm and box.position_y + box.height <= page.height


def test_the_public_address_is_a_setting(monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    assert load_config()["PUBLIC_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("PUBLIC_URL", "https://svcproc.example.gov.cn/")
    assert load_config()["PUBLIC_URL"] == "https://svcproc.example.gov.cn"
    monkeypatch.setenv("PUBLIC_URL", "svcproc.example.gov.cn")
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        load_config()


def test_the_address_follows_the_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://svcproc.example.gov.cn/shequ")

    assert render.verification_url("4F7D-0000-AAAA-1111") == "https://svcproc.example.gov.cn/shequ/verify/4F7D-0000-AAAA-1111"
