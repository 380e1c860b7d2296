"""Procurement: community needs, project plans, tenders, sealed bids, expert panels, objections; stored files.

Revision ID: 669076467df9
Revises: 413627e96291
Create Date: 2026-11-21 09:25:04.069480

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '669076467df9'
down_revision = '413627e96291'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.Enum('elderly', 'children', 'disability', 'low_income', 'family', 'youth', 'community_building', 'other', name='service_category', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
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
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_project_plan_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_plan'))
    )
    with op.batch_alter_table('project_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_plan_fiscal_year'), ['fiscal_year'], unique=False)

    op.create_table('stored_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_stored_file_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_file')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_stored_file_stored_name'))
    )
    op.create_table('community_need',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_code', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('elderly', 'children', 'disability', 'low_income', 'family', 'youth', 'community_building', 'other', name='service_category', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'adopted', 'declined', 'addressed', 'merged', name='need_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_community_need_community_id_area')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['community_need.id'], name=op.f('fk_community_need_merged_into_id_community_need')),
    sa.ForeignKeyConstraint(['plan_id'], ['project_plan.id'], name=op.f('fk_community_need_plan_id_project_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_need')),
    sa.UniqueConstraint('receipt_code', name=op.f('uq_community_need_receipt_code'))
    )
    with op.batch_alter_table('community_need', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_need_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_need_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_need_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('plan_community',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_plan_community_area_id_area')),
    sa.ForeignKeyConstraint(['plan_id'], ['project_plan.id'], name=op.f('fk_plan_community_plan_id_project_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'area_id', name=op.f('pk_plan_community'))
    )
    op.create_table('tender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('method', sa.Enum('public_tender', 'competitive_consultation', 'competitive_negotiation', 'inquiry', 'single_source', name='tender_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('ceiling_fen', sa.BigInteger(), nullable=False),
    sa.Column('min_rating', sa.Enum('none', '1A', '2A', '3A', '4A', '5A', name='org_rating', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('price_weight', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('publish_at', sa.DateTime(), nullable=True),
    sa.Column('clarification_deadline', sa.DateTime(), nullable=False),
    sa.Column('bid_deadline', sa.DateTime(), nullable=False),
    sa.Column('opening_at', sa.DateTime(), nullable=False),
    sa.Column('publicity_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'bidding_closed', 'opened', 'scored', 'award_proposed', 'in_publicity', 'awarded', 'cancelled', 'failed', name='tender_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('scored_at', sa.DateTime(), nullable=True),
    sa.Column('proposed_bid_id', sa.Integer(), nullable=True),
    sa.Column('publicity_round', sa.Integer(), nullable=False),
    sa.Column('publicity_starts_at', sa.DateTime(), nullable=True),
    sa.Column('publicity_ends_at', sa.DateTime(), nullable=True),
    sa.Column('awarded_bid_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_tender_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['plan_id'], ['project_plan.id'], name=op.f('fk_tender_plan_id_project_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender')),
    sa.UniqueConstraint('number', name=op.f('uq_tender_number'))
    )
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_status'), ['status'], unique=False)

    op.create_table('bid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'withdrawn', name='bid_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('receipt_code', sa.String(length=24), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=True),
    sa.Column('digest_verified', sa.Boolean(), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('invalid_reason', sa.Text(), nullable=False),
    sa.Column('technical_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('price_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('total_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_bid_organization_id_organization')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_bid_submitted_by_id_user_account')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_bid_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid')),
    sa.UniqueConstraint('receipt_code', name=op.f('uq_bid_receipt_code')),
    sa.UniqueConstraint('tender_id', 'organization_id', name='uq_bid_tender_org')
    )
    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bid_tender_id'), ['tender_id'], unique=False)

    # Tender and bid point at each other: the tender's links to its proposed and awarded bids
    # can only be added once the bid table exists.
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_tender_proposed_bid_id_bid', 'bid', ['proposed_bid_id'], ['id'])
        batch_op.create_foreign_key('fk_tender_awarded_bid_id_bid', 'bid', ['awarded_bid_id'], ['id'])

    op.create_table('clarification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_clarification_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['asked_by_id'], ['user_account.id'], name=op.f('fk_clarification_asked_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_clarification_organization_id_organization')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_clarification_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification'))
    )
    with op.batch_alter_table('clarification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_tender_id'), ['tender_id'], unique=False)

    op.create_table('objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('publicity_round', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'dismissed', 'upheld', name='objection_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_objection_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'], name=op.f('fk_objection_filed_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_objection_organization_id_organization')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_objection_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection'))
    )
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_criterion_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_criterion'))
    )
    with op.batch_alter_table('tender_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_criterion_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_tender_document_file_id_stored_file')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_document_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_document'))
    )
    with op.batch_alter_table('tender_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_document_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_expert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(), nullable=True),
    sa.Column('related_org_ids', sa.JSON(), nullable=False),
    sa.Column('declaration_note', sa.Text(), nullable=False),
    sa.Column('conflicted', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_tender_expert_assigned_by_id_user_account')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_expert_tender_id_tender')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_tender_expert_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_expert')),
    sa.UniqueConstraint('tender_id', 'user_id', name='uq_tender_expert_tender_user')
    )
    with op.batch_alter_table('tender_expert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_expert_tender_id'), ['tender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_expert_user_id'), ['user_id'], unique=False)

    op.create_table('bid_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_bid_document_bid_id_bid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_bid_document_file_id_stored_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_document'))
    )
    with op.batch_alter_table('bid_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_document_bid_id'), ['bid_id'], unique=False)

    op.create_table('expert_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_expert_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_expert_score_bid_id_bid')),
    sa.ForeignKeyConstraint(['criterion_id'], ['tender_criterion.id'], name=op.f('fk_expert_score_criterion_id_tender_criterion')),
    sa.ForeignKeyConstraint(['tender_expert_id'], ['tender_expert.id'], name=op.f('fk_expert_score_tender_expert_id_tender_expert'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_score')),
    sa.UniqueConstraint('tender_expert_id', 'bid_id', 'criterion_id', name='uq_expert_score_cell')
    )
    with op.batch_alter_table('expert_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_score_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expert_score_tender_expert_id'), ['tender_expert_id'], unique=False)

    op.create_table('objection_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_objection_document_file_id_stored_file')),
    sa.ForeignKeyConstraint(['objection_id'], ['objection.id'], name=op.f('fk_objection_document_objection_id_objection')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection_document'))
    )
    with op.batch_alter_table('objection_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_document_objection_id'), ['objection_id'], unique=False)



def downgrade():
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tender_awarded_bid_id_bid', type_='foreignkey')
        batch_op.drop_constraint('fk_tender_proposed_bid_id_bid', type_='foreignkey')

    with op.batch_alter_table('objection_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objection_document_objection_id'))

    op.drop_table('objection_document')
    with op.batch_alter_table('expert_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_score_tender_expert_id'))
        batch_op.drop_index(batch_op.f('ix_expert_score_bid_id'))

    op.drop_table('expert_score')
    with op.batch_alter_table('bid_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_document_bid_id'))

    op.drop_table('bid_document')
    with op.batch_alter_table('tender_expert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_expert_user_id'))
        batch_op.drop_index(batch_op.f('ix_tender_expert_tender_id'))

    op.drop_table('tender_expert')
    with op.batch_alter_table('tender_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_document_tender_id'))

    op.drop_table('tender_document')
    with op.batch_alter_table('tender_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_criterion_tender_id'))

    op.drop_table('tender_criterion')
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objection_tender_id'))

    op.drop_table('objection')
    with op.batch_alter_table('clarification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clarification_tender_id'))

    op.drop_table('clarification')
    with op.batch_alter_table('bid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_tender_id'))
        batch_op.drop_index(batch_op.f('ix_bid_organization_id'))

    op.drop_table('bid')
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_status'))
        batch_op.drop_index(batch_op.f('ix_tender_plan_id'))

    op.drop_table('tender')
    op.drop_table('plan_community')
    with op.batch_alter_table('community_need', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_need_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_community_need_plan_id'))
        batch_op.drop_index(batch_op.f('ix_community_need_community_id'))

    op.drop_table('community_need')
    op.drop_table('stored_file')
    with op.batch_alter_table('project_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_plan_fiscal_year'))

    op.drop_table('project_plan')
