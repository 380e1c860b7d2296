"""Personal access tokens for the JSON API (stored hashed); contracts keep when they last changed;
indexes so the change feed reads service entries and contracts in the order they changed.

Revision ID: 7f3a1c9e2d45
Revises: 7c41e2a9b3d5
Create Date: 2026-12-05 22:20:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '7f3a1c9e2d45'
down_revision = '7c41e2a9b3d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('last_refused_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.create_index('ix_service_activity_changed', ['updated_at', 'id'], unique=False)
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    # Contracts so far: last changed, as far as is known, when their status last did.
    op.execute("UPDATE contract SET updated_at = status_changed_at")
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_contract_changed', ['updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_changed')
        batch_op.drop_column('updated_at')
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_service_activity_changed')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
    op.drop_table('api_token')
