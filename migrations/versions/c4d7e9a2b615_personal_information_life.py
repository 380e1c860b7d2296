"""Personal information through its life: the separate consent sensitive data needs, withdrawing
consent and anonymising (a person's status), and the log of who read a person's record.

Revision ID: c4d7e9a2b615
Revises: 6a3b9d0e4f12
Create Date: 2026-12-05 21:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = "c4d7e9a2b615"
down_revision = "6a3b9d0e4f12"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("beneficiary", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensitive_consent_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sensitive_consent_purpose", sa.String(length=300), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("status", sa.Enum("active", "withdrawn", "anonymised", name="person_status",
                                                        native_enum=False, create_constraint=True, length=32),
                                      server_default="active", nullable=False))
        batch_op.add_column(sa.Column("status_changed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("consent_withdrawn_on", sa.Date(), nullable=True))
    op.create_table(
        "beneficiary_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Enum("viewed", "revealed", "exported", name="view_kind", native_enum=False,
                                  create_constraint=True, length=32), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiary.id"],
                                name=op.f("fk_beneficiary_view_beneficiary_id_beneficiary")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_beneficiary_view_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiary_view")),
    )
    op.create_index("ix_beneficiary_view_person", "beneficiary_view", ["beneficiary_id", "viewed_at", "id"])


def downgrade():
    op.drop_index("ix_beneficiary_view_person", table_name="beneficiary_view")
    op.drop_table("beneficiary_view")
    with op.batch_alter_table("beneficiary", schema=None) as batch_op:
        batch_op.drop_column("consent_withdrawn_on")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_constraint(op.f("ck_beneficiary_person_status"), type_="check")
        batch_op.drop_column("status")
        batch_op.drop_column("sensitive_consent_purpose")
        batch_op.drop_column("sensitive_consent_on")
