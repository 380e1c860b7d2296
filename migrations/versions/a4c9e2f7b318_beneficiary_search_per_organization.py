"""An organization's search of its beneficiaries by name read from one index of organization and
name grams on PostgreSQL (with btree_gin), instead of intersecting the name grams with every row of
a large organization (60,000 at district scale).

Revision ID: a4c9e2f7b318
Revises: f3a9c2e7b514
Create Date: 2026-12-06 05:55:00
"""
import logging

from alembic import op

revision = "a4c9e2f7b318"
down_revision = "f3a9c2e7b514"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # btree_gin is a trusted extension: the database's owner may create it. Where the migrating
    # account may not, the search keeps the name index it has (slower for a large organization).
    with bind.begin_nested() as savepoint:
        try:
            op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        except Exception as exc:  # noqa: BLE001 - any refusal leaves the schema as it was
            savepoint.rollback()
            log.warning("btree_gin unavailable (%s): the index of an organization's names is not made", exc)
            return
    op.execute("CREATE INDEX pgx_beneficiary_org_name_grams ON beneficiary "
               "USING gin (organization_id, pgx_grams(name))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS pgx_beneficiary_org_name_grams")
