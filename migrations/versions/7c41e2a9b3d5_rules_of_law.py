"""The rules of law: the bureau's local calendar days, experts' categories and their ties to organizations.

Revision ID: 7c41e2a9b3d5
Revises: a8d438a93a02
Create Date: 2026-12-05 21:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c41e2a9b3d5"
down_revision = "a8d438a93a02"
branch_labels = None
depends_on = None

CATEGORIES = ("elderly", "children", "disability", "low_income", "family", "youth", "community_building", "other")


def upgrade():
    op.create_table(
        "local_calendar_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Enum("day_off", "working_day", name="local_day_kind", native_enum=False,
                                  create_constraint=True, length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )
    op.create_table(
        "expert_category",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.Enum(*CATEGORIES, name="service_category", native_enum=False,
                                      create_constraint=True, length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "category"),
    )
    op.create_table(
        "expert_affiliation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("staff", "former_staff", "relation", name="affiliation_kind", native_enum=False,
                                  create_constraint=True, length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "organization_id", "kind", name="uq_expert_affiliation"),
    )
    op.create_index("ix_expert_affiliation_user_id", "expert_affiliation", ["user_id"])
    op.create_index("ix_expert_affiliation_organization_id", "expert_affiliation", ["organization_id"])


def downgrade():
    op.drop_index("ix_expert_affiliation_organization_id", table_name="expert_affiliation")
    op.drop_index("ix_expert_affiliation_user_id", table_name="expert_affiliation")
    op.drop_table("expert_affiliation")
    op.drop_table("expert_category")
    op.drop_table("local_calendar_day")
