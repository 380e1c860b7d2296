"""A social worker's last entries, newest first, read from an index (their home page's queue).

Revision ID: 6a3b9d0e4f12
Revises: 5e2f8a1c3d70
Create Date: 2026-12-05 05:15:00
"""
from alembic import op

revision = "6a3b9d0e4f12"
down_revision = "5e2f8a1c3d70"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_service_activity_creator", "service_activity", ["created_by_id", "created_at", "id"])


def downgrade():
    op.drop_index("ix_service_activity_creator", table_name="service_activity")
