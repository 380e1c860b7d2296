"""Contracts, their amendments, milestones with deliverables, and payments."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..core import clock
from ..core.targets import TargetsMixin
from ..core.types import UTCDateTime, enum_column
from ..extensions import db


BOND_HELD_SQL = "bond_fen IS NOT NULL AND bond_returned_on IS NULL"


class ContractStatus(str, enum.Enum):
    DRAFT = "draft"
    SIGNED = "signed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"     # 验收: accepted as delivered
    CLOSED = "closed"           # paid in full and filed
    TERMINATED = "terminated"


PUBLIC_CONTRACT_STATUSES = frozenset({ContractStatus.SIGNED, ContractStatus.IN_PROGRESS, ContractStatus.COMPLETED,
                                      ContractStatus.CLOSED, ContractStatus.TERMINATED})


class Contract(TargetsMixin, db.Model):
    __tablename__ = "contract"
    audit_type = "contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), unique=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    original_amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)        # current, with amendments
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date] = mapped_column(sa.Date)
    long_term_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # MOF Order No. 102 art. 23: what a government procurement contract must state.
    service_content: Mapped[str] = mapped_column(sa.Text, default="")
    quantity: Mapped[str] = mapped_column(sa.Text, default="")
    quality: Mapped[str] = mapped_column(sa.Text, default="")
    settlement: Mapped[str] = mapped_column(sa.Text, default="")
    rights_obligations: Mapped[str] = mapped_column(sa.Text, default="")
    breach_liability: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus, "contract_status"),
                                                   default=ContractStatus.DRAFT, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    signed_on: Mapped[date | None] = mapped_column(sa.Date)
    # When the signature was recorded, which publishes the contract notice (due within two working
    # days of signing, 实施条例 art. 50).
    notice_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Days from a milestone's acceptance to its payment the contract agrees: 30 unless agreed
    # otherwise, never more than 60 (保障中小企业款项支付条例 art. 8).
    payment_days: Mapped[int] = mapped_column(default=30)
    # The performance bond (履约保证金, contracts/bonds.py): received, and returned once completed.
    bond_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    bond_form: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    bond_received_on: Mapped[date | None] = mapped_column(sa.Date)
    bond_returned_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # Moved on by every change to the row (the API's change feed reads contracts in this order).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: clock.now(),
                                                 onupdate=lambda: clock.now())
    version: Mapped[int] = mapped_column(default=1)
    # The version of the contract's service log (delivery's `contract_progress.log_version`), read
    # with the contract where a page keeps a figure of the log under it; None where not read.
    service_log_version: Mapped[int | None] = query_expression()

    tender = relationship("Tender")
    organization = relationship("Organization")
    milestones: Mapped[list[Milestone]] = relationship(back_populates="contract", order_by="Milestone.position",
                                                       cascade="all, delete-orphan")
    amendments: Mapped[list[Amendment]] = relationship(back_populates="contract", order_by="Amendment.number")
    payments: Mapped[list[Payment]] = relationship(back_populates="contract", order_by="Payment.paid_on")
    # Social workers assigned to deliver the contract (table defined with the service logs).
    workers = relationship("SocialWorker", secondary="contract_worker", order_by="SocialWorker.name")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.Index("ix_contract_changed", "updated_at", "id"),
                      # An organization's contracts in the order its lists show them.
                      sa.Index("ix_contract_organization", "organization_id", "id"),
                      sa.CheckConstraint("payment_days BETWEEN 1 AND 60", name="payment_days_range"),
                      # The bonds still held (the staff's queue of bonds to return).
                      sa.Index("ix_contract_bond_held", "status_changed_at", "id",
                               postgresql_where=sa.text(BOND_HELD_SQL), sqlite_where=sa.text(BOND_HELD_SQL)))

    @property
    def paid_fen(self) -> int:
        return sum(p.amount_fen for p in self.payments)

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_CONTRACT_STATUSES


class Amendment(db.Model):
    """A change to a signed contract (变更): every changed field before and after."""

    __tablename__ = "contract_amendment"
    audit_type = "amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    number: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    amended_on: Mapped[date] = mapped_column(sa.Date)
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    amount_added_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    contract: Mapped[Contract] = relationship(back_populates="amendments")

    __table_args__ = (sa.UniqueConstraint("contract_id", "number", name="uq_contract_amendment_number"),)


class MilestoneStatus(str, enum.Enum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    PAID = "paid"


OPEN_STATUSES_SQL = "status IN ('pending', 'returned', 'submitted')"


class Milestone(db.Model):
    __tablename__ = "milestone"
    audit_type = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    due_date: Mapped[date] = mapped_column(sa.Date, index=True)
    required_deliverables: Mapped[str] = mapped_column(sa.Text, default="")
    tranche_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    status: Mapped[MilestoneStatus] = mapped_column(enum_column(MilestoneStatus, "milestone_status"),
                                                    default=MilestoneStatus.PENDING)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    review_comment: Mapped[str] = mapped_column(sa.Text, default="")

    contract: Mapped[Contract] = relationship(back_populates="milestones")
    deliverables: Mapped[list[Deliverable]] = relationship(back_populates="milestone", order_by="Deliverable.id")
    payments: Mapped[list[Payment]] = relationship(back_populates="milestone", order_by="Payment.paid_on")

    # Milestones still to deliver or to review (what reminders count on every page); the accepted
    # and paid ones of past years stay out of it.
    __table_args__ = (sa.Index("ix_milestone_open", "due_date", "contract_id",
                               postgresql_where=sa.text(OPEN_STATUSES_SQL), sqlite_where=sa.text(OPEN_STATUSES_SQL)),
                      # Accepted and not yet paid: the payments due.
                      sa.Index("ix_milestone_accepted", "contract_id",
                               postgresql_where=sa.text("status = 'accepted'"),
                               sqlite_where=sa.text("status = 'accepted'")))


class PeriodStatus(str, enum.Enum):
    CLOSED = "closed"        # the entries behind the paid milestone are locked
    REOPENED = "reopened"    # procurement staff reopened them for corrections


class MilestonePeriod(db.Model):
    """The service entries behind a paid milestone: locked, unless procurement staff reopened them
    with a reason. A row exists once the period was first reopened; without one it is closed."""

    __tablename__ = "milestone_period"
    audit_type = "milestone_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestone.id", ondelete="CASCADE"), unique=True)
    status: Mapped[PeriodStatus] = mapped_column(enum_column(PeriodStatus, "period_status"),
                                                 default=PeriodStatus.CLOSED)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")

    milestone: Mapped[Milestone] = relationship()


class DeliverableKind(str, enum.Enum):
    PLAN = "plan"
    REPORT = "report"
    SIGN_IN_SHEET = "sign_in_sheet"
    PHOTO = "photo"
    OTHER = "other"


class Deliverable(db.Model):
    __tablename__ = "deliverable"
    audit_type = "deliverable"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestone.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeliverableKind] = mapped_column(enum_column(DeliverableKind, "deliverable_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    milestone: Mapped[Milestone] = relationship(back_populates="deliverables")
    file = relationship("StoredFile")


class Payment(db.Model):
    __tablename__ = "payment"
    audit_type = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestone.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    voucher_number: Mapped[str] = mapped_column(sa.String(60))
    paid_on: Mapped[date] = mapped_column(sa.Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    contract: Mapped[Contract] = relationship(back_populates="payments")
    milestone: Mapped[Milestone] = relationship(back_populates="payments")

    __table_args__ = (sa.UniqueConstraint("contract_id", "voucher_number", name="uq_payment_voucher"),
                      # The payments list's order (newest first): its page is read from this index,
                      # not by joining and sorting every payment of the district.
                      sa.Index("ix_payment_paid_on", "paid_on", "id"))
