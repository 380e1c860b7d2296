"""Fixtures of the API tests: the delivery world, and personal access tokens for its people."""
from __future__ import annotations

import pytest

from svcproc.api import tokens
from tests.builders.delivery import World, build_world


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_world)


@pytest.fixture
def world(built, clock) -> World:
    clock.set(built["now"])
    return World(built)


@pytest.fixture
def token_of(world):
    """token_of("manager", "read", "services:write") -> the Authorization header of a new token."""

    def make(who, *scopes, expires_on=None):
        user = world.users[who] if isinstance(who, str) else who
        _token, secret = tokens.create_token(user, f"{getattr(user, 'username', who)} app",
                                             list(scopes or ("read",)), expires_on)
        return {"Authorization": f"Bearer {secret}"}

    return make
