"""An organization's final grades read from an index of the finalized final rounds (its page and
its bidding bars), not from every round of the district.

Revision ID: e5a1c7d3f920
Revises: 5b8e3d1f0a27
Create Date: 2026-12-06 01:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e5a1c7d3f920"
down_revision = "5b8e3d1f0a27"
branch_labels = None
depends_on = None

FINAL_GRADES_SQL = "kind = 'final' AND status = 'finalized'"


def upgrade():
    op.create_index("ix_evaluation_round_final_grades", "evaluation_round", ["contract_id"],
                    postgresql_include=["id", "finalized_at", "grade"],
                    postgresql_where=sa.text(FINAL_GRADES_SQL), sqlite_where=sa.text(FINAL_GRADES_SQL))


def downgrade():
    op.drop_index("ix_evaluation_round_final_grades", table_name="evaluation_round")
