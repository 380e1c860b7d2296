"""Money guarantees and fairness: bid deposits received and returned, the performance bond on a contract,
an organization's declared enterprise scale with the tender's small and micro enterprise price deduction
(each bid's evaluated price), and the written explanation of an abnormally low bid.

Revision ID: e5b1d3f7a920
Revises: a7c3e91d5f20
Create Date: 2026-12-06 01:01:58
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b1d3f7a920'
down_revision = 'a7c3e91d5f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bid_deposit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('form', sa.Enum('transfer', 'guarantee_letter', name='deposit_form', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_bid_deposit_bid_id_bid')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_bid_deposit_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['returned_by_id'], ['user_account.id'], name=op.f('fk_bid_deposit_returned_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_deposit')),
    sa.UniqueConstraint('bid_id', name=op.f('uq_bid_deposit_bid_id'))
    )
    with op.batch_alter_table('bid_deposit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_deposit_returned_on'), ['returned_on'], unique=False)

    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deduction_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('evaluated_price_fen', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('low_price_explanation', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('low_price_explained_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('low_price_file_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('low_price_accepted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('low_price_accepted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_bid_low_price_accepted_by_id_user_account'), 'user_account', ['low_price_accepted_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_bid_low_price_file_id_stored_file'), 'stored_file', ['low_price_file_id'], ['id'])

    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bond_fen', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('bond_form', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bond_received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bond_returned_on', sa.Date(), nullable=True))

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scale', sa.Enum('unstated', 'large', 'medium', 'small', 'micro', name='org_scale', native_enum=False, create_constraint=True, length=32), server_default='unstated', nullable=False))

    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deposit_fen', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('sme_deduction_percent', sa.Integer(), server_default='10', nullable=False))



def downgrade():
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.drop_column('sme_deduction_percent')
        batch_op.drop_column('deposit_fen')

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organization_org_scale'), type_='check')
        batch_op.drop_column('scale')

    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_column('bond_returned_on')
        batch_op.drop_column('bond_received_on')
        batch_op.drop_column('bond_form')
        batch_op.drop_column('bond_fen')

    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bid_low_price_file_id_stored_file'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_bid_low_price_accepted_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('low_price_accepted_by_id')
        batch_op.drop_column('low_price_accepted_at')
        batch_op.drop_column('low_price_file_id')
        batch_op.drop_column('low_price_explained_at')
        batch_op.drop_column('low_price_explanation')
        batch_op.drop_column('evaluated_price_fen')
        batch_op.drop_column('deduction_percent')

    with op.batch_alter_table('bid_deposit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_deposit_returned_on'))

    op.drop_table('bid_deposit')
