"""Reports: spreadsheets kept like PDFs (a format column; only PDFs carry a verification code), and
audit packages built by a job and kept for download.

Revision ID: 3c7e52a9d1f4
Revises: dd229d8cec7c
Create Date: 2026-12-04 23:16:24.600788

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c7e52a9d1f4'
down_revision = 'dd229d8cec7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.Column('built_by_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['built_by_id'], ['user_account.id'], name=op.f('fk_audit_package_built_by_id_user_account')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_audit_package_contract_id_contract')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_audit_package_file_id_stored_file')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_audit_package_job_id_job')),
    sa.ForeignKeyConstraint(['report_id'], ['generated_report.id'], name=op.f('fk_audit_package_report_id_generated_report')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_package'))
    )
    with op.batch_alter_table('audit_package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_package_contract_id'), ['contract_id'], unique=False)

    # Every report kept so far is a PDF.
    with op.batch_alter_table('generated_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.Enum('pdf', 'xlsx', name='report_format', native_enum=False, create_constraint=True, length=32), nullable=False, server_default='pdf'))
        batch_op.alter_column('code',
               existing_type=sa.VARCHAR(length=24),
               nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_generated_report_data'), type_='unique')
        batch_op.create_unique_constraint('uq_generated_report_data', ['kind', 'subject_id', 'format', 'data_sha256'])
    with op.batch_alter_table('generated_report', schema=None) as batch_op:
        batch_op.alter_column('format', server_default=None)


def downgrade():
    op.execute("DELETE FROM generated_report WHERE format <> 'pdf'")
    with op.batch_alter_table('generated_report', schema=None) as batch_op:
        batch_op.drop_constraint('uq_generated_report_data', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_generated_report_data'), ['kind', 'subject_id', 'data_sha256'])
        batch_op.alter_column('code',
               existing_type=sa.VARCHAR(length=24),
               nullable=False)
        batch_op.drop_constraint(op.f('ck_generated_report_report_format'), type_='check')
        batch_op.drop_column('format')

    with op.batch_alter_table('audit_package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_package_contract_id'))

    op.drop_table('audit_package')
