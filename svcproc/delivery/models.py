"""Beneficiaries, service activities (with their earlier versions), groups, cases, imports and red flags."""
from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, remote

from ..core.types import UTCDateTime, enum_column
from ..extensions import db


class Gender(str, enum.Enum):
    FEMALE = "female"
    MALE = "male"


class ConsentBy(str, enum.Enum):
    SELF = "self"
    GUARDIAN = "guardian"


class ConsentMethod(str, enum.Enum):
    WRITTEN = "written"
    ELECTRONIC = "electronic"
    VERBAL_RECORDED = "verbal_recorded"


class PersonStatus(str, enum.Enum):
    ACTIVE = "active"            # consent stands: served and recorded
    WITHDRAWN = "withdrawn"      # consent withdrawn: sensitive data erased, no new service entry names them
    ANONYMISED = "anonymised"    # retention ended: nothing left that identifies the person


BENEFICIARY_CATEGORIES = ("elderly_alone", "left_behind_child", "disability", "low_income", "veteran",
                          "single_parent", "youth_at_risk", "other")


class Beneficiary(db.Model):
    """A person an organization serves (服务对象). Identity number and phone are stored sealed."""

    __tablename__ = "beneficiary"
    audit_type = "beneficiary"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    gender: Mapped[Gender] = mapped_column(enum_column(Gender, "gender"))
    birth_year: Mapped[int] = mapped_column()
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    categories: Mapped[list] = mapped_column(sa.JSON, default=list)
    id_number_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    id_number_masked: Mapped[str] = mapped_column(sa.String(20), default="")
    # HMAC of the number: the same person has the same key in every organization's register.
    id_match_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    phone_masked: Mapped[str] = mapped_column(sa.String(20), default="")
    consent_by: Mapped[ConsentBy] = mapped_column(enum_column(ConsentBy, "consent_by"))
    guardian_name: Mapped[str] = mapped_column(sa.String(100), default="")
    consent_method: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod, "consent_method"))
    consent_on: Mapped[date] = mapped_column(sa.Date)
    # The separate consent sensitive data needs (PIPL art. 29): when, and for what it was given.
    sensitive_consent_on: Mapped[date | None] = mapped_column(sa.Date)
    sensitive_consent_purpose: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    status: Mapped[PersonStatus] = mapped_column(enum_column(PersonStatus, "person_status"),
                                                 default=PersonStatus.ACTIVE, server_default="active")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    consent_withdrawn_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    community = relationship("Area")
    organization = relationship("Organization")

    @property
    def has_sensitive_consent(self) -> bool:
        return self.sensitive_consent_on is not None

    @property
    def record_closed(self) -> bool:
        """Consent withdrawn or the record anonymised: kept for the figures, no longer served."""
        return self.status != PersonStatus.ACTIVE

    @property
    def register_code(self) -> str:
        """The person's code in the register (FW0000127), which a ledger may name them by."""
        from .identity import register_code

        return register_code(self.id)

    __table_args__ = (sa.UniqueConstraint("organization_id", "id_match_key", name="uq_beneficiary_org_person"),
                      # An organization's register in name order.
                      sa.Index("ix_beneficiary_org_name", "organization_id", "name", "id"))
    __mapper_args__ = {"version_id_col": version}


class ViewKind(str, enum.Enum):
    VIEWED = "viewed"        # the record page or its edit form
    REVEALED = "revealed"    # the full identity number and phone
    EXPORTED = "exported"    # everything held about the person, downloaded for them


class BeneficiaryView(db.Model):
    """Who read a person's record, and when: one row per reading, never changed."""

    __tablename__ = "beneficiary_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiary.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    kind: Mapped[ViewKind] = mapped_column(enum_column(ViewKind, "view_kind"))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User")

    __table_args__ = (
        # A person's log, newest first, a page at a time.
        sa.Index("ix_beneficiary_view_person", "beneficiary_id", "viewed_at", "id"),
    )


class ActivityType(str, enum.Enum):
    CASE_WORK = "case_work"              # 个案
    GROUP_SESSION = "group_session"      # 小组
    COMMUNITY_EVENT = "community_event"  # 社区活动
    DELIBERATION = "deliberation"        # 微议事
    VOLUNTEER_TRAINING = "volunteer_training"


contract_worker = sa.Table(
    "contract_worker", db.metadata,
    sa.Column("contract_id", sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("social_worker_id", sa.ForeignKey("social_worker.id"), primary_key=True),
)

activity_worker = sa.Table(
    "activity_worker", db.metadata,
    sa.Column("activity_id", sa.ForeignKey("service_activity.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("social_worker_id", sa.ForeignKey("social_worker.id"), primary_key=True),
    # A worker's entries (overlaps and hours per day are checked from here).
    sa.Index("ix_activity_worker_worker", "social_worker_id", "activity_id"),
)

activity_participant = sa.Table(
    "activity_participant", db.metadata,
    sa.Column("activity_id", sa.ForeignKey("service_activity.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("beneficiary_id", sa.ForeignKey("beneficiary.id"), primary_key=True, index=True),
)

group_member = sa.Table(
    "group_member", db.metadata,
    sa.Column("group_id", sa.ForeignKey("service_group.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("beneficiary_id", sa.ForeignKey("beneficiary.id"), primary_key=True),
)


class ServiceGroup(db.Model):
    """A work group (小组) that meets for numbered sessions."""

    __tablename__ = "service_group"
    audit_type = "service_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    planned_sessions: Mapped[int] = mapped_column(default=6)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members = relationship("Beneficiary", secondary=group_member, order_by="Beneficiary.name")

    __table_args__ = (sa.UniqueConstraint("contract_id", "name", name="uq_service_group_name"),)


class ServiceCase(db.Model):
    """A case (个案) with one beneficiary, served over several sessions."""

    __tablename__ = "service_case"
    audit_type = "service_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    beneficiary_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiary.id"), index=True)
    opened_on: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    beneficiary = relationship("Beneficiary")

    __table_args__ = (sa.UniqueConstraint("contract_id", "beneficiary_id", name="uq_service_case_person"),)


class ServiceActivity(db.Model):
    __tablename__ = "service_activity"
    audit_type = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Looked up by contract through ix_service_activity_contract_day (contract first).
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"))
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType, "activity_type"))
    activity_date: Mapped[date] = mapped_column(sa.Date)
    start_time: Mapped[time] = mapped_column(sa.Time)
    end_time: Mapped[time] = mapped_column(sa.Time)
    community_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    head_count: Mapped[int] = mapped_column(default=0)     # people present beyond those named
    # How many people are named (rows of activity_participant), kept with the entry so person-times
    # add up from the entries alone; written wherever the participants are.
    participant_count: Mapped[int] = mapped_column(default=0, server_default="0")
    topic: Mapped[str] = mapped_column(sa.String(300), default="")
    outcome: Mapped[str] = mapped_column(sa.Text, default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_group.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_case.id"), index=True)
    session_number: Mapped[int | None] = mapped_column()
    # What makes two entries the same entry (date, type, times, place, people): duplicates share it.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    contract = relationship("Contract")
    community = relationship("Area")
    group = relationship("ServiceGroup")
    case = relationship("ServiceCase")
    workers = relationship("SocialWorker", secondary=activity_worker, order_by="SocialWorker.name")
    participants = relationship("Beneficiary", secondary=activity_participant, order_by="Beneficiary.name")
    # Removed with their entry (the database cascades; the audit event of the deletion keeps them).
    evidence: Mapped[list[ActivityEvidence]] = relationship(back_populates="activity", order_by="ActivityEvidence.id",
                                                            cascade="all, delete-orphan", passive_deletes=True)
    revisions: Mapped[list[ActivityRevision]] = relationship(back_populates="activity",
                                                             order_by="ActivityRevision.revision",
                                                             cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        # A contract's service log, newest first, read page by page from the index.
        sa.Index("ix_service_activity_contract_day", "contract_id", "activity_date", "start_time", "id"),
        # A day's entries across the district, answered from the index alone (the checks of a worker's day).
        sa.Index("ix_service_activity_day", "activity_date", "id"),
        # A social worker's last entries on their home page.
        sa.Index("ix_service_activity_creator", "created_by_id", "created_at", "id"),
        # The API's change feed: entries in the order they were last changed.
        sa.Index("ix_service_activity_changed", "updated_at", "id"),
    )
    __mapper_args__ = {"version_id_col": version}

    @property
    def person_times(self) -> int:
        return len(self.participants) + (self.head_count or 0)


class ActivityRevision(db.Model):
    """An earlier version of a corrected activity, kept as it was."""

    __tablename__ = "activity_revision"
    audit_type = "activity_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("service_activity.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column()
    data: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    activity: Mapped[ServiceActivity] = relationship(back_populates="revisions")


class ActivityEvidence(db.Model):
    __tablename__ = "activity_evidence"
    audit_type = "activity_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("service_activity.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))

    activity: Mapped[ServiceActivity] = relationship(back_populates="evidence")
    file = relationship("StoredFile")


class ImportStatus(str, enum.Enum):
    CHECKED = "checked"        # dry run done, waiting for confirmation
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"


class ImportBatch(db.Model):
    """One uploaded ledger file for a contract: its dry run and, once confirmed, its import."""

    __tablename__ = "import_batch"
    audit_type = "import"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_file.id"))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, "import_status"))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_new: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)   # rows already recorded on the contract
    # Rows that repeat an earlier row of the same file (imported once), and the first of them for the
    # page: [{"row": 9, "repeat_of": 4}, ...].
    rows_repeated: Mapped[int] = mapped_column(default=0, server_default="0")
    repeats: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)     # the first errors, for the page
    preview: Mapped[list] = mapped_column(sa.JSON, default=list)    # the first rows to be created
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))

    file = relationship("StoredFile")

    @property
    def awaiting_confirmation(self) -> bool:
        """Checked, not yet imported: what the page shows is what an import would create."""
        return self.status == ImportStatus.CHECKED


class RedFlagKind(str, enum.Enum):
    WORKER_OVERLAP = "worker_overlap"            # one worker in two overlapping activities
    WORKER_HOURS = "worker_hours"                # more than 12 service hours by one worker in a day
    OUTSIDE_PERIOD = "outside_period"            # outside the contract period or in the future
    DOUBLE_COUNTED = "double_counted"            # same person, two contracts, same type, overlapping periods
    DUPLICATE = "duplicate"                      # the same entry twice


# The other contracts a finding concerns besides the one it is filed under (a person counted by two
# contracts, a worker's overlapping entries on two): the flag shows on each one's page and report.
red_flag_contract = sa.Table(
    "red_flag_contract", db.metadata,
    sa.Column("red_flag_id", sa.ForeignKey("red_flag.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contract_id", sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
    # A contract's flags filed under another contract.
    sa.Index("ix_red_flag_contract_contract", "contract_id", "red_flag_id"),
)


def _social_worker():
    from ..registry.models import SocialWorker

    return SocialWorker


class RedFlag(db.Model):
    __tablename__ = "red_flag"
    audit_type = "red_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RedFlagKind] = mapped_column(enum_column(RedFlagKind, "red_flag_kind"), index=True)
    # Stable identity of the finding, so an explanation survives recomputation.
    key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    activity_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    explained_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    contract = relationship("Contract")
    # The other contracts the finding concerns (red_flag_contract).
    other_contracts = relationship("Contract", secondary=red_flag_contract, order_by="Contract.id", viewonly=True)
    # The social worker a finding names (`detail["worker_id"]`: overlapping entries, hours in a day),
    # read with a page of flags (joined), never apart.
    named_worker = relationship(
        "SocialWorker", viewonly=True, uselist=False, lazy="raise",
        primaryjoin=lambda: remote(_social_worker().id) == foreign(RedFlag.detail)["worker_id"].as_integer())

    @classmethod
    def concerning(cls, contract_id) -> sa.ColumnElement[bool]:
        """Flags filed under the contract or concerning it besides (each side through its index)."""
        return sa.or_(cls.contract_id == contract_id, cls.id.in_(
            sa.select(red_flag_contract.c.red_flag_id).where(red_flag_contract.c.contract_id == contract_id)))

    __table_args__ = (
        # The district's flags still standing, newest first: the list reads only active ones.
        sa.Index("ix_red_flag_active_found", "found_at", "id", postgresql_where=sa.text("active"),
                 sqlite_where=sa.text("active")),
        # A contract's standing flags in the order its page lists them (views/flags.CONTRACT_ORDER),
        # and in the order the API pages them.
        sa.Index("ix_red_flag_contract_active", "contract_id", "kind", "id", postgresql_where=sa.text("active"),
                 sqlite_where=sa.text("active")),
        sa.Index("ix_red_flag_contract_active_id", "contract_id", "id", postgresql_where=sa.text("active"),
                 sqlite_where=sa.text("active")),
    )


class ContractProgress(db.Model):
    """A contract's progress figures as last computed, and the version of its service log they are
    for. Every change to the log moves `log_version` on; the progress page recomputes only when the
    figures are for an older version, so reading it again costs one row."""

    __tablename__ = "contract_progress"

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True,
                                             autoincrement=False)
    log_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    figures_version: Mapped[int | None] = mapped_column(sa.BigInteger)
    figures: Mapped[dict | None] = mapped_column(sa.JSON)
