"""An organization's contracts read from an index in the order its lists show them (newest first):
the index of the organization alone gave them in no order, so a list of the largest organization
(a third of the district) sorted all its contracts for a page of 25, or PostgreSQL walked every
contract of the district backwards, whichever it guessed cheaper for the organization asked.

Revision ID: c2e8f4a6b917
Revises: b7e3d9a1c524
Create Date: 2026-12-06 16:20:00
"""
from alembic import op

revision = "c2e8f4a6b917"
down_revision = "b7e3d9a1c524"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contract_organization", "contract", ["organization_id", "id"])
    op.drop_index("ix_contract_organization_id", table_name="contract")


def downgrade():
    op.create_index("ix_contract_organization_id", "contract", ["organization_id"])
    op.drop_index("ix_contract_organization", table_name="contract")
