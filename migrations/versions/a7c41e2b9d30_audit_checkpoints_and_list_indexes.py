"""Audit trail at district scale: checkpoints of chain verification, indexes for the list's filters.

Revision ID: a7c41e2b9d30
Revises: 3c5e8f1a9b27
Create Date: 2026-11-28 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c41e2b9d30'
down_revision = '3c5e8f1a9b27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('from_seq', sa.BigInteger(), nullable=False),
    sa.Column('checked', sa.BigInteger(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('bad_seq', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Action prefixes (LIKE 'x%') use a btree under any collation only with the pattern
        # operator class; actor names matched anywhere (ILIKE '%x%') need a trigram index.
        op.drop_index('ix_audit_event_action', table_name='audit_event')
        op.create_index('ix_audit_event_action', 'audit_event', ['action'], unique=False,
                        postgresql_ops={'action': 'varchar_pattern_ops'})
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_audit_event_actor_name_trgm', 'audit_event', ['actor_name'], unique=False,
                        postgresql_using='gin', postgresql_ops={'actor_name': 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_audit_event_actor_name_trgm', table_name='audit_event')
        op.drop_index('ix_audit_event_action', table_name='audit_event')
        op.create_index('ix_audit_event_action', 'audit_event', ['action'], unique=False)
    op.drop_table('audit_checkpoint')
