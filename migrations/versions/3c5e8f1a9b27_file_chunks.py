"""Files kept in the database: each stored file as ~1 MB chunks, for installs on several hosts.

Revision ID: 3c5e8f1a9b27
Revises: 7c19b4c5119d
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c5e8f1a9b27'
down_revision = '7c19b4c5119d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('file_chunk',
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('stored_name', 'position', name=op.f('pk_file_chunk'))
    )


def downgrade():
    op.drop_table('file_chunk')
