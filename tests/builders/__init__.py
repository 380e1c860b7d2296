"""Builders for the tests, one module per domain (accounts, registry, procurement, contracts) plus
files.py for uploads. Records are made with factory_boy through the test's session, or driven through
the real services and workflows with the test's clock moved as the dates need."""
from __future__ import annotations

from factory.alchemy import SQLAlchemyModelFactory

from svcproc.extensions import db


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the session swapped in per test
        sqlalchemy_session_persistence = "flush"
