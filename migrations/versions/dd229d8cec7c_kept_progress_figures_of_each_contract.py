"""Each contract's progress figures as last computed, with the version of its service log they are for,
so the progress page reads one row until the log changes

Revision ID: dd229d8cec7c
Revises: b3e9d2f71c05
Create Date: 2026-12-05 01:35:37.781251

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dd229d8cec7c'
down_revision = 'b3e9d2f71c05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contract_progress',
    sa.Column('contract_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('log_version', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('figures_version', sa.BigInteger(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_progress_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_contract_progress'))
    )


def downgrade():
    op.drop_table('contract_progress')
