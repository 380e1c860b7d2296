"""Which process runs a job (so a job left by a dead process can be failed at start-up), and the
rows of a ledger that repeat an earlier row of the same file.

Revision ID: 9b4d2c7e1a58
Revises: 9b2d4f6a8c13
Create Date: 2026-12-05 21:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9b4d2c7e1a58"
down_revision = "9b2d4f6a8c13"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("runner", sa.String(length=120), nullable=False, server_default=""))
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("rows_repeated", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("repeats", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("repeats")
        batch.drop_column("rows_repeated")
    with op.batch_alter_table("job") as batch:
        batch.drop_column("runner")
