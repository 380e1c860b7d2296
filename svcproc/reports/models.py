"""A rendered report kept with the SHA-256 of the data it shows, so a printed code can be checked."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column
from ..extensions import db


class ReportKind(str, enum.Enum):
    ASSESSMENT = "assessment"      # one contract (评估报告)
    PORTFOLIO = "portfolio"        # the district's fiscal year
    ORGANIZATION = "organization"  # one organization's performance history


class GeneratedReport(db.Model):
    __tablename__ = "generated_report"
    __table_args__ = (sa.UniqueConstraint("kind", "subject_id", "data_sha256", name="uq_generated_report_data"),)
    audit_type = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind, "report_kind"), index=True)
    # Contract id, fiscal year or organization id, as the kind says.
    subject_id: Mapped[int] = mapped_column(index=True)
    locale: Mapped[str] = mapped_column(sa.String(10))
    title: Mapped[str] = mapped_column(sa.String(300))
    data_sha256: Mapped[str] = mapped_column(sa.String(64))
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("job.id"))

    file = relationship("StoredFile")
    generated_by = relationship("User")
