"""Sessions kept on the server (logging out ends them) and failed logins counted per account and
address (a lockout a stranger cannot use against an account).

Revision ID: 4d1e7c2a9b60
Revises: 3c7e52a9d1f4
Create Date: 2026-12-05 04:00:00
"""
import sqlalchemy as sa
from alembic import op

from svcproc.core.types import UTCDateTime

revision = "4d1e7c2a9b60"
down_revision = "3c7e52a9d1f4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locks", sa.Integer, nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("login_throttle")
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
