"""Objections to the tender documents as well as the award, with the day the answer is due and the
last day for a complaint; complaints to the finance department and their documents.

Revision ID: a7c3e91d5f20
Revises: d5e8a1c4f207
Create Date: 2026-12-06 01:30:00
"""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "a7c3e91d5f20"
down_revision = "d5e8a1c4f207"
branch_labels = None
depends_on = None

LOCAL = ZoneInfo("Asia/Shanghai")


def _working_day(day, local):
    # As svcproc.core.workdays on the day of this migration: a local day first, then the national
    # arrangement for the years chinese-calendar knows, else Monday to Friday.
    import chinese_calendar

    if day in local:
        return local[day] == "working_day"
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def _end_of_working_day(start_day, count, local):
    day, left = start_day, count
    while left:
        day += timedelta(days=1)
        if _working_day(day, local):
            left -= 1
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL).astimezone(timezone.utc)


def _utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _backfill(bind):
    objection = sa.table("objection", sa.column("id"), sa.column("filed_at", sa.DateTime()),
                         sa.column("answer_due_at", sa.DateTime()), sa.column("complaint_until", sa.DateTime()))
    local = {row.day if not isinstance(row.day, str) else datetime.fromisoformat(row.day).date(): row.kind
             for row in bind.execute(sa.text("SELECT day, kind FROM local_calendar_day"))}
    for row in bind.execute(sa.select(objection.c.id, objection.c.filed_at)).all():
        filed = _utc(row.filed_at).astimezone(LOCAL).date()
        due = _end_of_working_day(filed, 7, local)
        last = (due - timedelta(microseconds=1)).astimezone(LOCAL).date()
        until = _end_of_working_day(last, 15, local)
        bind.execute(sa.update(objection).where(objection.c.id == row.id).values(
            answer_due_at=due.replace(tzinfo=None), complaint_until=until.replace(tzinfo=None)))


def upgrade():
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.Enum('documents', 'award', name='objection_subject',
                                                         native_enum=False, create_constraint=True, length=32),
                                      server_default='award', nullable=False))
        batch_op.add_column(sa.Column('answer_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('complaint_until', sa.DateTime(), nullable=True))
    _backfill(op.get_bind())

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'dismissed', 'upheld', name='complaint_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'], name=op.f('fk_complaint_filed_by_id_user_account')),
    sa.ForeignKeyConstraint(['objection_id'], ['objection.id'], name=op.f('fk_complaint_objection_id_objection')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_complaint_organization_id_organization')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_complaint_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_complaint_tender_id_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint')),
    sa.UniqueConstraint('objection_id', name=op.f('uq_complaint_objection_id'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_tender_id'), ['tender_id'], unique=False)

    op.create_table('complaint_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_document_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_complaint_document_file_id_stored_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_document'))
    )
    with op.batch_alter_table('complaint_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_document_complaint_id'), ['complaint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('complaint_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_document_complaint_id'))
    op.drop_table('complaint_document')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_tender_id'))
    op.drop_table('complaint')
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.drop_column('complaint_until')
        batch_op.drop_column('answer_due_at')
        batch_op.drop_constraint(op.f('ck_objection_objection_subject'), type_='check')
        batch_op.drop_column('subject')
