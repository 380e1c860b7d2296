"""The bureau's queue of needs to answer reads an index of the waiting needs alone.

Revision ID: c6a2d8e4f013
Revises: b3f9e6c1d2a4
Create Date: 2026-12-06 02:35:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c6a2d8e4f013"
down_revision = "b3f9e6c1d2a4"
branch_labels = None
depends_on = None

WAITING = "status = 'submitted'"


def upgrade():
    op.create_index("ix_community_need_waiting", "community_need", ["submitted_at", "id"],
                    postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))


def downgrade():
    op.drop_index("ix_community_need_waiting", table_name="community_need")
