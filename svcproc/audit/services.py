"""Writing audit events into the hash chain, diffing objects, and verifying the chain."""
from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa
from flask import has_request_context, request

from ..core import clock
from ..extensions import db
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def jsonable(value: Any) -> Any:
    """The JSON form of a field value, identical before and after a database round trip."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """Changed fields as {field: [before, after]}."""
    changed = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changed[key] = [before.get(key), after.get(key)]
    return changed


def created(obj: Any, fields: Iterable[str]) -> dict[str, list]:
    return {k: [None, v] for k, v in snapshot(obj, fields).items() if v not in (None, "")}


def _event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": jsonable(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes or {},
        "client_ip": event.client_ip,
        "prev_hash": event.prev_hash,
    }


def compute_hash(event: AuditEvent) -> str:
    canonical = json.dumps(
        _event_payload(event), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _client_ip() -> str:
    if has_request_context():
        return (request.remote_addr or "")[:64]
    return ""


def record(
    action: str,
    *,
    actor=None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    changes: dict | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (flushes, never commits)."""
    if obj is not None:
        if object_type is None:
            object_type = getattr(obj, "audit_type", None) or obj.__tablename__
        if object_id is None:
            db.session.flush()
            object_id = obj.id
    session = db.session
    # Take the chain's lock first: the UPDATE holds the head row (PostgreSQL) or the write
    # lock (SQLite) until commit, so concurrent writers append one after another.
    result = session.execute(
        sa.update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_seq=AuditChainHead.last_seq + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        session.add(AuditChainHead(id=1, last_seq=1, last_hash=GENESIS))
        session.flush()
    head = session.execute(
        sa.select(AuditChainHead).where(AuditChainHead.id == 1).execution_options(populate_existing=True)
    ).scalar_one()
    event = AuditEvent(
        seq=head.last_seq,
        occurred_at=clock.now(),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name if actor_name is not None else (getattr(actor, "username", "") or ""),
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        changes=jsonable(changes or {}),
        client_ip=_client_ip(),
        prev_hash=head.last_hash,
    )
    event.hash = compute_hash(event)
    head.last_hash = event.hash
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainReport:
    ok: bool
    checked: int
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str = ""


def verify_chain(batch: int = 2000) -> ChainReport:
    """Walk the chain in order; report the first event that is missing, altered or out of place."""
    session = db.session
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for event in session.execute(stmt).scalars():
        if event.seq != expected_seq:
            return ChainReport(False, checked, event.seq, event.id,
                               f"expected sequence {expected_seq}, found {event.seq}")
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.seq, event.id,
                               "previous-hash link broken (an earlier event was removed or reordered)")
        if compute_hash(event) != event.hash:
            return ChainReport(False, checked, event.seq, event.id, "content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return ChainReport(False, checked, checked + 1, None,
                           f"chain head says {head.last_seq} events; the last ones were removed")
    return ChainReport(True, checked)
