"""factory_boy factories for the foundation's models, writing through the test's session."""
from __future__ import annotations

import secrets
from functools import lru_cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from svcproc.accounts.models import User
from svcproc.accounts.passwords import hash_password
from svcproc.core import clock
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.registry import creditcode
from svcproc.registry.models import (Area, AreaLevel, CertificationLevel, Organization, OrgKind, OrgRating,
                                     OrgStatus, RegistrationType, SocialWorker)

DEFAULT_PASSWORD = "Passw0rd-test"


@lru_cache(maxsize=32)
def password_hash(password: str) -> str:
    """Hash once per password: every factory user shares the default password's hash."""
    return hash_password(password)


def credit_code(n: int, prefix: str = "52", division: str = "510107") -> str:
    """A valid unified social credit code, unique per n."""
    return creditcode.make(prefix, division, f"T{n:07d}")


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the session swapped in per test
        sqlalchemy_session_persistence = "flush"


class AreaFactory(BaseFactory):
    class Meta:
        model = Area

    level = AreaLevel.DISTRICT
    code = factory.Sequence(lambda n: f"9{n:08d}")
    name = factory.Sequence(lambda n: f"测试区{n}")
    parent = None


class OrganizationFactory(BaseFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试社会工作服务中心{n:04d}")
    credit_code = factory.Sequence(credit_code)
    kind = OrgKind.SERVICE
    registration_type = RegistrationType.SOCIAL_SERVICE_AGENCY
    rating = OrgRating.NONE
    status = OrgStatus.ACTIVE
    status_changed_at = factory.LazyFunction(clock.now)
    status_reason = ""
    area = None
    address = ""
    contact_name = ""
    contact_phone = ""
    contact_email = ""
    created_at = factory.LazyFunction(clock.now)

    class Params:
        evaluation = factory.Trait(kind=OrgKind.EVALUATION)


class UserFactory(BaseFactory):
    class Meta:
        model = User
        exclude = ("password",)

    password = DEFAULT_PASSWORD
    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = Role.PROCUREMENT
    organization = None
    password_hash = factory.LazyAttribute(lambda o: password_hash(o.password))
    active = True
    locale = None
    must_change_password = False
    failed_logins = 0
    locked_until = None
    session_token = factory.LazyFunction(lambda: secrets.token_hex(8))
    created_at = factory.LazyFunction(clock.now)


class SocialWorkerFactory(BaseFactory):
    class Meta:
        model = SocialWorker

    name = factory.Sequence(lambda n: f"社工{n:04d}")
    organization = factory.SubFactory(OrganizationFactory)
    certification_level = CertificationLevel.NONE
    certificate_number = ""
    phone = factory.Sequence(lambda n: f"1388{n:07d}")
    active = True
    user_id = None
    created_at = factory.LazyFunction(clock.now)


def user_for_role(role: Role, organization: Organization | None = None, **kwargs) -> User:
    """A user of the role, with the organization the role needs (made when not given)."""
    role = Role(role)
    if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER):
        organization = organization or OrganizationFactory()
    elif role == Role.EVALUATOR:
        organization = organization if organization is not None else OrganizationFactory(evaluation=True)
    else:
        organization = None
    return UserFactory(role=role, organization=organization, **kwargs)
