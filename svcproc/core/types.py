"""Column types shared by every domain: UTC timestamps and enums backed by CHECK constraints."""
from __future__ import annotations

import enum
from datetime import timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC in the database, hands out aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A VARCHAR holding the enum's values, guarded by a named CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


# Indexes and functions only PostgreSQL has (trigram and n-gram search, expression indexes) are
# named with this prefix; the migrations create them there, and schema comparisons leave them out.
POSTGRESQL_ONLY = "pgx_"


def include_migration_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave PostgreSQL-only indexes out of autogenerate's comparison of models and database."""
    return not (type_ == "index" and (name or "").startswith(POSTGRESQL_ONLY))


def render_migration_item(type_, obj, autogen_context):
    """Write svcproc's column types into migrations as the plain SQLAlchemy types they store."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
