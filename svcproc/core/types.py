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


def render_migration_item(type_, obj, autogen_context):
    """Write svcproc's column types into migrations as the plain SQLAlchemy types they store."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


# An index only PostgreSQL can build (a trigram index, say) is declared on the model with this,
# created by the migration on PostgreSQL alone, and compared with the database only there.
ONLY_ON = "only_on_dialect"


def postgresql_only(index: sa.Index) -> sa.Index:
    index.info[ONLY_ON] = "postgresql"
    return index.ddl_if(dialect="postgresql")


# Indexes on expressions only PostgreSQL has (n-gram search) are named with this prefix and made
# by the migrations alone; schema comparisons leave them out on every database.
POSTGRESQL_ONLY = "pgx_"


def include_object_for(dialect_name: str):
    """Alembic's `include_object` for a database of this dialect: skips indexes made for another."""

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "index" and (name or "").startswith(POSTGRESQL_ONLY):
            return False
        if type_ == "index" and not reflected:
            only = obj.info.get(ONLY_ON)
            return only is None or only == dialect_name
        return True

    return include
