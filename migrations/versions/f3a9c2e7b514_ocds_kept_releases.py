"""Each contracting process's OCDS releases kept as built, with the fingerprint of what they were
built from, so the release pages read them instead of building them (svcproc/ocds/store.py).

Revision ID: f3a9c2e7b514
Revises: f1c8a4d2e6b3
Create Date: 2026-12-06 04:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "f3a9c2e7b514"
down_revision = "f1c8a4d2e6b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ocds_process",
        sa.Column("tender_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("progress", sa.String(length=40), nullable=False),
        sa.Column("months", sa.String(length=16), nullable=False),
        sa.Column("latest", sa.String(length=20), nullable=False),
        sa.Column("releases", sa.Text(), nullable=False),
        sa.Column("compiled", sa.Text(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tender_id"], ["tender.id"], name=op.f("fk_ocds_process_tender_id_tender"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_ocds_process")),
    )


def downgrade():
    op.drop_table("ocds_process")
