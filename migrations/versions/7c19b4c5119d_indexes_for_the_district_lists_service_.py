"""Indexes for a district's size: lists in their order, a contract's service log, a worker's entries
for the red-flag checks, active flags, milestones still open; on PostgreSQL, search of names by any one or two characters.

Revision ID: 7c19b4c5119d
Revises: 05a37e166b92
Create Date: 2026-12-05 00:15:36.046946

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c19b4c5119d'
down_revision = '05a37e166b92'
branch_labels = None
depends_on = None


# The characters and pairs of characters of a lower-cased text: a name contains a searched text
# only if its grams contain the text's (one character, or every pair), so a GIN index over them
# answers a search for Chinese names of two characters, which trigrams cannot.
GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION pgx_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array(SELECT DISTINCT g FROM (
    SELECT substr(lower(value), i, 1) AS g FROM generate_series(1, length(value)) AS i
    UNION ALL
    SELECT substr(lower(value), i, 2) FROM generate_series(1, length(value) - 1) AS i) AS grams)
$$
"""


def upgrade():
    with op.batch_alter_table('activity_worker', schema=None) as batch_op:
        batch_op.create_index('ix_activity_worker_worker', ['social_worker_id', 'activity_id'], unique=False)

    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiary_org_name', ['organization_id', 'name', 'id'], unique=False)

    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.create_index('ix_bid_org_submitted', ['organization_id', 'submitted_at', 'id'], unique=False)

    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_round_scheduled', ['scheduled_start', 'id'], unique=False)

    open_statuses = sa.text("status IN ('pending', 'returned', 'submitted')")
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.create_index('ix_milestone_open', ['due_date', 'contract_id'], unique=False,
                              postgresql_where=open_statuses, sqlite_where=open_statuses)

    with op.batch_alter_table('red_flag', schema=None) as batch_op:
        batch_op.create_index('ix_red_flag_active_found', ['found_at', 'id'], unique=False, postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.create_index('ix_service_activity_contract_day', ['contract_id', 'activity_date', 'start_time', 'id'], unique=False)
        # Covered by the index above, or never selective: only a cost to every entry written.
        batch_op.drop_index('ix_service_activity_contract_id')
        batch_op.drop_index('ix_service_activity_type')
        batch_op.create_index('ix_service_activity_day', ['activity_date', 'id'], unique=False)
        batch_op.drop_index('ix_service_activity_activity_date')

    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRAMS_FUNCTION)
        op.execute("CREATE INDEX pgx_beneficiary_name_grams ON beneficiary USING gin (pgx_grams(name))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS pgx_beneficiary_name_grams")
        op.execute("DROP FUNCTION IF EXISTS pgx_grams(text)")
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.create_index('ix_service_activity_activity_date', ['activity_date'], unique=False)
        batch_op.drop_index('ix_service_activity_day')
        batch_op.create_index('ix_service_activity_type', ['type'], unique=False)
        batch_op.create_index('ix_service_activity_contract_id', ['contract_id'], unique=False)
        batch_op.drop_index('ix_service_activity_contract_day')

    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.drop_index('ix_milestone_open')

    with op.batch_alter_table('red_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_red_flag_active_found', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_round_scheduled')

    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.drop_index('ix_bid_org_submitted')

    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.drop_index('ix_beneficiary_org_name')

    with op.batch_alter_table('activity_worker', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_worker_worker')

