"""Procurement red flags (recomputed as a whole by a job) and monitoring cases with their documents."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column
from ..extensions import db


class FlagKind(str, enum.Enum):
    SINGLE_VALID_BID = "single_valid_bid"
    SHORT_BIDDING_PERIOD = "short_bidding_period"
    AWARD_NEAR_CEILING = "award_near_ceiling"
    IDENTICAL_PRICES = "identical_prices"
    PRICES_PERCENT_APART = "prices_percent_apart"
    OTHERS_ALL_INVALID = "others_all_invalid"
    LOWEST_INVALID = "lowest_invalid"
    REPEATED_SINGLE_SOURCE = "repeated_single_source"
    LARGE_AWARD_SHARE = "large_award_share"
    MANY_CATEGORIES = "many_categories"
    SHARED_CONTACT = "shared_contact"
    LATE_AWARD_NOTICE = "late_award_notice"
    LATE_SIGNATURE = "late_signature"
    LATE_CONTRACT_NOTICE = "late_contract_notice"
    SERVICE_BEFORE_SIGNATURE = "service_before_signature"
    UNPAID_MILESTONE = "unpaid_milestone"
    EARLY_AMENDMENT = "early_amendment"
    AMENDMENT_NEAR_CAP = "amendment_near_cap"


class ProcurementFlag(db.Model):
    """One finding of one rule; `key` names it (rule and the records it is about) so a finding that
    holds at the next computation keeps its row and the day it was first found."""

    __tablename__ = "procurement_flag"
    audit_type = "procurement_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[FlagKind] = mapped_column(enum_column(FlagKind, "procurement_flag_kind"))
    tender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    fiscal_year: Mapped[int | None] = mapped_column()
    # The figures that raised it (amounts in fen, days, percentages, names), shown beside the rule.
    figures: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonitoringStatus(str, enum.Enum):
    OPEN = "open"                        # the auditor gathers findings
    AWAITING_ANSWER = "awaiting_answer"  # findings issued to the bureau
    ANSWERED = "answered"                # the bureau said what it eliminated
    CONCLUDED = "concluded"              # the auditor's conclusion; nothing changes after it


class MonitoringCase(db.Model):
    """An auditor's monitoring of one tender or contract (from a red flag or by hand)."""

    __tablename__ = "monitoring_case"
    audit_type = "monitoring_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    # The red flag it was opened from, as it read then (the flag itself may clear later).
    flag_kind: Mapped[str] = mapped_column(sa.String(40), default="")
    flag_figures: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[MonitoringStatus] = mapped_column(enum_column(MonitoringStatus, "monitoring_status"),
                                                     default=MonitoringStatus.OPEN, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    conclusion: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    tender = relationship("Tender")
    contract = relationship("Contract")
    documents: Mapped[list[MonitoringDocument]] = relationship(back_populates="case",
                                                               order_by="MonitoringDocument.id")

    __mapper_args__ = {"version_id_col": version}


class MonitoringDocument(db.Model):
    """A document attached to a case by the auditor (evidence) or the bureau (its answer's proof)."""

    __tablename__ = "monitoring_document"
    audit_type = "monitoring_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_case.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    case: Mapped[MonitoringCase] = relationship(back_populates="documents")
    file = relationship("StoredFile")
