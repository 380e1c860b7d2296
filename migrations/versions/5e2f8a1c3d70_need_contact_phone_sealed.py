"""Residents' phones on community needs sealed like beneficiaries': the phone is encrypted with the
data key and only a masked form stays readable.

Revision ID: 5e2f8a1c3d70
Revises: 4d1e7c2a9b60
Create Date: 2026-12-05 04:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5e2f8a1c3d70"
down_revision = "4d1e7c2a9b60"
branch_labels = None
depends_on = None

PURPOSE = "need-contact-phone"


def _mask(phone: str) -> str:
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def upgrade():
    with op.batch_alter_table("community_need") as batch:
        batch.add_column(sa.Column("contact_phone_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("contact_phone_masked", sa.String(20), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, contact_phone FROM community_need WHERE contact_phone <> ''")).all()
    if rows:
        from svcproc.core import crypto  # needs the app's data key: `svcproc db upgrade` provides it

        for need_id, phone in rows:
            phone = phone.strip()
            bind.execute(sa.text("UPDATE community_need SET contact_phone_sealed = :sealed, "
                                 "contact_phone_masked = :masked WHERE id = :id"),
                         {"sealed": crypto.encrypt(PURPOSE, phone.encode("utf-8")), "masked": _mask(phone),
                          "id": need_id})
    with op.batch_alter_table("community_need") as batch:
        batch.drop_column("contact_phone")


def downgrade():
    with op.batch_alter_table("community_need") as batch:
        batch.add_column(sa.Column("contact_phone", sa.String(40), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, contact_phone_sealed FROM community_need "
                                "WHERE contact_phone_sealed IS NOT NULL")).all()
    if rows:
        from svcproc.core import crypto

        for need_id, sealed in rows:
            bind.execute(sa.text("UPDATE community_need SET contact_phone = :phone WHERE id = :id"),
                         {"phone": crypto.decrypt(PURPOSE, bytes(sealed)).decode("utf-8"), "id": need_id})
    with op.batch_alter_table("community_need") as batch:
        batch.drop_column("contact_phone_masked")
        batch.drop_column("contact_phone_sealed")
