"""Needs, plans, tenders, bids, expert panels, objections and complaints."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.targets import TargetsMixin
from ..core.types import UTCDateTime, enum_column
from ..extensions import db
from ..registry.models import OrgRating


class ServiceCategory(str, enum.Enum):
    ELDERLY = "elderly"
    CHILDREN = "children"
    DISABILITY = "disability"
    LOW_INCOME = "low_income"
    FAMILY = "family"
    YOUTH = "youth"
    COMMUNITY_BUILDING = "community_building"
    OTHER = "other"


class NeedStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    ADOPTED = "adopted"
    DECLINED = "declined"
    ADDRESSED = "addressed"
    MERGED = "merged"


class CommunityNeed(db.Model):
    __tablename__ = "community_need"
    audit_type = "need"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    category: Mapped[ServiceCategory] = mapped_column(enum_column(ServiceCategory, "service_category"))
    description: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="")
    # A resident's phone, sealed like a beneficiary's (core/crypto.py): only its masked form is
    # stored readable.
    contact_phone_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    contact_phone_masked: Mapped[str] = mapped_column(sa.String(20), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[NeedStatus] = mapped_column(enum_column(NeedStatus, "need_status"), default=NeedStatus.SUBMITTED)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("community_need.id"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project_plan.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)

    community = relationship("Area")
    merged_into: Mapped[CommunityNeed | None] = relationship(remote_side=[id])
    plan = relationship("ProjectPlan", back_populates="needs")

    __mapper_args__ = {"version_id_col": version}
    # The bureau's queue of needs to answer, oldest first, from the needs still waiting alone.
    __table_args__ = (sa.Index("ix_community_need_waiting", "submitted_at", "id",
                               postgresql_where=sa.text("status = 'submitted'"),
                               sqlite_where=sa.text("status = 'submitted'")),)

    PHONE_PURPOSE = "need-contact-phone"

    @property
    def contact_phone(self) -> str:
        """The phone in full (bureau staff asking the resident about the need)."""
        if not self.contact_phone_sealed:
            return ""
        from ..core import crypto

        return crypto.decrypt(self.PHONE_PURPOSE, self.contact_phone_sealed).decode("utf-8")

    @contact_phone.setter
    def contact_phone(self, phone: str) -> None:
        from ..core import crypto
        from ..core.formatting import mask_phone

        phone = (phone or "").strip()
        self.contact_phone_sealed = crypto.encrypt(self.PHONE_PURPOSE, phone.encode("utf-8")) if phone else None
        self.contact_phone_masked = mask_phone(phone) if phone else ""

    @property
    def is_merged(self) -> bool:
        return self.status == NeedStatus.MERGED

    @property
    def closed_with_reason(self) -> bool:
        """Declined or addressed: the resident reads why, or how."""
        return self.status in (NeedStatus.DECLINED, NeedStatus.ADDRESSED)


plan_community = sa.Table(
    "plan_community",
    db.metadata,
    sa.Column("plan_id", sa.ForeignKey("project_plan.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("area_id", sa.ForeignKey("area.id"), primary_key=True),
)


class ProjectPlan(TargetsMixin, db.Model):
    __tablename__ = "project_plan"
    audit_type = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[ServiceCategory] = mapped_column(enum_column(ServiceCategory, "service_category"))
    budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    communities = relationship("Area", secondary=plan_community, order_by="Area.code")
    needs: Mapped[list[CommunityNeed]] = relationship(back_populates="plan", order_by="CommunityNeed.id")
    tenders: Mapped[list[Tender]] = relationship(back_populates="plan", order_by="Tender.id")

    __mapper_args__ = {"version_id_col": version}


class TenderMethod(str, enum.Enum):
    PUBLIC_TENDER = "public_tender"                      # 公开招标
    COMPETITIVE_CONSULTATION = "competitive_consultation"  # 竞争性磋商
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"    # 竞争性谈判
    INQUIRY = "inquiry"                                  # 询价
    SINGLE_SOURCE = "single_source"                      # 单一来源


class TenderStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    BIDDING_CLOSED = "bidding_closed"
    OPENED = "opened"
    SCORED = "scored"
    AWARD_PROPOSED = "award_proposed"
    IN_PUBLICITY = "in_publicity"
    AWARDED = "awarded"
    CANCELLED = "cancelled"
    FAILED = "failed"


PUBLIC_STATUSES = frozenset(set(TenderStatus) - {TenderStatus.DRAFT})


class Tender(db.Model):
    __tablename__ = "tender"
    audit_type = "tender"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("project_plan.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    method: Mapped[TenderMethod] = mapped_column(enum_column(TenderMethod, "tender_method"))
    ceiling_fen: Mapped[int] = mapped_column(sa.BigInteger)
    min_rating: Mapped[OrgRating] = mapped_column(enum_column(OrgRating, "org_rating"), default=OrgRating.NONE)
    price_weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clarification_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    opening_at: Mapped[datetime] = mapped_column(UTCDateTime)
    publicity_days: Mapped[int] = mapped_column(default=7)
    # The bid deposit each bidder pays (None: none asked); the deduction from a small or micro
    # enterprise's price for its price score (procurement/guarantees.py).
    deposit_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    sme_deduction_percent: Mapped[int] = mapped_column(default=10, server_default="10")
    status: Mapped[TenderStatus] = mapped_column(enum_column(TenderStatus, "tender_status"),
                                                 default=TenderStatus.DRAFT, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_bid_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bid.id", use_alter=True, name="fk_tender_proposed_bid_id_bid"))
    # The award decision (the winner proposed from the ranking): the award notice is due within two
    # working days of it (实施条例 art. 43). The notice itself is the publicity's start.
    award_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_round: Mapped[int] = mapped_column(default=0)
    publicity_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_bid_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bid.id", use_alter=True, name="fk_tender_awarded_bid_id_bid"))
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    plan: Mapped[ProjectPlan] = relationship(back_populates="tenders")
    criteria: Mapped[list[TenderCriterion]] = relationship(
        back_populates="tender", order_by="TenderCriterion.position", cascade="all, delete-orphan")
    documents: Mapped[list[TenderDocument]] = relationship(back_populates="tender", order_by="TenderDocument.id")
    bids: Mapped[list[Bid]] = relationship(back_populates="tender", foreign_keys="Bid.tender_id",
                                           order_by="Bid.id")
    experts: Mapped[list[TenderExpert]] = relationship(back_populates="tender", order_by="TenderExpert.id")
    proposed_bid: Mapped[Bid | None] = relationship(foreign_keys=[proposed_bid_id], post_update=True)
    awarded_bid: Mapped[Bid | None] = relationship(foreign_keys=[awarded_bid_id], post_update=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    # What a page shows about where the tender stands (what may be done is asked of permissions).
    @property
    def bidding_open(self) -> bool:
        """Published: bids and questions count down to their deadlines."""
        return self.status == TenderStatus.PUBLISHED

    @property
    def opening_ahead(self) -> bool:
        return self.status in (TenderStatus.PUBLISHED, TenderStatus.BIDDING_CLOSED)

    @property
    def before_opening(self) -> bool:
        return self.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED, TenderStatus.BIDDING_CLOSED)

    @property
    def in_publicity(self) -> bool:
        return self.status == TenderStatus.IN_PUBLICITY

    @property
    def is_awarded(self) -> bool:
        return self.status == TenderStatus.AWARDED

    @property
    def results_public(self) -> bool:
        """The ranking and the (proposed) winner are published during publicity and after the award."""
        return self.status in (TenderStatus.IN_PUBLICITY, TenderStatus.AWARDED)

    @property
    def ended_without_award(self) -> bool:
        """Cancelled or failed: the reason is published."""
        return self.status in (TenderStatus.CANCELLED, TenderStatus.FAILED)

    @property
    def objections_shown(self) -> bool:
        """Objections are listed once the tender is published (the documents may be objected to)."""
        return self.status != TenderStatus.DRAFT


class TenderCriterion(db.Model):
    __tablename__ = "tender_criterion"
    audit_type = "tender_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))

    tender: Mapped[Tender] = relationship(back_populates="criteria")


class TenderDocument(db.Model):
    __tablename__ = "tender_document"
    audit_type = "tender_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    tender: Mapped[Tender] = relationship(back_populates="documents")
    file = relationship("StoredFile")


class Clarification(db.Model):
    """A bidder's question and the bureau's answer; published without naming who asked."""

    __tablename__ = "clarification"
    audit_type = "clarification"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    question: Mapped[str] = mapped_column(sa.Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    tender: Mapped[Tender] = relationship(viewonly=True)


class BidStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Bid(db.Model):
    """A sealed bid. Price, declaration and documents stay encrypted until the opening."""

    __tablename__ = "bid"
    audit_type = "bid"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus, "bid_status"), default=BidStatus.SUBMITTED)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    submissions: Mapped[int] = mapped_column(default=1)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    digest: Mapped[str] = mapped_column(sa.String(64))
    receipt_code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    # Filled at the opening, from the decrypted contents.
    price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    digest_verified: Mapped[bool | None] = mapped_column()
    valid: Mapped[bool | None] = mapped_column()
    invalid_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Filled when scoring is finished.
    technical_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    price_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    total_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    rank: Mapped[int | None] = mapped_column()
    # The price the price score and a lowest-price ranking read: the price less the small or micro
    # enterprise deduction (its percent; None: no deduction). The contract takes price_fen.
    deduction_percent: Mapped[int | None] = mapped_column()
    evaluated_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    # An abnormally low price explained in writing by the bidder, and the panel's acceptance.
    low_price_explanation: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    low_price_explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    low_price_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_file.id"))
    low_price_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    low_price_accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    tender: Mapped[Tender] = relationship(back_populates="bids", foreign_keys=[tender_id])
    deposit: Mapped[BidDeposit | None] = relationship(back_populates="bid", uselist=False)
    low_price_file = relationship("StoredFile", foreign_keys=[low_price_file_id])
    organization = relationship("Organization")
    documents: Mapped[list[BidDocument]] = relationship(back_populates="bid", order_by="BidDocument.id",
                                                        cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("tender_id", "organization_id", name="uq_bid_tender_org"),
                      # An organization's bids, newest first.
                      sa.Index("ix_bid_org_submitted", "organization_id", "submitted_at", "id"))
    __mapper_args__ = {"version_id_col": version}


class DepositForm(str, enum.Enum):
    TRANSFER = "transfer"                  # bank transfer
    GUARANTEE_LETTER = "guarantee_letter"  # bank or insurer's guarantee letter (保函)


class BidDeposit(db.Model):
    """A bidder's bid deposit (投标保证金) as procurement staff recorded it received, and its return."""

    __tablename__ = "bid_deposit"
    audit_type = "bid_deposit"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    form: Mapped[DepositForm] = mapped_column(enum_column(DepositForm, "deposit_form"))
    received_on: Mapped[date] = mapped_column(sa.Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # Deposits still held are what the bureau's queue lists.
    returned_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    bid: Mapped[Bid] = relationship(back_populates="deposit")


class BidDocument(db.Model):
    __tablename__ = "bid_document"
    audit_type = "bid_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    bid: Mapped[Bid] = relationship(back_populates="documents")
    file = relationship("StoredFile")


class TenderExpert(db.Model):
    """An expert on a tender's panel, their conflict declaration and their submission."""

    __tablename__ = "tender_expert"
    audit_type = "tender_expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    related_org_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    declaration_note: Mapped[str] = mapped_column(sa.Text, default="")
    conflicted: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tender: Mapped[Tender] = relationship(back_populates="experts")
    user = relationship("User", foreign_keys=[user_id])
    scores: Mapped[list[ExpertScore]] = relationship(back_populates="panel_member", cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("tender_id", "user_id", name="uq_tender_expert_tender_user"),)


class ExpertScore(db.Model):
    __tablename__ = "expert_score"
    audit_type = "expert_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_expert_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_expert.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("tender_criterion.id"))
    points: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    panel_member: Mapped[TenderExpert] = relationship(back_populates="scores")

    __table_args__ = (sa.UniqueConstraint("tender_expert_id", "bid_id", "criterion_id",
                                          name="uq_expert_score_cell"),)


class ObjectionStatus(str, enum.Enum):
    OPEN = "open"
    DISMISSED = "dismissed"
    UPHELD = "upheld"


class ObjectionSubject(str, enum.Enum):
    """What a supplier objects to: the tender documents, or the proposed award (the result)."""
    DOCUMENTS = "documents"
    AWARD = "award"


class Objection(db.Model):
    """A supplier's objection (质疑) to the tender documents or to the proposed award."""

    __tablename__ = "objection"
    audit_type = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    subject: Mapped[ObjectionSubject] = mapped_column(enum_column(ObjectionSubject, "objection_subject"),
                                                      default=ObjectionSubject.AWARD, server_default="award")
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The publicity round an objection to the award concerns (0 for one to the documents).
    publicity_round: Mapped[int] = mapped_column()
    reasons: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ObjectionStatus] = mapped_column(enum_column(ObjectionStatus, "objection_status"),
                                                    default=ObjectionStatus.OPEN)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Fixed when it is received, by the working days known then: the answer is due by the end of the
    # one day, a complaint may be made until the end of the other (财政部令第94号 arts. 13, 17).
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    complaint_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # What was done about an upheld objection: the tender went back to scoring, was cancelled, or
    # (an objection to the documents) the documents were amended.
    resolution: Mapped[str] = mapped_column(sa.String(20), default="")

    organization = relationship("Organization")
    documents: Mapped[list[ObjectionDocument]] = relationship(back_populates="objection")
    tender: Mapped[Tender] = relationship(viewonly=True)
    complaint: Mapped[Complaint | None] = relationship(back_populates="objection", uselist=False)

    @property
    def is_open(self) -> bool:
        return self.status == ObjectionStatus.OPEN

    @property
    def upheld_in_effect(self) -> bool:
        """Upheld by the bureau's answer, or by the finance department on a complaint."""
        return self.status == ObjectionStatus.UPHELD or (
            self.complaint is not None and self.complaint.status == ComplaintStatus.UPHELD)


class ObjectionDocument(db.Model):
    __tablename__ = "objection_document"
    audit_type = "objection_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(sa.ForeignKey("objection.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    objection: Mapped[Objection] = relationship(back_populates="documents")
    file = relationship("StoredFile")


class ComplaintStatus(str, enum.Enum):
    OPEN = "open"            # before the finance department
    DISMISSED = "dismissed"  # the finance department found it unfounded
    UPHELD = "upheld"        # the finance department found it founded


class Complaint(db.Model):
    """An objector's complaint (投诉) to the finance department about the answer to its objection, or
    about no answer in time; the department's decision is recorded by procurement staff as it arrives."""

    __tablename__ = "complaint"
    audit_type = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(sa.ForeignKey("objection.id"), unique=True)
    tender_id: Mapped[int] = mapped_column(sa.ForeignKey("tender.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reasons: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ComplaintStatus] = mapped_column(enum_column(ComplaintStatus, "complaint_status"),
                                                    default=ComplaintStatus.OPEN)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str] = mapped_column(sa.Text, default="")
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    objection: Mapped[Objection] = relationship(back_populates="complaint")
    organization = relationship("Organization")
    documents: Mapped[list[ComplaintDocument]] = relationship(back_populates="complaint")
    tender: Mapped[Tender] = relationship(viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status == ComplaintStatus.OPEN


class ComplaintDocument(db.Model):
    __tablename__ = "complaint_document"
    audit_type = "complaint_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    complaint: Mapped[Complaint] = relationship(back_populates="documents")
    file = relationship("StoredFile")


# --- the bureau's expert pool -----------------------------------------------------------------

# The service categories an expert evaluates: the pool a tender's panel is drawn from is the active
# experts of its plan's category (政府采购法实施条例 art. 39).
expert_category = sa.Table(
    "expert_category",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category", enum_column(ServiceCategory, "service_category"), primary_key=True),
)


class AffiliationKind(str, enum.Enum):
    STAFF = "staff"                # works for the organization
    FORMER_STAFF = "former_staff"  # worked for it in the last three years
    RELATION = "relation"          # family, financial interest or another tie


class ExpertAffiliation(db.Model):
    """A tie between an expert and an organization, recorded by the bureau: an expert so tied to a
    bidder withdraws from the tender's panel (回避, 政府采购法实施条例 art. 9)."""

    __tablename__ = "expert_affiliation"
    audit_type = "expert_affiliation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    kind: Mapped[AffiliationKind] = mapped_column(enum_column(AffiliationKind, "affiliation_kind"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    user = relationship("User", foreign_keys=[user_id])
    organization = relationship("Organization")

    __table_args__ = (sa.UniqueConstraint("user_id", "organization_id", "kind", name="uq_expert_affiliation"),)
