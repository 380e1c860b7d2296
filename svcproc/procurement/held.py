"""Bid documents held across a refused bid form.

A browser never puts a chosen file back into a re-rendered form, so when a bid is refused (a price
above the ceiling, the declaration not ticked) the files it carried are kept for the bidder: sealed
like a bid's documents (encrypted with the bids' key), owned by the person who chose them, named in
the page by a signed token that only that person can redeem for that tender, and for a day at most.
Submitting the bid turns them into the bid's documents; files held longer are deleted.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from ..core import clock, files, storage
from ..core.errors import ValidationError
from ..core.flow import after_commit
from ..extensions import db
from . import sealing
from .models import Tender

PURPOSE = "bid-held"
HOLD_FOR = timedelta(days=1)
_SALT = "svcproc.bid-held-files"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def hold(actor, uploads: list, rule: files.UploadRule) -> tuple[list[files.StoredFile], list[str]]:
    """Keep the chosen files that pass the upload rule; returns them and the names of those refused
    (which the bidder has to choose again). Files held longer than HOLD_FOR go first."""
    purge()
    held, refused = [], []
    for upload in uploads:
        if not (upload and getattr(upload, "filename", "")):
            continue
        upload.stream.seek(0)  # the refused submission may have read it already
        try:
            held.append(files.store(upload, purpose=PURPOSE, rule=rule, actor=actor, encrypt_purpose=sealing.PURPOSE))
        except ValidationError:
            refused.append(upload.filename)
    return held, refused


def token(actor, tender: Tender, held: list[files.StoredFile]) -> str:
    return _serializer().dumps({"user": actor.id, "tender": tender.id, "files": [f.id for f in held]})


def redeem(actor, tender: Tender, value: str | None) -> list[files.StoredFile]:
    """The held files a token names, if it was given to this person for this tender and they are
    still held; nothing otherwise (a forged, foreign or expired token holds no file)."""
    if not value:
        return []
    try:
        data = _serializer().loads(value)
    except BadData:
        return []
    if not isinstance(data, dict) or data.get("user") != actor.id or data.get("tender") != tender.id:
        return []
    ids = [i for i in data.get("files") or [] if isinstance(i, int)]
    if not ids:
        return []
    rows = db.session.execute(sa.select(files.StoredFile).where(
        files.StoredFile.id.in_(ids), files.StoredFile.purpose == PURPOSE,
        files.StoredFile.uploaded_by_id == actor.id,
        files.StoredFile.uploaded_at > clock.now() - HOLD_FOR).order_by(files.StoredFile.id)).scalars().all()
    return list(rows)


def purge() -> int:
    """Delete the files held longer than HOLD_FOR (rows now; a local file once the deletion commits)."""
    stale = db.session.execute(sa.select(files.StoredFile).where(
        files.StoredFile.purpose == PURPOSE, files.StoredFile.uploaded_at <= clock.now() - HOLD_FOR)).scalars().all()
    backend = storage.backend()
    for row in stale:
        name = row.stored_name
        if backend.name == "database":
            backend.delete(name)
        else:
            after_commit(lambda name=name: backend.delete(name))
        db.session.delete(row)
    db.session.flush()
    return len(stale)
