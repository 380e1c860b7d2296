"""What a forger does to a report's PDF, done with pypdf: a figure changed on the printed page (its
attached data kept), the attached data changed (the pages kept), or both."""
from __future__ import annotations

import io
import json
import re

from pypdf import PdfReader, PdfWriter

from svcproc.reports import assemble, render

_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_BFRANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_GLYPH = re.compile(rb"<([0-9a-fA-F]{4})>")


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _digit_glyphs(page) -> dict[bytes, str]:
    """Glyph code (4 hex digits, as the content stream writes it) -> the digit it shows, read from the
    page's fonts' ToUnicode maps."""
    glyphs: dict[bytes, str] = {}
    fonts = page["/Resources"].get_object().get("/Font", {})
    for ref in fonts.values():
        to_unicode = ref.get_object().get("/ToUnicode")
        if to_unicode is None:
            continue
        cmap = to_unicode.get_object().get_data()
        body = b"".join(re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S))
        for start, end, first in _BFRANGE.findall(body):
            for offset in range(int(end, 16) - int(start, 16) + 1):
                char = chr(int(first, 16) + offset)
                if char.isdigit():
                    glyphs[f"{int(start, 16) + offset:04x}".encode()] = char
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
            for code, unicode in _BFCHAR.findall(block):
                if len(unicode) == 4 and chr(int(unicode, 16)).isdigit():
                    glyphs[code.lower().zfill(4)] = chr(int(unicode, 16))
    return glyphs


def alter_a_figure(pdf: bytes, page_number: int = 0) -> bytes:
    """The same file with one digit printed on a page changed into another (a score, an amount),
    as a forger editing the content stream would; the attached data and every other page are kept."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    page = writer.pages[page_number]
    digits = _digit_glyphs(page)
    by_digit = {digit: code for code, digit in digits.items()}
    stream = page["/Contents"].get_object()
    content = stream.get_data()
    for match in _GLYPH.finditer(content):
        code = match.group(1).lower()
        if code in digits:
            other = next((by_digit[d] for d in "7319" if d != digits[code] and d in by_digit), None)
            if other is not None:
                content = content[:match.start(1)] + other + content[match.end(1):]
                break
    else:
        raise AssertionError("no digit printed on the page to change")
    stream.set_data(content)
    return _written(writer)


def _bump_paid(data):
    """The first amount paid in the data, ¥1,000 higher."""
    if isinstance(data, dict):
        if isinstance(data.get("paid_fen"), int):
            data["paid_fen"] += 100_000
            return True
        return any(_bump_paid(value) for value in data.values())
    if isinstance(data, list):
        return any(_bump_paid(value) for value in data)
    return False


def alter_the_data(pdf: bytes) -> bytes:
    """The same file with its attached data changed (a higher amount paid); its pages are kept."""
    reader = PdfReader(io.BytesIO(pdf))
    data = json.loads(render.read_attachment(pdf))
    assert _bump_paid(data)
    writer = PdfWriter(clone_from=reader)
    names = writer.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    position = [str(item) for item in names].index(render.ATTACHMENT_NAME)
    embedded = names[position + 1].get_object()["/EF"]["/F"].get_object()
    embedded.set_data(assemble.canonical(data))
    return _written(writer)


def alter_both(pdf: bytes) -> bytes:
    return alter_the_data(alter_a_figure(pdf))


def text_of_page(pdf: bytes, page_number: int = 0) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[page_number].extract_text()
