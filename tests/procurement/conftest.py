"""Fixtures for the procurement tests: the people around a tender and a quick way to log in."""
from __future__ import annotations

import pytest

from svcproc.core.permissions import Role
from tests.builders.accounts import UserFactory
from tests.helpers import login


@pytest.fixture
def staff():
    return UserFactory(role=Role.PROCUREMENT, username="caigou")


@pytest.fixture
def login_as(client):
    """login_as(user) logs the test client in (and checks that it worked)."""

    def run(user):
        assert login(client, user).status_code == 303
        return user

    return run
