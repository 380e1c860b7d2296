"""Small uploads for the tests: a PDF (with a marker a test can look for) and a PNG."""
from __future__ import annotations

from io import BytesIO

from werkzeug.datastructures import FileStorage


def pdf_bytes(marker: str = "") -> bytes:
    return b"%PDF-1.4\n% " + marker.encode("utf-8") + b"\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


def pdf_upload(name: str = "投标文件.pdf", marker: str = "") -> FileStorage:
    """A small in-memory PDF upload; `marker` is written into its bytes so a test can look for it."""
    return FileStorage(stream=BytesIO(pdf_bytes(marker)), filename=name, content_type="application/pdf")
