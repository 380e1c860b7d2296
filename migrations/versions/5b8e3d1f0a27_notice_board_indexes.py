"""The public notice board's filters and order, each from an index: every kind of notice's day (the
tender's publication, publicity and termination moments, the contract's signing day, the amendment's
day, each with the id), the service category of a plan, and the plans serving a community.

Revision ID: 5b8e3d1f0a27
Revises: e5b1d3f7a920
Create Date: 2026-12-06 01:30:00
"""
from alembic import op

revision = "5b8e3d1f0a27"
down_revision = "e5b1d3f7a920"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_tender_publish_at", "tender", ["publish_at", "id"]),
    ("ix_tender_publicity_starts_at", "tender", ["publicity_starts_at", "id"]),
    ("ix_tender_status_changed_at", "tender", ["status_changed_at", "id"]),
    ("ix_contract_signed_on", "contract", ["signed_on", "id"]),
    ("ix_contract_amendment_amended_on", "contract_amendment", ["amended_on", "id"]),
    ("ix_project_plan_category", "project_plan", ["category"]),
    ("ix_plan_community_area", "plan_community", ["area_id", "plan_id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
