"""Service delivery: the beneficiary register, activities with revisions, ledger imports, red flags; background jobs.

Revision ID: 46a638e957d2
Revises: e1b184a03e87
Create Date: 2026-11-21 10:14:22.975174

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '46a638e957d2'
down_revision = 'e1b184a03e87'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('beneficiary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('gender', sa.Enum('female', 'male', name='gender', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('id_number_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_masked', sa.String(length=20), nullable=False),
    sa.Column('id_match_key', sa.String(length=64), nullable=True),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=False),
    sa.Column('consent_by', sa.Enum('self', 'guardian', name='consent_by', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('guardian_name', sa.String(length=100), nullable=False),
    sa.Column('consent_method', sa.Enum('written', 'electronic', 'verbal_recorded', name='consent_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_beneficiary_community_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_beneficiary_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_beneficiary_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary')),
    sa.UniqueConstraint('organization_id', 'id_match_key', name='uq_beneficiary_org_person')
    )
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beneficiary_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiary_id_match_key'), ['id_match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiary_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiary_organization_id'), ['organization_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='job_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_job_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_kind'), ['kind'], unique=False)

    op.create_table('contract_worker',
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('social_worker_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_worker_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['social_worker_id'], ['social_worker.id'], name=op.f('fk_contract_worker_social_worker_id_social_worker')),
    sa.PrimaryKeyConstraint('contract_id', 'social_worker_id', name=op.f('pk_contract_worker'))
    )
    op.create_table('import_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('checked', 'importing', 'imported', 'failed', name='import_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_new', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('preview', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_import_batch_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_batch_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_import_batch_file_id_stored_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch'))
    )
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batch_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_batch_sha256'), ['sha256'], unique=False)

    op.create_table('red_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('worker_overlap', 'worker_hours', 'outside_period', 'double_counted', 'duplicate', name='red_flag_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('activity_ids', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('found_at', sa.DateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('explained_at', sa.DateTime(), nullable=True),
    sa.Column('explained_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_red_flag_contract_id_contract')),
    sa.ForeignKeyConstraint(['explained_by_id'], ['user_account.id'], name=op.f('fk_red_flag_explained_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_flag')),
    sa.UniqueConstraint('key', name=op.f('uq_red_flag_key'))
    )
    with op.batch_alter_table('red_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_flag_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_red_flag_kind'), ['kind'], unique=False)

    op.create_table('service_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_service_case_beneficiary_id_beneficiary')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_service_case_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_case')),
    sa.UniqueConstraint('contract_id', 'beneficiary_id', name='uq_service_case_person')
    )
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_case_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_case_contract_id'), ['contract_id'], unique=False)

    op.create_table('service_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('planned_sessions', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_service_group_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_group')),
    sa.UniqueConstraint('contract_id', 'name', name='uq_service_group_name')
    )
    with op.batch_alter_table('service_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_group_contract_id'), ['contract_id'], unique=False)

    op.create_table('group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_group_member_beneficiary_id_beneficiary')),
    sa.ForeignKeyConstraint(['group_id'], ['service_group.id'], name=op.f('fk_group_member_group_id_service_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'beneficiary_id', name=op.f('pk_group_member'))
    )
    op.create_table('service_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('case_work', 'group_session', 'community_event', 'deliberation', 'volunteer_training', name='activity_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('activity_date', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('head_count', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('session_number', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['service_case.id'], name=op.f('fk_service_activity_case_id_service_case')),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_service_activity_community_id_area')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_service_activity_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_service_activity_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['group_id'], ['service_group.id'], name=op.f('fk_service_activity_group_id_service_group')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batch.id'], name=op.f('fk_service_activity_import_batch_id_import_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_activity'))
    )
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_activity_activity_date'), ['activity_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_import_batch_id'), ['import_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_activity_type'), ['type'], unique=False)

    op.create_table('activity_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['service_activity.id'], name=op.f('fk_activity_evidence_activity_id_service_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_activity_evidence_file_id_stored_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_evidence'))
    )
    with op.batch_alter_table('activity_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_evidence_activity_id'), ['activity_id'], unique=False)

    op.create_table('activity_participant',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['service_activity.id'], name=op.f('fk_activity_participant_activity_id_service_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_activity_participant_beneficiary_id_beneficiary')),
    sa.PrimaryKeyConstraint('activity_id', 'beneficiary_id', name=op.f('pk_activity_participant'))
    )
    with op.batch_alter_table('activity_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_participant_beneficiary_id'), ['beneficiary_id'], unique=False)

    op.create_table('activity_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('replaced_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['service_activity.id'], name=op.f('fk_activity_revision_activity_id_service_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['user_account.id'], name=op.f('fk_activity_revision_replaced_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_revision'))
    )
    with op.batch_alter_table('activity_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_revision_activity_id'), ['activity_id'], unique=False)

    op.create_table('activity_worker',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('social_worker_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['service_activity.id'], name=op.f('fk_activity_worker_activity_id_service_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['social_worker_id'], ['social_worker.id'], name=op.f('fk_activity_worker_social_worker_id_social_worker')),
    sa.PrimaryKeyConstraint('activity_id', 'social_worker_id', name=op.f('pk_activity_worker'))
    )


def downgrade():
    op.drop_table('activity_worker')
    with op.batch_alter_table('activity_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_revision_activity_id'))

    op.drop_table('activity_revision')
    with op.batch_alter_table('activity_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_participant_beneficiary_id'))

    op.drop_table('activity_participant')
    with op.batch_alter_table('activity_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_evidence_activity_id'))

    op.drop_table('activity_evidence')
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_activity_type'))
        batch_op.drop_index(batch_op.f('ix_service_activity_import_batch_id'))
        batch_op.drop_index(batch_op.f('ix_service_activity_group_id'))
        batch_op.drop_index(batch_op.f('ix_service_activity_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_service_activity_contract_id'))
        batch_op.drop_index(batch_op.f('ix_service_activity_community_id'))
        batch_op.drop_index(batch_op.f('ix_service_activity_case_id'))
        batch_op.drop_index(batch_op.f('ix_service_activity_activity_date'))

    op.drop_table('service_activity')
    op.drop_table('group_member')
    with op.batch_alter_table('service_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_group_contract_id'))

    op.drop_table('service_group')
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_case_contract_id'))
        batch_op.drop_index(batch_op.f('ix_service_case_beneficiary_id'))

    op.drop_table('service_case')
    with op.batch_alter_table('red_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_flag_kind'))
        batch_op.drop_index(batch_op.f('ix_red_flag_contract_id'))

    op.drop_table('red_flag')
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batch_sha256'))
        batch_op.drop_index(batch_op.f('ix_import_batch_contract_id'))

    op.drop_table('import_batch')
    op.drop_table('contract_worker')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_kind'))

    op.drop_table('job')
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beneficiary_organization_id'))
        batch_op.drop_index(batch_op.f('ix_beneficiary_name'))
        batch_op.drop_index(batch_op.f('ix_beneficiary_id_match_key'))
        batch_op.drop_index(batch_op.f('ix_beneficiary_community_id'))

    op.drop_table('beneficiary')
