"""A contract's standing red flags read from an index in the order its page lists them (by kind,
then id) and in the order the API pages them (by id): the page took its 25 flags by sorting every
standing flag of the district, 25 ms for a contract with tens of thousands of them, and the API
sorted all of the contract's.

Revision ID: d4f1a7c3e902
Revises: c2e8f4a6b917
Create Date: 2026-12-07 01:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "d4f1a7c3e902"
down_revision = "c2e8f4a6b917"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_red_flag_contract_active", "red_flag", ["contract_id", "kind", "id"],
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active"))
    op.create_index("ix_red_flag_contract_active_id", "red_flag", ["contract_id", "id"],
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active"))


def downgrade():
    op.drop_index("ix_red_flag_contract_active_id", table_name="red_flag")
    op.drop_index("ix_red_flag_contract_active", table_name="red_flag")
