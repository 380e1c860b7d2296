"""Areas, organizations and social workers."""
from __future__ import annotations

import factory

from svcproc.core import clock
from svcproc.registry import creditcode
from svcproc.registry.models import (Area, AreaLevel, CertificationLevel, Organization, OrgKind, OrgRating, OrgStatus,
                                     RegistrationType, SocialWorker)
from tests.builders import BaseFactory


def credit_code(n: int, prefix: str = "52", division: str = "510107") -> str:
    """A valid unified social credit code, unique per n."""
    return creditcode.make(prefix, division, f"T{n:07d}")


class AreaFactory(BaseFactory):
    class Meta:
        model = Area

    level = AreaLevel.DISTRICT
    code = factory.Sequence(lambda n: f"9{n:08d}")
    name = factory.Sequence(lambda n: f"测试区{n}")
    parent = None


class CommunityFactory(AreaFactory):
    """A community (社区) under a street under a district."""

    level = AreaLevel.COMMUNITY
    name = factory.Sequence(lambda n: f"测试社区{n}")
    parent = factory.SubFactory(AreaFactory, level=AreaLevel.STREET, name=factory.Sequence(lambda n: f"测试街道{n}"),
                                parent=factory.SubFactory(AreaFactory))


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
