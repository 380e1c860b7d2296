"""The public results pages' stored figures kept by each process per version of them
(public/sharing.py): a kind of data in `data_version` that every refresh of the figures renews.

Revision ID: e8c1f5a3b729
Revises: d4f1a7c3e902
Create Date: 2026-12-07 06:00:00
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "e8c1f5a3b729"
down_revision = "d4f1a7c3e902"
branch_labels = None
depends_on = None

KINDS = ("public_figures",)
_table = sa.table("data_version", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def upgrade():
    op.bulk_insert(_table, [{"name": name, "value": secrets.randbits(62)} for name in KINDS])


def downgrade():
    op.execute(_table.delete().where(_table.c.name.in_(KINDS)))
