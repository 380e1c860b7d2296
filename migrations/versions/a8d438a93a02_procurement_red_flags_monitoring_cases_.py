"""Procurement red flags as last computed, auditors' monitoring cases with their documents, and the day
an organization's rating was given (ratings given before hold no recorded date and are not aged).

Revision ID: a8d438a93a02
Revises: 9b4d2c7e1a58
Create Date: 2026-12-05 21:18:51.630607

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8d438a93a02'
down_revision = '9b4d2c7e1a58'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('monitoring_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('flag_kind', sa.String(length=40), nullable=False),
    sa.Column('flag_figures', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('open', 'awaiting_answer', 'answered', 'concluded', name='monitoring_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('conclusion', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('concluded_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_monitoring_case_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_monitoring_case_contract_id_contract')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_monitoring_case_opened_by_id_user_account')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_monitoring_case_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_case'))
    )
    with op.batch_alter_table('monitoring_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_case_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_case_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_case_tender_id'), ['tender_id'], unique=False)

    op.create_table('procurement_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('single_valid_bid', 'short_bidding_period', 'award_near_ceiling', 'identical_prices', 'prices_percent_apart', 'others_all_invalid', 'lowest_invalid', 'repeated_single_source', 'large_award_share', 'many_categories', 'shared_contact', 'late_signature', 'service_before_signature', 'unpaid_milestone', 'early_amendment', 'amendment_near_cap', name='procurement_flag_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=True),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('fiscal_year', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('found_at', sa.DateTime(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_procurement_flag_contract_id_contract')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_procurement_flag_organization_id_organization')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_procurement_flag_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_flag')),
    sa.UniqueConstraint('key', name=op.f('uq_procurement_flag_key'))
    )
    with op.batch_alter_table('procurement_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_flag_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_flag_found_at'), ['found_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_flag_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_flag_tender_id'), ['tender_id'], unique=False)

    op.create_table('monitoring_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['monitoring_case.id'], name=op.f('fk_monitoring_document_case_id_monitoring_case')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_monitoring_document_file_id_stored_file')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_monitoring_document_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_document'))
    )
    with op.batch_alter_table('monitoring_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_document_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rated_on', sa.Date(), nullable=True))



def downgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('rated_on')

    with op.batch_alter_table('monitoring_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_document_case_id'))

    op.drop_table('monitoring_document')
    with op.batch_alter_table('procurement_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_flag_tender_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_flag_organization_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_flag_found_at'))
        batch_op.drop_index(batch_op.f('ix_procurement_flag_contract_id'))

    op.drop_table('procurement_flag')
    with op.batch_alter_table('monitoring_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_case_tender_id'))
        batch_op.drop_index(batch_op.f('ix_monitoring_case_status'))
        batch_op.drop_index(batch_op.f('ix_monitoring_case_contract_id'))

    op.drop_table('monitoring_case')
