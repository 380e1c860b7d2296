"""Indicator templates and their versions, evaluation rounds with parties, evaluators and scores,
satisfaction surveys, evidence, findings and rectification items."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column
from ..extensions import db


class VersionStatus(str, enum.Enum):
    DRAFT = "draft"            # being edited by an administrator
    PUBLISHED = "published"    # frozen; new rounds may use it
    RETIRED = "retired"        # frozen; rounds that use it keep it, new rounds may not


class IndicatorTemplate(db.Model):
    """A named indicator system (指标体系); its content lives in numbered versions."""

    __tablename__ = "indicator_template"
    audit_type = "indicator_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    versions: Mapped[list[TemplateVersion]] = relationship(back_populates="template",
                                                           order_by="TemplateVersion.number")

    __mapper_args__ = {"version_id_col": version}

    @property
    def latest(self) -> TemplateVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def current(self) -> TemplateVersion | None:
        """The newest published version: the one new rounds start with."""
        published = [v for v in self.versions if v.status == VersionStatus.PUBLISHED]
        return published[-1] if published else None


class TemplateVersion(db.Model):
    """One version of a template. `indicators` is the tree as rows in display order, each
    {key, name, weight, kind, guide, target}; a row's parent is its key up to the last dot.
    `bands` lists [lower bound of actual/target, share of full marks] from the top, as strings."""

    __tablename__ = "template_version"
    __table_args__ = (sa.UniqueConstraint("template_id", "number", name="uq_template_version_number"),)
    audit_type = "template_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator_template.id"), index=True)
    number: Mapped[int] = mapped_column()
    status: Mapped[VersionStatus] = mapped_column(enum_column(VersionStatus, "template_version_status"),
                                                  default=VersionStatus.DRAFT)
    indicators: Mapped[list] = mapped_column(sa.JSON, default=list)
    bands: Mapped[list] = mapped_column(sa.JSON, default=list)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    template: Mapped[IndicatorTemplate] = relationship(back_populates="versions")

    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        return f"{self.template.name} v{self.number}"

    @property
    def is_draft(self) -> bool:
        """Still open to changes (states.py says which states allow editing)."""
        from .states import VERSION

        return VERSION.allows("edit", self)


class RoundKind(str, enum.Enum):
    MIDTERM = "midterm"     # 中期评估
    FINAL = "final"         # 末期评估
    SPECIAL = "special"     # 专项评估, when needed


class RoundStatus(str, enum.Enum):
    PLANNED = "planned"        # parties, evaluators, surveys and evidence being prepared
    SCORING = "scoring"        # computed leaves frozen; evaluators score
    FINALIZED = "finalized"    # locked with its total and grade
    CANCELLED = "cancelled"


# The rounds whose grade stands: a final evaluation, finalized.
FINAL_GRADES_SQL = "kind = 'final' AND status = 'finalized'"


class EvaluationRound(db.Model):
    __tablename__ = "evaluation_round"
    audit_type = "evaluation_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    kind: Mapped[RoundKind] = mapped_column(enum_column(RoundKind, "round_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    template_version_id: Mapped[int] = mapped_column(sa.ForeignKey("template_version.id"), index=True)
    # The third-party evaluation organization; empty when the bureau evaluates itself.
    evaluation_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    # Output targets are measured against this share of the contract's targets (mid-term: half).
    target_percent: Mapped[int] = mapped_column(default=100)
    scheduled_start: Mapped[date] = mapped_column(sa.Date)
    scheduled_end: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[RoundStatus] = mapped_column(enum_column(RoundStatus, "round_status"),
                                                default=RoundStatus.PLANNED, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Computed leaves as frozen when scoring opened: leaf key -> figures and points (strings).
    computed: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    grade: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    # The result as locked at finalization: nodes, leaves and per-party means (strings).
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    contract = relationship("Contract")
    template_version: Mapped[TemplateVersion] = relationship()
    evaluation_org = relationship("Organization")
    parties: Mapped[list[EvaluationParty]] = relationship(back_populates="round", order_by="EvaluationParty.position",
                                                          cascade="all, delete-orphan")
    evaluators: Mapped[list[RoundEvaluator]] = relationship(back_populates="round", order_by="RoundEvaluator.id")
    surveys: Mapped[list[SatisfactionSurvey]] = relationship(back_populates="round", order_by="SatisfactionSurvey.id")
    evidence: Mapped[list[EvaluationEvidence]] = relationship(back_populates="round", order_by="EvaluationEvidence.id")
    findings: Mapped[list[Finding]] = relationship(back_populates="round", order_by="Finding.id")

    # The list of rounds, latest scheduled first.
    __table_args__ = (
        sa.Index("ix_evaluation_round_scheduled", "scheduled_start", "id"),
        # An organization's final grades (its page, its bidding bars): the finalized final rounds
        # alone, with what ranks them, read without the rounds' large rows.
        sa.Index("ix_evaluation_round_final_grades", "contract_id", postgresql_include=["id", "finalized_at", "grade"],
                 postgresql_where=sa.text(FINAL_GRADES_SQL), sqlite_where=sa.text(FINAL_GRADES_SQL)),
    )
    __mapper_args__ = {"version_id_col": version}


class EvaluationParty(db.Model):
    """A scoring party with its weight, e.g. third party 70, bureau 20, community 10."""

    __tablename__ = "evaluation_party"
    audit_type = "evaluation_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_round.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[EvaluationRound] = relationship(back_populates="parties")


class RoundEvaluator(db.Model):
    __tablename__ = "round_evaluator"
    __table_args__ = (sa.UniqueConstraint("round_id", "user_id", name="uq_round_evaluator"),)
    audit_type = "round_evaluator"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_round.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_party.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declared_related: Mapped[bool] = mapped_column(default=False)
    declaration_note: Mapped[str] = mapped_column(sa.Text, default="")
    conflicted: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[EvaluationRound] = relationship(back_populates="evaluators")
    party: Mapped[EvaluationParty] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    scores: Mapped[list[EvaluationScore]] = relationship(back_populates="evaluator", cascade="all, delete-orphan")


class EvaluationScore(db.Model):
    __tablename__ = "evaluation_score"
    __table_args__ = (sa.UniqueConstraint("evaluator_id", "leaf_key", name="uq_evaluation_score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("round_evaluator.id"), index=True)
    leaf_key: Mapped[str] = mapped_column(sa.String(100))
    points: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    evaluator: Mapped[RoundEvaluator] = relationship(back_populates="scores")


class SatisfactionSurvey(db.Model):
    """Responses of one group of respondents: how many were surveyed and how many were satisfied."""

    __tablename__ = "satisfaction_survey"
    audit_type = "satisfaction_survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_round.id"), index=True)
    leaf_key: Mapped[str] = mapped_column(sa.String(100))
    group_name: Mapped[str] = mapped_column(sa.String(100))
    surveyed: Mapped[int] = mapped_column()
    satisfied: Mapped[int] = mapped_column()
    surveyed_on: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # The imported response file, when the counts came from one.
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_file.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    round: Mapped[EvaluationRound] = relationship(back_populates="surveys")
    file = relationship("StoredFile")


class EvaluationEvidence(db.Model):
    """Material the evaluated organization submits for a round (reports, records, photos)."""

    __tablename__ = "evaluation_evidence"
    audit_type = "evaluation_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_round.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    round: Mapped[EvaluationRound] = relationship(back_populates="evidence")
    file = relationship("StoredFile")


class Finding(db.Model):
    __tablename__ = "evaluation_finding"
    audit_type = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_round.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    round: Mapped[EvaluationRound] = relationship(back_populates="findings")
    items: Mapped[list[RectificationItem]] = relationship(back_populates="finding", order_by="RectificationItem.id")


class ItemStatus(str, enum.Enum):
    OPEN = "open"              # waiting for the organization
    RESPONDED = "responded"    # the organization answered; the bureau decides
    CLOSED = "closed"          # the bureau accepted the rectification


class RectificationItem(db.Model):
    """A rectification item (整改事项): what must change, who answers for it, by when."""

    __tablename__ = "rectification_item"
    audit_type = "rectification_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_finding.id"), index=True)
    action: Mapped[str] = mapped_column(sa.Text)
    owner: Mapped[str] = mapped_column(sa.String(100))
    deadline: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ItemStatus] = mapped_column(enum_column(ItemStatus, "rectification_status"),
                                               default=ItemStatus.OPEN, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    finding: Mapped[Finding] = relationship(back_populates="items")
    responses: Mapped[list[RectificationResponse]] = relationship(back_populates="item",
                                                                  order_by="RectificationResponse.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def overdue(self) -> bool:
        from ..contracts.workflow import today

        return self.status != ItemStatus.CLOSED and self.deadline < today()


class RectificationResponse(db.Model):
    __tablename__ = "rectification_response"
    audit_type = "rectification_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_item.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    item: Mapped[RectificationItem] = relationship(back_populates="responses")
    files: Mapped[list[ResponseFile]] = relationship(back_populates="response", order_by="ResponseFile.id")


class ResponseFile(db.Model):
    __tablename__ = "rectification_response_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_response.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    response: Mapped[RectificationResponse] = relationship(back_populates="files")
    file = relationship("StoredFile")
