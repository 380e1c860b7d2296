"""Deadlines after the award: the moment of the award decision, the moment a contract's notice was
published, the payment term a contract agrees (1-60 days), and two red flags (a late award notice,
a late contract notice).

The two moments of records made before are read from the audit trail: the last `tender.award_proposed`
event of a tender, and the `contract.signed` event of a contract (recording the signature published
its notice).

Revision ID: d5e8a1c4f207
Revises: c4d7e2a9b810
Create Date: 2026-12-06 01:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = "d5e8a1c4f207"
down_revision = "c4d7e2a9b810"
branch_labels = None
depends_on = None

OLD_KINDS = ("single_valid_bid", "short_bidding_period", "award_near_ceiling", "identical_prices",
             "prices_percent_apart", "others_all_invalid", "lowest_invalid", "repeated_single_source",
             "large_award_share", "many_categories", "shared_contact", "late_signature", "service_before_signature",
             "unpaid_milestone", "early_amendment", "amendment_near_cap")
NEW_KINDS = OLD_KINDS + ("late_award_notice", "late_contract_notice")


def _allow_kinds(kinds) -> None:
    """The CHECK constraint of procurement_flag.kind, made anew with these values."""
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table("procurement_flag", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_procurement_flag_procurement_flag_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_procurement_flag_procurement_flag_kind"), f"kind IN ({listed})")


def _last_event(action: str, table: str) -> str:
    return (f"(SELECT MAX(e.occurred_at) FROM audit_event e WHERE e.object_type = '{table}' "
            f"AND e.object_id = CAST({table}.id AS VARCHAR(64)) AND e.action = '{action}')")


def upgrade():
    with op.batch_alter_table("tender", schema=None) as batch_op:
        batch_op.add_column(sa.Column("award_decided_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_published_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("payment_days", sa.Integer(), server_default="30", nullable=False))
        batch_op.create_check_constraint(op.f("ck_contract_payment_days_range"), "payment_days BETWEEN 1 AND 60")
    op.execute(f"UPDATE tender SET award_decided_at = {_last_event('tender.award_proposed', 'tender')} "
               "WHERE proposed_bid_id IS NOT NULL")
    op.execute(f"UPDATE contract SET notice_published_at = {_last_event('contract.signed', 'contract')} "
               "WHERE signed_on IS NOT NULL")
    _allow_kinds(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM procurement_flag WHERE kind IN ('late_award_notice', 'late_contract_notice')")
    _allow_kinds(OLD_KINDS)
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contract_payment_days_range"), type_="check")
        batch_op.drop_column("payment_days")
        batch_op.drop_column("notice_published_at")
    with op.batch_alter_table("tender", schema=None) as batch_op:
        batch_op.drop_column("award_decided_at")
