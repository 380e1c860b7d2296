"""Rendered reports kept with the SHA-256 of the data they show (so a printed code can be checked),
and the audit packages built from them."""
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


class ReportFormat(str, enum.Enum):
    PDF = "pdf"      # PDF/A-3b with the data attached and a verification code on every page
    XLSX = "xlsx"    # the tables of a portfolio or history, for working on; no code


class GeneratedReport(db.Model):
    __tablename__ = "generated_report"
    __table_args__ = (sa.UniqueConstraint("kind", "subject_id", "format", "data_sha256",
                                          name="uq_generated_report_data"),)
    audit_type = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind, "report_kind"), index=True)
    format: Mapped[ReportFormat] = mapped_column(enum_column(ReportFormat, "report_format"),
                                                 default=ReportFormat.PDF)
    # Contract id, fiscal year or organization id, as the kind says.
    subject_id: Mapped[int] = mapped_column(index=True)
    locale: Mapped[str] = mapped_column(sa.String(10))
    title: Mapped[str] = mapped_column(sa.String(300))
    data_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The figures a reader compares with the paper (figures.key_figures), kept so the verification
    # page shows them without assembling the report again; None only for a copy made before they
    # were kept whose file could not be read back.
    figures: Mapped[dict | None] = mapped_column(sa.JSON)
    # Printed on every page of a PDF; a spreadsheet has none (its cells can be edited at will).
    code: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("job.id"))

    file = relationship("StoredFile")
    generated_by = relationship("User")


class AuditPackage(db.Model):
    """A contract's audit package as built: its assessment report, audit events and manifest (ZIP)."""

    __tablename__ = "audit_package"
    audit_type = "audit_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("generated_report.id"))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    built_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("job.id"))

    file = relationship("StoredFile")
    report = relationship("GeneratedReport")
