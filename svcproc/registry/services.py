"""Creating and changing areas, organizations and social workers; every change is audited.
An organization's status changes only through registry/workflow.py."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.services import created, diff, record, snapshot
from ..core import clock
from ..core.errors import ValidationError
from ..extensions import db
from . import creditcode
from .models import (PARENT_LEVEL, Area, AreaLevel, CertificationLevel, Organization, OrgKind, OrgRating,
                     OrgScale, OrgStatus, RegistrationType, SocialWorker)

AREA_FIELDS = ("level", "code", "name", "parent_id")
ORG_FIELDS = ("name", "credit_code", "kind", "registration_type", "rating", "rated_on", "scale", "status", "status_reason",
              "area_id", "address", "contact_name", "contact_phone", "contact_email")
ORG_PROFILE_FIELDS = ("name", "registration_type", "area_id", "address", "contact_name", "contact_phone",
                      "contact_email")
WORKER_FIELDS = ("name", "organization_id", "certification_level", "certificate_number", "phone", "active",
                 "user_id")


def credit_code_message(reason: str) -> str:
    return {
        "length": _("A unified social credit code has exactly 18 characters."),
        "charset": _("A unified social credit code uses only digits and capital letters other than I, O, S, V and Z."),
        "authority": _("The first character of a unified social credit code names the registration authority "
                       "(1 to 9, A, N or Y under GB 32100-2015); this one names none."),
        "org_type": _("The second character of this unified social credit code is not a kind of organization its "
                      "registration authority registers (GB 32100-2015): for civil affairs (5) it is 1, 2, 3 or 9."),
        "division": _("Characters 3 to 8 of a unified social credit code are the administrative division code of the "
                      "registration authority (GB/T 2260): these six digits name no province, city or county."),
        "org_code": _("Characters 9 to 17 of this unified social credit code are not a valid organization code."),
        "check": _("The check character (the 18th) of this unified social credit code is wrong: please check the code."),
    }[reason]


def validate_credit_code(code: str) -> str:
    try:
        return creditcode.validate(code)
    except creditcode.CreditCodeError as exc:
        raise ValidationError(credit_code_message(exc.reason), "credit_code") from exc


# --- areas ------------------------------------------------------------------------------------


def _check_area(level: AreaLevel, code: str, parent: Area | None, exclude_id: int | None = None) -> None:
    wanted = PARENT_LEVEL[level]
    if wanted is None and parent is not None:
        raise ValidationError(_("A district has no parent area."), "parent_id")
    if wanted is not None and (parent is None or parent.level != wanted):
        raise ValidationError(_("This area must sit under an area of the level above it."), "parent_id")
    stmt = sa.select(Area.id).where(Area.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Area.id != exclude_id)
    if db.session.execute(stmt).first():
        raise ValidationError(_("The area code %(c)s is already used.", c=code), "code")


def create_area(actor, *, level: AreaLevel, code: str, name: str, parent: Area | None) -> Area:
    level = AreaLevel(level)
    code, name = code.strip(), name.strip()
    _check_area(level, code, parent)
    area = Area(level=level, code=code, name=name, parent_id=parent.id if parent else None)
    db.session.add(area)
    db.session.flush()
    record("area.created", actor=actor, obj=area, changes=created(area, AREA_FIELDS))
    return area


def update_area(actor, area: Area, *, code: str, name: str, parent: Area | None) -> Area:
    code, name = code.strip(), name.strip()
    _check_area(area.level, code, parent, exclude_id=area.id)
    before = snapshot(area, AREA_FIELDS)
    area.code, area.name, area.parent_id = code, name, parent.id if parent else None
    changes = diff(before, snapshot(area, AREA_FIELDS))
    if changes:
        db.session.flush()
        record("area.updated", actor=actor, obj=area, changes=changes)
    return area


# --- organizations ----------------------------------------------------------------------------


def _check_org(credit_code: str, exclude_id: int | None = None) -> str:
    code = validate_credit_code(credit_code)
    stmt = sa.select(Organization.id).where(Organization.credit_code == code)
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    if db.session.execute(stmt).first():
        raise ValidationError(_("An organization with this credit code is already registered."), "credit_code")
    return code


def _rated_on(rating: OrgRating, rated_on: date | None) -> date | None:
    """The day a rating was given; the day it is recorded when not given, none without a rating."""
    if rating is OrgRating.NONE:
        return None
    today = clock.to_local(clock.now()).date()
    if rated_on is not None and rated_on > today:
        raise ValidationError(_("The day the rating was given cannot be in the future."), "rated_on")
    return rated_on or today


def create_organization(actor, *, name: str, credit_code: str, kind: OrgKind,
                        registration_type: RegistrationType, rating: OrgRating = OrgRating.NONE,
                        rated_on: date | None = None, scale: OrgScale = OrgScale.UNSTATED,
                        area: Area | None = None, address: str = "",
                        contact_name: str = "", contact_phone: str = "", contact_email: str = "") -> Organization:
    code = _check_org(credit_code)
    if not name.strip():
        raise ValidationError(_("Give the organization's registered name."), "name")
    org = Organization(
        name=name.strip(), credit_code=code, kind=OrgKind(kind), registration_type=RegistrationType(registration_type),
        rating=OrgRating(rating), rated_on=_rated_on(OrgRating(rating), rated_on), scale=OrgScale(scale),
        status=OrgStatus.ACTIVE,
        status_changed_at=clock.now(), area_id=area.id if area else None, address=address, contact_name=contact_name,
        contact_phone=contact_phone, contact_email=contact_email, created_at=clock.now(),
    )
    db.session.add(org)
    db.session.flush()
    record("organization.created", actor=actor, obj=org, changes=created(org, ORG_FIELDS))
    return org


def update_organization(actor, org: Organization, *, may_set_status: bool, **values) -> Organization:
    """Profile fields for anyone allowed to edit; credit code, kind, rating only for the bureau."""
    before = snapshot(org, ORG_FIELDS)
    if may_set_status:
        if "credit_code" in values:
            org.credit_code = _check_org(values["credit_code"], exclude_id=org.id)
        if "kind" in values:
            org.kind = OrgKind(values["kind"])
        if "rating" in values:
            rating = OrgRating(values["rating"])
            # A changed rating without its date was given the day it is recorded.
            day = values.get("rated_on") or (org.rated_on if rating == org.rating else None)
            org.rating, org.rated_on = rating, _rated_on(rating, day)
        if "scale" in values:
            # Checked by the bureau against the declaration: it decides the price deduction.
            org.scale = OrgScale(values["scale"] or OrgScale.UNSTATED)
    if "name" in values and not values["name"].strip():
        raise ValidationError(_("Give the organization's registered name."), "name")
    for field in ORG_PROFILE_FIELDS:
        if field in values:
            value = values[field]
            if field == "registration_type":
                value = RegistrationType(value)
            elif isinstance(value, str):
                value = value.strip()
            setattr(org, field, value)
    changes = diff(before, snapshot(org, ORG_FIELDS))
    if changes:
        db.session.flush()
        record("organization.updated", actor=actor, obj=org, changes=changes)
    return org


# --- social workers ---------------------------------------------------------------------------


def _check_worker(org: Organization, certification_level: CertificationLevel, certificate_number: str) -> None:
    if org.kind != OrgKind.SERVICE:
        raise ValidationError(_("Social workers belong to a social work organization."), "organization_id")
    if certification_level != CertificationLevel.NONE and not certificate_number.strip():
        raise ValidationError(_("A certified social worker needs a certificate number."), "certificate_number")


def create_worker(actor, org: Organization, *, name: str, certification_level: CertificationLevel,
                  certificate_number: str = "", phone: str = "", active: bool = True,
                  user_id: int | None = None) -> SocialWorker:
    certification_level = CertificationLevel(certification_level)
    _check_worker(org, certification_level, certificate_number)
    if not name.strip():
        raise ValidationError(_("Give the social worker's name."), "name")
    worker = SocialWorker(name=name.strip(), organization_id=org.id, certification_level=certification_level,
                          certificate_number=certificate_number.strip(), phone=phone.strip(), active=active,
                          user_id=user_id, created_at=clock.now())
    db.session.add(worker)
    db.session.flush()
    record("social_worker.created", actor=actor, obj=worker, changes=created(worker, WORKER_FIELDS))
    return worker


def update_worker(actor, worker: SocialWorker, *, name: str, certification_level: CertificationLevel,
                  certificate_number: str, phone: str, active: bool) -> SocialWorker:
    certification_level = CertificationLevel(certification_level)
    _check_worker(worker.organization, certification_level, certificate_number)
    if not name.strip():
        raise ValidationError(_("Give the social worker's name."), "name")
    before = snapshot(worker, WORKER_FIELDS)
    worker.name = name.strip()
    worker.certification_level = certification_level
    worker.certificate_number = certificate_number.strip()
    worker.phone = phone.strip()
    worker.active = active
    changes = diff(before, snapshot(worker, WORKER_FIELDS))
    if changes:
        db.session.flush()
        record("social_worker.updated", actor=actor, obj=worker, changes=changes)
    return worker
