"""Reports: generated report PDFs kept with the SHA-256 of their data and a verification code.

Revision ID: 05a37e166b92
Revises: 8fc4c8ba6afc
Create Date: 2026-11-21 12:04:33.958128

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '05a37e166b92'
down_revision = '8fc4c8ba6afc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('generated_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('assessment', 'portfolio', 'organization', name='report_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('data_sha256', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_generated_report_file_id_stored_file')),
    sa.ForeignKeyConstraint(['generated_by_id'], ['user_account.id'], name=op.f('fk_generated_report_generated_by_id_user_account')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_generated_report_job_id_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generated_report')),
    sa.UniqueConstraint('code', name=op.f('uq_generated_report_code')),
    sa.UniqueConstraint('kind', 'subject_id', 'data_sha256', name='uq_generated_report_data')
    )
    with op.batch_alter_table('generated_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generated_report_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_generated_report_subject_id'), ['subject_id'], unique=False)



def downgrade():
    with op.batch_alter_table('generated_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generated_report_subject_id'))
        batch_op.drop_index(batch_op.f('ix_generated_report_kind'))

    op.drop_table('generated_report')
