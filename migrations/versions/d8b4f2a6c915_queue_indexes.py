"""Partial indexes for two of the bureau's home queues: the performance bonds still held and the
accepted milestones waiting for their payment.

Revision ID: d8b4f2a6c915
Revises: c6a2d8e4f013
Create Date: 2026-12-06 02:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d8b4f2a6c915"
down_revision = "c6a2d8e4f013"
branch_labels = None
depends_on = None

BOND_HELD = "bond_fen IS NOT NULL AND bond_returned_on IS NULL"
ACCEPTED = "status = 'accepted'"


def upgrade():
    op.create_index("ix_contract_bond_held", "contract", ["status_changed_at", "id"],
                    postgresql_where=sa.text(BOND_HELD), sqlite_where=sa.text(BOND_HELD))
    op.create_index("ix_milestone_accepted", "milestone", ["contract_id"],
                    postgresql_where=sa.text(ACCEPTED), sqlite_where=sa.text(ACCEPTED))


def downgrade():
    op.drop_index("ix_milestone_accepted", table_name="milestone")
    op.drop_index("ix_contract_bond_held", table_name="contract")
