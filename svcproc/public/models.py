"""The results pages' figures as last decided, kept in the database so every web host shows the
same ones and no request reads the whole service log (public/sharing.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..core.types import UTCDateTime
from ..extensions import db


class PublicFigures(db.Model):
    """Every area's published figures for one minimum cell size: [measure, kind, area, sub, value,
    withheld] rows, as `sharing.table()` decided them at `computed_at`."""

    __tablename__ = "public_figures"

    minimum: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cells: Mapped[list] = mapped_column(sa.JSON, default=list)
