"""Each service entry keeps how many people it names, so progress and lists add person-times from
the entries alone instead of reading every participant row.

Revision ID: b3e9d2f71c05
Revises: a7c41e2b9d30
Create Date: 2026-12-05 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e9d2f71c05'
down_revision = 'a7c41e2b9d30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('participant_count', sa.Integer(), server_default='0', nullable=False))
    # The entries recorded so far: one grouped pass over the participants.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE service_activity AS a SET participant_count = p.n FROM "
                   "(SELECT activity_id, count(*) AS n FROM activity_participant GROUP BY activity_id) AS p "
                   "WHERE p.activity_id = a.id")
    else:
        op.execute("UPDATE service_activity SET participant_count = (SELECT count(*) FROM activity_participant p "
                   "WHERE p.activity_id = service_activity.id)")


def downgrade():
    with op.batch_alter_table('service_activity', schema=None) as batch_op:
        batch_op.drop_column('participant_count')
