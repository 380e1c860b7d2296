"""Contracts from awards, their amendments, milestones with deliverables, and payments.

Revision ID: e1b184a03e87
Revises: 669076467df9
Create Date: 2026-11-21 09:42:28.109239

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1b184a03e87'
down_revision = '669076467df9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('original_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('long_term_reason', sa.Text(), nullable=False),
    sa.Column('service_content', sa.Text(), nullable=False),
    sa.Column('quantity', sa.Text(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.Column('settlement', sa.Text(), nullable=False),
    sa.Column('rights_obligations', sa.Text(), nullable=False),
    sa.Column('breach_liability', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed', 'in_progress', 'completed', 'closed', 'terminated', name='contract_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('target_cases', sa.Integer(), nullable=False),
    sa.Column('target_groups', sa.Integer(), nullable=False),
    sa.Column('target_group_sessions', sa.Integer(), nullable=False),
    sa.Column('target_events', sa.Integer(), nullable=False),
    sa.Column('target_person_times', sa.Integer(), nullable=False),
    sa.Column('target_people', sa.Integer(), nullable=False),
    sa.Column('target_service_hours', sa.Integer(), nullable=False),
    sa.Column('target_satisfaction', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_contract_bid_id_bid')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_contract_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_contract_organization_id_organization')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_contract_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
    sa.UniqueConstraint('number', name=op.f('uq_contract_number')),
    sa.UniqueConstraint('tender_id', name=op.f('uq_contract_tender_id'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_status'), ['status'], unique=False)

    op.create_table('contract_amendment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('amended_on', sa.Date(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('amount_added_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_amendment_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_contract_amendment_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_amendment')),
    sa.UniqueConstraint('contract_id', 'number', name='uq_contract_amendment_number')
    )
    with op.batch_alter_table('contract_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_amendment_contract_id'), ['contract_id'], unique=False)

    op.create_table('milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('required_deliverables', sa.Text(), nullable=False),
    sa.Column('tranche_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('status', sa.Enum('pending', 'submitted', 'accepted', 'returned', 'paid', name='milestone_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_milestone_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_milestone_reviewed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone'))
    )
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestone_due_date'), ['due_date'], unique=False)

    op.create_table('deliverable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('plan', 'report', 'sign_in_sheet', 'photo', 'other', name='deliverable_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_deliverable_file_id_stored_file')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestone.id'], name=op.f('fk_deliverable_milestone_id_milestone'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliverable'))
    )
    with op.batch_alter_table('deliverable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliverable_milestone_id'), ['milestone_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('voucher_number', sa.String(length=60), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_contract_id_contract')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestone.id'], name=op.f('fk_payment_milestone_id_milestone')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_payment_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('contract_id', 'voucher_number', name='uq_payment_voucher')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_milestone_id'), ['milestone_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_milestone_id'))
        batch_op.drop_index(batch_op.f('ix_payment_contract_id'))

    op.drop_table('payment')
    with op.batch_alter_table('deliverable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliverable_milestone_id'))

    op.drop_table('deliverable')
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_due_date'))
        batch_op.drop_index(batch_op.f('ix_milestone_contract_id'))

    op.drop_table('milestone')
    with op.batch_alter_table('contract_amendment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_amendment_contract_id'))

    op.drop_table('contract_amendment')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_status'))
        batch_op.drop_index(batch_op.f('ix_contract_organization_id'))

    op.drop_table('contract')
