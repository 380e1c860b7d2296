"""The results pages' figures stored once decided, so every web host shows the same ones and no page
reads the whole service log.

Revision ID: b3f9e6c1d2a4
Revises: e5a1c7d3f920
Create Date: 2026-12-06 02:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b3f9e6c1d2a4"
down_revision = "e5a1c7d3f920"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_figures",
        sa.Column("minimum", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("minimum", name=op.f("pk_public_figures")),
    )


def downgrade():
    op.drop_table("public_figures")
