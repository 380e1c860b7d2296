"""Service-log integrity: a red flag listed under the other contracts it concerns besides its own; the entries behind a
paid milestone locked unless reopened; entries compared with their place's case, width and spacing
made one (the fingerprints of entries whose place changes under that are computed again).

Revision ID: c4d7e2a9b810
Revises: 7f3a1c9e2d45
Create Date: 2026-12-05 21:30:00
"""
import hashlib
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "c4d7e2a9b810"
down_revision = "7f3a1c9e2d45"
branch_labels = None
depends_on = None

BATCH = 1000


def _text_key(text):
    # As svcproc.delivery.services.text_key on the day of this migration.
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _fingerprint(contract_id, type_, day, start, end, community_id, place, place_key, workers, people, head_count,
                 group_id, session_number):
    # As svcproc.delivery.services.fingerprint on the day of this migration (place given as its key).
    parts = [str(contract_id), type_, str(day)[:10], str(start)[:5], str(end)[:5], str(community_id), place_key,
             ",".join(map(str, sorted(workers))), ",".join(map(str, sorted(people))), str(head_count or 0),
             str(group_id or ""), str(session_number or "")]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def _refingerprint(bind):
    activity = sa.table("service_activity", sa.column("id"), sa.column("contract_id"), sa.column("type"),
                        sa.column("activity_date"), sa.column("start_time"), sa.column("end_time"),
                        sa.column("community_id"), sa.column("place"), sa.column("head_count"),
                        sa.column("group_id"), sa.column("session_number"), sa.column("fingerprint"))
    workers = sa.table("activity_worker", sa.column("activity_id"), sa.column("social_worker_id"))
    people = sa.table("activity_participant", sa.column("activity_id"), sa.column("beneficiary_id"))
    # Only entries whose place reads differently once normalised (a stripped place was hashed as it was).
    changing = [row for row in bind.execute(sa.select(activity.c.id, activity.c.place).where(activity.c.place != ""))
                if _text_key(row.place) != (row.place or "").strip()]
    ids = [row.id for row in changing]
    for i in range(0, len(ids), BATCH):
        chunk = ids[i:i + BATCH]
        who, whom = {}, {}
        for a, w in bind.execute(sa.select(workers.c.activity_id, workers.c.social_worker_id)
                                 .where(workers.c.activity_id.in_(chunk))):
            who.setdefault(a, []).append(w)
        for a, p in bind.execute(sa.select(people.c.activity_id, people.c.beneficiary_id)
                                 .where(people.c.activity_id.in_(chunk))):
            whom.setdefault(a, []).append(p)
        for row in bind.execute(sa.select(activity).where(activity.c.id.in_(chunk))):
            fp = _fingerprint(row.contract_id, row.type, row.activity_date, row.start_time, row.end_time,
                              row.community_id, row.place, _text_key(row.place), who.get(row.id, []),
                              whom.get(row.id, []), row.head_count, row.group_id, row.session_number)
            if fp != row.fingerprint:
                bind.execute(sa.update(activity).where(activity.c.id == row.id).values(fingerprint=fp))


def _link_flags(bind):
    flag = sa.table("red_flag", sa.column("id"), sa.column("contract_id"), sa.column("activity_ids", sa.JSON),
                    sa.column("detail", sa.JSON))
    activity = sa.table("service_activity", sa.column("id"), sa.column("contract_id"))
    link = sa.table("red_flag_contract", sa.column("red_flag_id"), sa.column("contract_id"))
    rows = bind.execute(sa.select(flag.c.id, flag.c.contract_id, flag.c.activity_ids, flag.c.detail)).all()
    entry_ids = sorted({int(a) for row in rows for a in (row.activity_ids or [])})
    contract_of = {}
    for i in range(0, len(entry_ids), BATCH):
        contract_of.update(bind.execute(sa.select(activity.c.id, activity.c.contract_id)
                                        .where(activity.c.id.in_(entry_ids[i:i + BATCH]))).all())
    contracts = sorted(set(bind.execute(sa.text("SELECT id FROM contract")).scalars()))
    known = set(contracts)
    links = []
    for row in rows:
        concerned = {contract_of[int(a)] for a in (row.activity_ids or []) if int(a) in contract_of}
        other = (row.detail or {}).get("other_contract_id")
        if other in known:
            concerned.add(other)
        links += [{"red_flag_id": row.id, "contract_id": c} for c in sorted(concerned - {row.contract_id})]
    for i in range(0, len(links), BATCH):
        bind.execute(sa.insert(link), links[i:i + BATCH])


def upgrade():
    op.create_table(
        "red_flag_contract",
        sa.Column("red_flag_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_red_flag_contract_contract_id_contract"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["red_flag_id"], ["red_flag.id"], name=op.f("fk_red_flag_contract_red_flag_id_red_flag"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("red_flag_id", "contract_id", name=op.f("pk_red_flag_contract")),
    )
    op.create_index("ix_red_flag_contract_contract", "red_flag_contract", ["contract_id", "red_flag_id"])
    op.create_table(
        "milestone_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("closed", "reopened", name="period_status", native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["milestone_id"], ["milestone.id"], name=op.f("fk_milestone_period_milestone_id_milestone"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_period")),
        sa.UniqueConstraint("milestone_id", name=op.f("uq_milestone_period_milestone_id")),
    )
    bind = op.get_bind()
    _link_flags(bind)
    _refingerprint(bind)


def downgrade():
    op.drop_table("milestone_period")
    op.drop_index("ix_red_flag_contract_contract", table_name="red_flag_contract")
    op.drop_table("red_flag_contract")
