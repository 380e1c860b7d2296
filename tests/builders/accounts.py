"""User accounts, one per role with the organization the role needs."""
from __future__ import annotations

import secrets
from functools import lru_cache

import factory

from svcproc.accounts.models import User
from svcproc.accounts.passwords import hash_password
from svcproc.core import clock
from svcproc.core.permissions import Role
from svcproc.registry.models import Organization
from tests.builders import BaseFactory
from tests.builders.registry import OrganizationFactory

DEFAULT_PASSWORD = "Passw0rd-test"


@lru_cache(maxsize=32)
def password_hash(password: str) -> str:
    """Hash once per password: every factory user shares the default password's hash."""
    return hash_password(password)


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
