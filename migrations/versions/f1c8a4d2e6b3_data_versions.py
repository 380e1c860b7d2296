"""Versions of kinds of data (core/versions.py): the menu's reminder badge is counted once
per version of the milestones and contracts and kept, instead of counted on every page; the
bureau's spending by category and month likewise, per version of plans, contracts and payments,
an organization's ranked final grades per version of the final rounds, the bureau's local
calendar days per version of them, and the deadline queues' rows per version of tenders,
contracts and milestones.

Revision ID: f1c8a4d2e6b3
Revises: d8b4f2a6c915
Create Date: 2026-12-06 04:45:00
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "f1c8a4d2e6b3"
down_revision = "d8b4f2a6c915"
branch_labels = None
depends_on = None

KINDS = ("reminders", "spending", "grades", "calendar", "deadlines")


def upgrade():
    table = op.create_table(
        "data_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_version")),
    )
    # A random number, as every later version (core/versions.py).
    op.bulk_insert(table, [{"name": name, "value": secrets.randbits(62)} for name in KINDS])


def downgrade():
    op.drop_table("data_version")
