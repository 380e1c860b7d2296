"""The community choices of the service pages' forms and filters kept by each process per version
of the district's areas (delivery/views/common.py): a kind of data in `data_version` that every
change of an area renews.

Revision ID: a3c9e5f7d214
Revises: f2d6b8a4c130
Create Date: 2026-12-07 12:40:00
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "a3c9e5f7d214"
down_revision = "f2d6b8a4c130"
branch_labels = None
depends_on = None

KINDS = ("areas",)
_table = sa.table("data_version", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def upgrade():
    op.bulk_insert(_table, [{"name": name, "value": secrets.randbits(62)} for name in KINDS])


def downgrade():
    op.execute(_table.delete().where(_table.c.name.in_(KINDS)))
