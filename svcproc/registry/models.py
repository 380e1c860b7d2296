"""Areas (district > street > community > grid), organizations and social workers."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column
from ..extensions import db


class AreaLevel(str, enum.Enum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


# Which level an area's parent must have.
PARENT_LEVEL = {
    AreaLevel.DISTRICT: None,
    AreaLevel.STREET: AreaLevel.DISTRICT,
    AreaLevel.COMMUNITY: AreaLevel.STREET,
    AreaLevel.GRID: AreaLevel.COMMUNITY,
}


class Area(db.Model):
    __tablename__ = "area"
    audit_type = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[AreaLevel] = mapped_column(enum_column(AreaLevel, "area_level"))
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)

    parent: Mapped[Area | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def path(self) -> str:
        names = []
        node: Area | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class OrgKind(str, enum.Enum):
    SERVICE = "service"          # social work organization that bids and delivers
    EVALUATION = "evaluation"    # third-party evaluation organization


class RegistrationType(str, enum.Enum):
    SOCIAL_SERVICE_AGENCY = "social_service_agency"   # 社会服务机构 (民办非企业单位)
    SOCIAL_GROUP = "social_group"                     # 社会团体
    FOUNDATION = "foundation"                         # 基金会
    PUBLIC_INSTITUTION = "public_institution"         # 事业单位
    ENTERPRISE = "enterprise"                         # 企业


class OrgRating(str, enum.Enum):
    NONE = "none"
    A1 = "1A"
    A2 = "2A"
    A3 = "3A"
    A4 = "4A"
    A5 = "5A"

    @property
    def rank(self) -> int:
        return 0 if self is OrgRating.NONE else int(self.value[0])


class OrgStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DISHONEST = "dishonest"      # on the list of seriously dishonest entities


class OrgScale(str, enum.Enum):
    """The enterprise size the organization declared (中小企业声明函, 财库〔2020〕46号); a small or
    micro enterprise's bid for services gets the price deduction. Not stated: no deduction."""

    UNSTATED = "unstated"
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class Organization(db.Model):
    __tablename__ = "organization"
    audit_type = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind"), default=OrgKind.SERVICE)
    registration_type: Mapped[RegistrationType] = mapped_column(
        enum_column(RegistrationType, "registration_type")
    )
    rating: Mapped[OrgRating] = mapped_column(enum_column(OrgRating, "org_rating"), default=OrgRating.NONE)
    # The day the rating was given: it holds RATING_VALID_YEARS from then (registry/ratings.py).
    rated_on: Mapped[date | None] = mapped_column(sa.Date)
    scale: Mapped[OrgScale] = mapped_column(enum_column(OrgScale, "org_scale"), default=OrgScale.UNSTATED,
                                            server_default=OrgScale.UNSTATED.value)
    status: Mapped[OrgStatus] = mapped_column(enum_column(OrgStatus, "org_status"), default=OrgStatus.ACTIVE)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    area: Mapped[Area | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class CertificationLevel(str, enum.Enum):
    NONE = "none"
    ASSISTANT = "assistant"      # 助理社会工作师
    INTERMEDIATE = "intermediate"  # 社会工作师
    SENIOR = "senior"            # 高级社会工作师


class SocialWorker(db.Model):
    __tablename__ = "social_worker"
    audit_type = "social_worker"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    certification_level: Mapped[CertificationLevel] = mapped_column(
        enum_column(CertificationLevel, "certification_level"), default=CertificationLevel.NONE
    )
    certificate_number: Mapped[str] = mapped_column(sa.String(40), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # The login account of this worker, when they have one.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    organization: Mapped[Organization] = relationship()

    __mapper_args__ = {"version_id_col": version}
