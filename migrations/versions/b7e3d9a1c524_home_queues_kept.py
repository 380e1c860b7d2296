"""The home page's work queues kept per version of what they are read from (core/nav.py, panels
with `kept`): six more kinds of data in `data_version`, for the queues of procurement (needs,
tenders, bids, deposits, objections, complaints), of contracts (milestones), of monitoring cases,
of rectification items, the red flags standing unexplained, and the auditor's desk.

Revision ID: b7e3d9a1c524
Revises: a4c9e2f7b318
Create Date: 2026-12-06 08:10:00
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "b7e3d9a1c524"
down_revision = "a4c9e2f7b318"
branch_labels = None
depends_on = None

KINDS = ("procurement_queues", "contract_queues", "monitoring_queues", "rectification_queues", "flags", "desk")
_table = sa.table("data_version", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def upgrade():
    op.bulk_insert(_table, [{"name": name, "value": secrets.randbits(62)} for name in KINDS])


def downgrade():
    op.execute(_table.delete().where(_table.c.name.in_(KINDS)))
