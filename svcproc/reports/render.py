"""HTML templates to PDF/A-3b with WeasyPrint, the report's data attached, fetching nothing outside.

Templates name what they need with the `svcproc:` scheme only — `svcproc:static/<path>` for the
app's own static files and `svcproc:font/cjk` for the embedded Chinese font. The fetcher serves
those and refuses every other URL (file:, http:, https:, data: ...), so nothing a person typed
into a title or a finding can make the renderer read a local file or the network.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, gettext as _

from ..core import clock
from . import assemble

log = logging.getLogger(__name__)

SCHEME = "svcproc:"
CJK_FONT_URL = "svcproc:font/cjk"
# fonts-wqy-microhei (see the Makefile's APT_PACKAGES); the config can point elsewhere.
DEFAULT_CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
STATIC_SUFFIXES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
ATTACHMENT_NAME = "report-data.json"


class RefusedURL(ValueError):
    """The report asked for something outside the app's own files."""


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AppOnlyFetcher(URLFetcher):
        """Serves the app's static files and the CJK font; refuses everything else."""

        def __init__(self, static_folder: str, font_path: str):
            super().__init__(allowed_protocols=("svcproc",), allow_redirects=False)
            self.static_root = Path(static_folder).resolve()
            self.font_path = Path(font_path)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            try:
                path, mime = resolve(url, self.static_root, self.font_path)
            except RefusedURL:
                self.refused.append(url)
                raise
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

    return AppOnlyFetcher


def resolve(url: str, static_root: Path, font_path: Path) -> tuple[Path, str]:
    """The local file behind an allowed URL, or RefusedURL."""
    if not isinstance(url, str) or not url.startswith(SCHEME):
        raise RefusedURL(f"refused URL {url!r}: reports fetch only the app's own files")
    rest = url[len(SCHEME):].split("?", 1)[0].split("#", 1)[0]
    if rest == "font/cjk":
        return font_path, "font/collection"
    if rest.startswith("static/"):
        candidate = (static_root / rest[len("static/"):]).resolve()
        if static_root in candidate.parents and candidate.suffix in STATIC_SUFFIXES and candidate.is_file():
            return candidate, STATIC_SUFFIXES[candidate.suffix]
    raise RefusedURL(f"refused URL {url!r}: not one of the app's static files")


def make_fetcher():
    cls = _fetcher_class()
    return cls(current_app.static_folder, current_app.config.get("REPORT_CJK_FONT") or DEFAULT_CJK_FONT)


def counter_content(text: str) -> str:
    """A translated "Page %(page)s of %(pages)s" as a CSS `content` value with page counters."""
    parts, out = text.replace("\x01", "\x00page\x00").replace("\x02", "\x00pages\x00").split("\x00"), []
    for part in parts:
        if part in ("page", "pages"):
            out.append(f"counter({part})")
        elif part:
            out.append('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def money_charts(money: dict, category_links: list[str] | None = None,
                 month_links: list[str] | None = None) -> dict[str, str]:
    """The portfolio's money by service category and by month (yuan), for its page and its PDF."""
    from ..core import charts
    from .labels import label

    def yuan(fen) -> float:
        return fen / 100

    rows, months = money["by_category"], money["by_month"]
    return {
        "categories": charts.column_chart(
            [label("category", r["category"]) for r in rows],
            {_("Budget"): [yuan(r["budget_fen"]) for r in rows], _("Awarded"): [yuan(r["awarded_fen"]) for r in rows],
             _("Paid"): [yuan(r["paid_fen"]) for r in rows]},
            _("Budget, awarded and paid by service category (yuan)"), links=category_links),
        "months": charts.column_chart(
            [r["month"] for r in months],
            {_("Awarded (month signed)"): [yuan(r["awarded_fen"]) for r in months],
             _("Paid"): [yuan(r["paid_fen"]) for r in months]},
            _("Awarded and paid by month (yuan)"), links=month_links),
    }


def chart_svgs(kind: str, data: dict) -> dict[str, str]:
    """The report's charts, drawn by the same code as the web pages' (labels in the current locale)."""
    from ..core import charts
    from .labels import label

    if kind == "assessment":
        outputs = data["outputs"]
        months = outputs["by_month"]
        return {
            "outputs": charts.progress_bars(
                [charts.Bar(label("target", o["target"]), float(o["actual"]), o["planned"] or None)
                 for o in outputs["against"]], _("Outputs against targets")),
            "months": charts.column_chart(list(months), {_("Person-times"): [v["person_times"] for v in months.values()]},
                                          _("Person-times by month")),
        }
    if kind == "portfolio":
        return {
            "outputs": charts.progress_bars(
                [charts.Bar(label("target", o["target"]), float(o["actual"]), o["planned"] or None)
                 for o in data["outputs"]], _("Outputs against targets")),
            "grades": charts.column_chart([label("grade", g) for g in data["grades"]],
                                          {_("Contracts"): list(data["grades"].values())}, _("Grade distribution")),
            **money_charts(data["money"]),
        }
    return {}


def verification_url(code: str) -> str:
    """The absolute address printed on every page: a reader of the paper types or scans it."""
    path = current_app.url_map.bind("localhost").build("reports.verify", {"code": code})
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def qr_svg(url: str) -> str:
    """`url` as a QR code in inline SVG, so the renderer draws it without fetching anything; its
    size is set by the stylesheet (no width or height of its own)."""
    import segno

    return segno.make(url, error="m", micro=False).svg_inline(scale=1, border=2, omitsize=True, svgclass="qr",
                                                              lineclass=None)


def render_html(kind: str, data: dict, *, code: str, generated_at: datetime) -> str:
    """The report as HTML, in the language its data was assembled for."""
    from .labels import label

    locale = data["report"]["locale"]
    url = verification_url(code)
    with force_locale(locale):
        pages = counter_content(_("Page %(page)s of %(pages)s", page="\x01", pages="\x02"))
        # Straight from the environment: a report depends on its data only, not on who is looking
        # (no request, no navigation, no context processors), so jobs and the CLI render the same.
        template = current_app.jinja_env.get_template(f"reports/pdf/{kind}.html")
        return template.render(data=data, code=code, locale=locale,
                               generated_at=clock.to_local(generated_at), page_counter=pages,
                               sha256=assemble.digest(data), label=label, charts=chart_svgs(kind, data),
                               bureau_name=data["report"].get("bureau", ""), verify_url=url, qr=qr_svg(url))


def html_to_pdf(html: str, data: dict, *, generated_at: datetime, title: str = "") -> bytes:
    """PDF/A-3b, A4 (set by the stylesheet), with the canonical data attached as JSON."""
    from weasyprint import HTML, Attachment

    fetcher = make_fetcher()
    moment = generated_at.replace(tzinfo=None)
    attachment = Attachment(string=assemble.canonical(data), url_fetcher=fetcher, name=ATTACHMENT_NAME,
                            description="svcproc report data (SHA-256 = verification code)",
                            created=moment, modified=moment, relationship="Data")
    document = HTML(string=html, base_url="svcproc:static/", url_fetcher=fetcher)
    pdf = document.write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment], uncompressed_pdf=False)
    if fetcher.refused:
        log.warning("report rendering refused %d URL(s): %s", len(fetcher.refused), fetcher.refused[:5])
    return pdf


def render_pdf(kind: str, data: dict, *, generated_at: datetime | None = None) -> tuple[bytes, str]:
    """(PDF bytes, verification code) for assembled data."""
    generated_at = generated_at or clock.now()
    code = assemble.code_of(assemble.digest(data))
    html = render_html(kind, data, code=code, generated_at=generated_at)
    return html_to_pdf(html, data, generated_at=generated_at), code


def read_attachment(pdf_bytes: bytes) -> bytes | None:
    """The attached data of a report PDF, or None when there is none."""
    return read_report_file(pdf_bytes).data


@dataclass
class ReportFile:
    """What a file handed in for verification says about itself."""

    sha256: str                    # of the whole file
    data: bytes | None             # the attached report data
    codes: list[str]               # verification codes it names: printed on its first page, then its metadata


CODE_PATTERN = re.compile(r"\b[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}\b")


def read_report_file(pdf_bytes: bytes) -> ReportFile:
    """The file's SHA-256, its attached data and the codes it names; a file that is no PDF, or a
    damaged one, names nothing."""
    from pypdf import PdfReader

    sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        found = reader.attachments.get(ATTACHMENT_NAME)
        data = found[0] if found else None
    except Exception:  # not a PDF, or a damaged one: nothing to verify
        return ReportFile(sha256, None, [])
    codes: list[str] = []
    # The code on the paper comes first: it is what the reader of the copy was shown.
    for source in (_first_page_text, _metadata_keywords):
        try:
            text = source(reader)
        except Exception:  # a part that cannot be read names no code
            continue
        codes += [code for code in CODE_PATTERN.findall(text or "") if code not in codes]
    return ReportFile(sha256, data, codes)


def _first_page_text(reader) -> str:
    return reader.pages[0].extract_text() if len(reader.pages) else ""


def _metadata_keywords(reader) -> str:
    return str((reader.metadata or {}).get("/Keywords") or "")


# Keys that lead away from a page (to its parent in the page tree) or only say how a stream is
# compressed: what a page shows does not depend on them.
_NOT_SHOWN = frozenset({"/Parent", "/P", "/Length", "/Filter", "/DecodeParms"})
_PAGE_KEYS = ("/Contents", "/Resources", "/MediaBox", "/CropBox", "/Rotate", "/Annots")


def page_fingerprints(pdf_bytes: bytes) -> list[str] | None:
    """A digest per page of everything the page draws and links to (its content, fonts, images,
    forms, annotations), however the file is compressed or its objects numbered; None for a file
    that cannot be read. Two files with equal lists show the same pages."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    memo: dict[tuple[int, int], bytes] = {}

    def digest(obj) -> bytes:
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key not in memo:
                memo[key] = b"(cycle)"  # an object reached again while digesting itself
                memo[key] = digest(obj.get_object())
            return memo[key]
        h = hashlib.sha256()
        if isinstance(obj, StreamObject):
            h.update(b"S")
            h.update(obj.get_data())
        if isinstance(obj, DictionaryObject):
            h.update(b"D")
            for key in sorted(obj):
                if key not in _NOT_SHOWN:
                    h.update(str(key).encode() + digest(obj.raw_get(key)))
        elif isinstance(obj, ArrayObject):
            h.update(b"A")
            for item in obj:
                h.update(digest(item))
        else:
            h.update(b"V" + repr(obj).encode())
        return h.digest()

    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        return [hashlib.sha256(b"".join(key.encode() + digest(page.raw_get(key))
                                        for key in _PAGE_KEYS if key in page)).hexdigest()
                for page in reader.pages]
    except Exception:  # damaged, or too deeply nested to follow: not comparable
        return None
