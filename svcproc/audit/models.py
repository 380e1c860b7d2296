"""Audit events, the head of their hash chain, and the checkpoints of its verification."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..core.types import UTCDateTime, postgresql_only
from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain; gaps or duplicates mean events were removed or reordered.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(80), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    client_ip: Mapped[str] = mapped_column(sa.String(64), default="")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
        # The list filters actions by prefix (LIKE 'x%'): under a non-C collation PostgreSQL uses
        # a btree for that only with the pattern operator class.
        sa.Index("ix_audit_event_action", "action", postgresql_ops={"action": "varchar_pattern_ops"}),
        # ... and actor names by any part (ILIKE '%x%'), which only a trigram index serves.
        postgresql_only(sa.Index("ix_audit_event_actor_name_trgm", "actor_name", postgresql_using="gin",
                                 postgresql_ops={"actor_name": "gin_trgm_ops"})),
    )


class AuditChainHead(db.Model):
    """One row: the last sequence number and hash, so a removed tail is detectable too.

    Updating this row first in every audited transaction also serialises chain writers.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64), default="0" * 64)


class AuditCheckpoint(db.Model):
    """How far a verification of the chain got: every event up to `seq` was intact, the event at
    `seq` had `hash` (a later check of new events starts here), or the first broken event and why.

    A run writes one as it goes (so an interrupted run is not lost) and one at its end (`complete`).
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger)  # the last intact event (0: none)
    hash: Mapped[str] = mapped_column(sa.String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    full: Mapped[bool]  # a check of the whole chain, not of the events after a checkpoint
    from_seq: Mapped[int] = mapped_column(sa.BigInteger)  # where the run started (0: the start)
    checked: Mapped[int] = mapped_column(sa.BigInteger)  # events the run found intact so far
    complete: Mapped[bool]
    ok: Mapped[bool]
    bad_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(20), default="")
