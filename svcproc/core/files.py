"""Uploaded files: checked by size and by content, kept under generated names in core.storage."""
from __future__ import annotations

import codecs
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock, crypto, storage
from .errors import ValidationError
from .types import UTCDateTime


class StoredFile(db.Model):
    __tablename__ = "stored_file"
    audit_type = "file"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(40))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(10))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    encrypted: Mapped[bool] = mapped_column(default=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    @property
    def mimetype(self) -> str:
        return MIMETYPES[self.kind]


MIMETYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "csv": "text/csv",
}
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpg": "jpg", "jpeg": "jpg", "docx": "docx", "xlsx": "xlsx",
              "doc": "doc", "xls": "xls", "csv": "csv"}
DOCUMENTS = frozenset({"pdf", "docx", "doc", "xlsx", "xls"})
IMAGES = frozenset({"png", "jpg"})
LEDGERS = frozenset({"xlsx", "csv"})


def sniff(head: bytes, data: bytes) -> str | None:
    """The file's real kind from its bytes, whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"  # legacy Word or Excel; told apart by the name
    if head.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
    return None


def decodes_as(sample: bytes, encoding: str, complete: bool) -> bool:
    """Whether `sample` is text in `encoding`; unless `complete`, a character cut at its end is fine.
    (An incremental decoder, because utf-8-sig counts error positions after the BOM.)"""
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_text(data: bytes) -> bool:
    head = data[:65536]
    if b"\x00" in head:
        return False
    return any(decodes_as(head, encoding, len(head) == len(data)) for encoding in ("utf-8-sig", "gb18030"))


@dataclass
class UploadRule:
    kinds: frozenset[str]
    max_bytes: int | None = None


def store(upload, *, purpose: str, rule: UploadRule, actor=None, encrypt_purpose: str | None = None) -> StoredFile:
    """Check an uploaded file (werkzeug FileStorage) and keep it; refuses with a clear message."""
    original = (upload.filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:255]
    if not original:
        raise ValidationError(_("Choose a file to upload."), "file")
    max_bytes = rule.max_bytes or current_app.config["MAX_CONTENT_LENGTH"]
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            _("%(name)s is larger than the allowed %(mb)s MB.", name=original, mb=round(max_bytes / 1048576, 1)),
            "file")
    if not data:
        raise ValidationError(_("%(name)s is empty.", name=original), "file")
    ext = original.rsplit(".", 1)[-1].lower() if "." in original else ""
    claimed = EXTENSIONS.get(ext)
    found = sniff(data[:16], data)
    if found == "ole" and claimed in ("doc", "xls"):
        found = claimed
    if found is None and claimed == "csv" and _looks_like_text(data):
        found = "csv"
    allowed = ", ".join(sorted(rule.kinds))
    if claimed is None or claimed not in rule.kinds:
        raise ValidationError(_("%(name)s: only these file types are accepted: %(types)s.", name=original,
                                types=allowed), "file")
    if found != claimed:
        raise ValidationError(_("%(name)s does not contain what its name says (%(ext)s); the file was refused.",
                                name=original, ext=ext), "file")
    digest = hashlib.sha256(data).hexdigest()
    payload = crypto.encrypt(encrypt_purpose, data) if encrypt_purpose else data
    stored_name = storage.backend().put(payload)
    record = StoredFile(purpose=purpose, stored_name=stored_name, original_name=original, kind=claimed,
                        size=len(data), sha256=digest, encrypted=bool(encrypt_purpose), uploaded_at=clock.now(),
                        uploaded_by_id=getattr(actor, "id", None))
    db.session.add(record)
    db.session.flush()
    return record


def read(stored: StoredFile, decrypt_purpose: str | None = None) -> bytes:
    data = storage.backend().read(stored.stored_name)
    if stored.encrypted:
        if decrypt_purpose is None:
            raise PermissionError("encrypted file read without its purpose")
        data = crypto.decrypt(decrypt_purpose, data)
    return data


def stream(stored: StoredFile, decrypt_purpose: str | None = None) -> BinaryIO:
    """The content as a seekable binary stream, read as it is consumed (an encrypted file is
    decrypted whole: its authentication covers all of it). Close it when done."""
    if stored.encrypted:
        return io.BytesIO(read(stored, decrypt_purpose))
    return storage.backend().open(stored.stored_name)


@dataclass
class MoveReport:
    copied: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def _intact(row, content: bytes, original: bytes | None) -> bool:
    # A plain file must hash to what was recorded at upload; an encrypted one (whose recorded hash is
    # of the plain text) must equal, byte for byte, the copy it was made from, when there is one.
    if not row.encrypted:
        return hashlib.sha256(content).hexdigest() == row.sha256
    return original is None or content == original


def move_files(to: str, batch: int = 200) -> MoveReport:
    """Copy every stored file from the other backend into `to`, checking each copy; commits file by
    file. Files already there are counted, never overwritten; the source is left as it was."""
    target = storage.backend(to)
    source = storage.backend(next(name for name in storage.BACKENDS if name != to))
    report = MoveReport()
    last = 0
    while True:
        rows = db.session.execute(
            sa.select(StoredFile.id, StoredFile.stored_name, StoredFile.sha256, StoredFile.encrypted)
            .where(StoredFile.id > last).order_by(StoredFile.id).limit(batch)).all()
        if not rows:
            return report
        last = rows[-1].id
        for row in rows:
            name = row.stored_name
            try:
                data = source.read(name)
            except FileNotFoundError:
                data = None
            if data is not None and not _intact(row, data, None):
                report.problems.append(f"{name}: checksum mismatch in {source.name}; not copied")
                continue
            if target.exists(name):
                present = target.read(name)
                if _intact(row, present, data):
                    report.already += 1
                else:
                    report.problems.append(f"{name}: {target.name} holds different content; left as it is")
                continue
            if data is None:
                report.problems.append(f"{name}: missing in {source.name} and {target.name}")
                continue
            target.put(data, name=name)
            if _intact(row, target.read(name), data):
                db.session.commit()
                report.copied += 1
            else:
                db.session.rollback()
                report.problems.append(f"{name}: the copy in {target.name} does not match; not kept")
