"""Each contracting process's releases as last built, kept in the database so every web host serves
the same text and a page of releases is read, not built (ocds/store.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..core.types import UTCDateTime
from ..extensions import db


class OcdsProcess(db.Model):
    """One tender's releases as compact JSON, one release a line, with the record compiled from
    them, and the fingerprint of what they were built from (store.py says what it covers): the
    text is served while the fingerprint read with it is the one of the rows as they are now.
    Document addresses hold a placeholder for the address the reader reached the site at."""

    __tablename__ = "ocds_process"

    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(sa.String(255))
    # The service log's version and the month when built, and a digest of the ended months' figures
    # the releases published: a log that moved on only asks whether those figures changed.
    progress: Mapped[str] = mapped_column(sa.String(40))
    months: Mapped[str] = mapped_column(sa.String(16))
    # The date of the newest release (the package's publishedDate), "" when there is none.
    latest: Mapped[str] = mapped_column(sa.String(20))
    releases: Mapped[str] = mapped_column(sa.Text)
    compiled: Mapped[str] = mapped_column(sa.Text)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
