"""Writing audit events into the hash chain at commit, diffing objects, the object types events name."""
from __future__ import annotations

import enum
import functools
import hashlib
import json
import operator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached

from ..core import atcommit, clock
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


# The fields an event's hash covers, in the order `hash_of` takes them (the columns of AuditEvent).
HASHED_FIELDS = ("seq", "occurred_at", "actor_id", "actor_name", "action", "object_type", "object_id",
                 "changes", "client_ip", "prev_hash")
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # how _canonical writes a str


def canonical_json(seq, occurred_at, actor_id, actor_name, action, object_type, object_id, changes, client_ip,
                   prev_hash) -> str:
    """The text an event's hash is taken of: its fields as JSON, keys sorted, no spaces, not ASCII-escaped."""
    return _canonical({
        "seq": seq,
        "occurred_at": jsonable(occurred_at),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changes": changes or {},
        "client_ip": client_ip,
        "prev_hash": prev_hash,
    })


def hash_of(seq, occurred_at, actor_id, actor_name, action, object_type, object_id, changes, client_ip,
            prev_hash) -> str:
    """SHA-256 of `canonical_json`, which verifying the whole chain computes for every event."""
    return hashlib.sha256(_hashed_text(seq, occurred_at, actor_id, actor_name, action, object_type, object_id,
                                       changes, client_ip, prev_hash).encode("utf-8")).hexdigest()


def _hashed_text(seq, occurred_at, actor_id, actor_name, action, object_type, object_id, changes, client_ip,
                 prev_hash) -> str:
    """`canonical_json`, written directly when the fields have the types the columns give (tests
    compare both)."""
    if (type(seq) is int and (actor_id is None or type(actor_id) is int)
            and occurred_at.tzinfo is timezone.utc and occurred_at.year >= 1000
            and type(actor_name) is type(action) is type(object_type) is type(object_id) is type(client_ip)
            is type(prev_hash) is str):
        text = "".join((
            '{"action":', _string(action),
            ',"actor_id":', "null" if actor_id is None else str(actor_id),
            ',"actor_name":', _string(actor_name),
            ',"changes":', _canonical(changes or {}),
            ',"client_ip":', _string(client_ip),
            ',"object_id":', _string(object_id),
            ',"object_type":', _string(object_type),
            ',"occurred_at":"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"' % (
                occurred_at.year, occurred_at.month, occurred_at.day, occurred_at.hour, occurred_at.minute,
                occurred_at.second, occurred_at.microsecond),
            ',"prev_hash":', _string(prev_hash),
            ',"seq":', str(seq), "}",
        ))
    else:
        text = canonical_json(seq, occurred_at, actor_id, actor_name, action, object_type, object_id, changes,
                              client_ip, prev_hash)
    return text


# The end of an event's hashed text: its last two keys are the chain's (keys are sorted).
_CHAIN_END = '"","seq":0}'


def _text_before_chain(event: AuditEvent) -> str:
    """The event's hashed text up to its place in the chain: what comes before the previous hash and
    the sequence number (written by the statement that gives them, `_append_one_stmt`)."""
    text = _hashed_text(0, event.occurred_at, event.actor_id, event.actor_name, event.action, event.object_type,
                        event.object_id, event.changes, event.client_ip, "")
    if not text.endswith('"prev_hash":' + _CHAIN_END):
        raise AssertionError(f"an audit event's hashed text ends unexpectedly: {text[-40:]}")
    return text[:-len(_CHAIN_END)]


def compute_hash(event: AuditEvent) -> str:
    return hash_of(*(getattr(event, name) for name in HASHED_FIELDS))


def _client_ip() -> str:
    if has_request_context():
        return (request.remote_addr or "")[:64]
    return ""


# --- writing events -----------------------------------------------------------------------------

_PENDING = "svcproc_audit_pending"


def _pending(session) -> list[tuple[AuditEvent, SessionTransaction]]:
    return session.info.setdefault(_PENDING, [])


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
    """An audit event of the caller's transaction; it joins the chain when the transaction commits.

    Who, what, when and the changes are fixed now. The event's place in the chain (seq, prev_hash,
    hash) is given just before the commit (`append_pending`), so the chain's lock is held for the
    append and the commit alone, not for whatever the transaction does after this call. Never commits.
    """
    session = db.session()
    if obj is not None:
        if object_type is None:
            object_type = getattr(obj, "audit_type", None) or obj.__tablename__
        if object_id is None:
            session.flush()
            object_id = obj.id
    event = AuditEvent(
        occurred_at=clock.now(),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name if actor_name is not None else (getattr(actor, "username", "") or ""),
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        changes=jsonable(changes or {}),
        client_ip=_client_ip(),
    )
    # Remember the innermost transaction, so that rolling back a savepoint drops its events.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    _pending(session).append((event, transaction))
    return event


def append_pending(session=None) -> list[AuditEvent]:
    """Give the session's recorded events their places in the chain, in the order they were recorded.

    Runs by itself just before every commit; call it earlier only to read the events back before
    the commit. Takes the chain's lock, which is held until the transaction ends.
    """
    session = _session(session)
    pending = session.info.get(_PENDING)
    # Everything else first: the chain's lock is taken last and held only for the append. What the
    # transaction left for its commit (core/atcommit.py) comes just before it.
    session.flush()
    left = atcommit.take(session)
    if not pending:
        atcommit.run(session, left)
        return []
    events = [event for event, _transaction in pending]
    connection = session.connection()
    if len(events) == 1 and connection.dialect.name == "postgresql" and sa.inspect(events[0]).transient:
        # Most writes record one event: PostgreSQL runs what was left, gives the event its place,
        # hashes it and inserts it in one statement (the head's lock taken by it as by `_TAKE_SEQS`).
        event = events[0]
        row = connection.execute(_append_one_stmt(tuple(name for name, _params in left)), {
            "before_chain": _text_before_chain(event),
            **{name: getattr(event, name) for name in _EVENT_COLUMNS if name not in _CHAIN_COLUMNS},
            **{key: value for _name, params in left for key, value in params.items()}}).first()
        left = []  # run by that statement, whatever it found
        if row is not None:  # else no head row: made below
            event.id, event.seq, event.prev_hash, event.hash = row
            make_transient_to_detached(event)
            session.add(event)
            _expire_head(session)
            pending.clear()
            return events
    atcommit.run(session, left)
    # The UPDATE takes the head row's lock (PostgreSQL) or the database's write lock (SQLite)
    # until commit, so concurrent transactions append one after another; it returns the head as
    # the previous writer committed it.
    row = connection.execute(_TAKE_SEQS, {"count": len(events)}).first()
    if row is None:  # a database whose migration did not create the head row
        session.add(AuditChainHead(id=1, last_seq=len(events), last_hash=GENESIS))
        session.flush()
        last_seq, previous = len(events), GENESIS
    else:
        last_seq, previous = row
    seq = last_seq - len(events)
    for event in events:
        seq += 1
        event.seq, event.prev_hash = seq, previous
        event.hash = previous = compute_hash(event)
    _expire_head(session)
    if connection.dialect.name == "postgresql" and all(sa.inspect(event).transient for event in events):
        # The head's new hash and the events in one statement (a data-modifying WITH); the events are
        # then the session's as if loaded (no second INSERT at the flush).
        ids = dict(connection.execute(_append_stmt(len(events)), {
            "last_hash": previous,
            **{f"{name}_{i}": getattr(event, name) for i, event in enumerate(events) for name in _EVENT_COLUMNS}}).all())
        for event in events:
            event.id = ids[event.seq]
            make_transient_to_detached(event)
            session.add(event)
    else:
        connection.execute(_SET_LAST_HASH, {"last_hash": previous})
        session.add_all(events)
        session.flush()
    pending.clear()
    return events


# The chain head's two statements, built once (plain table statements: no objects to synchronise).
_HEAD = AuditChainHead.__table__
_TAKE_SEQS = (sa.update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=_HEAD.c.last_seq + sa.bindparam("count"))
              .returning(_HEAD.c.last_seq, _HEAD.c.last_hash))
_SET_LAST_HASH = sa.update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=sa.bindparam("last_hash"))


_EVENTS = AuditEvent.__table__
_EVENT_COLUMNS = HASHED_FIELDS + ("hash",)


@functools.cache
def _append_stmt(count: int):
    """PostgreSQL: the head's last hash set and `count` events inserted, returning (seq, id) of each.

    One event (most writes) is a single row's VALUES, which SQLAlchemy compiles once and keeps; a
    list of rows (several events) is compiled at each use."""
    head = _SET_LAST_HASH.cte("head")
    rows = [{name: sa.bindparam(f"{name}_{i}", type_=_EVENTS.c[name].type) for name in _EVENT_COLUMNS}
            for i in range(count)]
    return (sa.insert(_EVENTS).add_cte(head).values(rows[0] if count == 1 else rows)
            .returning(_EVENTS.c.seq, _EVENTS.c.id))


def _expire_head(session) -> None:
    """The head as the session holds it is read again when next used."""
    head = session.identity_map.get(session.identity_key(AuditChainHead, 1))
    if head is not None:
        session.expire(head)


_CHAIN_COLUMNS = ("seq", "prev_hash", "hash")


@functools.cache
def _append_one_stmt(left: tuple[str, ...] = ()):
    """PostgreSQL: one event given the next place in the chain, hashed and inserted, in one statement;
    returns (id, seq, prev_hash, hash).

    The head row is read FOR UPDATE (a concurrent writer waits here until the one before commits,
    then reads the head it left), moved on by one with the event's hash, and the event inserted with
    the previous hash and its sequence number. The hash is SHA-256 of `before_chain` (the event's
    text up to `"prev_hash":`, `_text_before_chain`) and the rest of `canonical_json` written here:
    the previous hash (hex digits, nothing to escape) and the sequence number, as Python writes them.

    `left`: the statements the transaction left for its commit (core/atcommit.py), run as WITHs of
    this one. The head is read only once they have run, one after the other in this order (the read
    waits for the sum of their rows), so their rows are taken before the head, as by any writer."""
    H = _HEAD
    head_read = sa.select(H.c.last_seq, H.c.last_hash).where(H.c.id == 1)
    if left:
        done = [sa.select(sa.func.count()).select_from(atcommit.statement(name, "postgresql").cte(f"left_{i}"))
                .scalar_subquery() for i, name in enumerate(left)]
        head_read = head_read.where(functools.reduce(operator.add, done) >= 0)
    old = head_read.with_for_update().cte("old")
    seq = old.c.last_seq + 1
    text = sa.func.concat(sa.bindparam("before_chain", type_=sa.Text), '"', old.c.last_hash, '","seq":',
                          sa.cast(seq, sa.Text), "}")
    new_hash = sa.func.encode(sa.func.sha256(sa.func.convert_to(text, sa.literal_column("'UTF8'"))),
                              sa.literal_column("'hex'"))
    head = (sa.update(H).where(H.c.id == 1, H.c.last_seq == old.c.last_seq).values(last_seq=seq, last_hash=new_hash)
            .returning(H.c.last_seq.label("seq"), old.c.last_hash.label("prev_hash"), H.c.last_hash.label("hash"))
            .cte("head"))
    given = [name for name in _EVENT_COLUMNS if name not in _CHAIN_COLUMNS]
    row = sa.select(*[sa.bindparam(name, type_=_EVENTS.c[name].type) for name in given],
                    head.c.seq, head.c.prev_hash, head.c.hash)
    return (sa.insert(_EVENTS).from_select([*given, *_CHAIN_COLUMNS], row)
            .returning(_EVENTS.c.id, _EVENTS.c.seq, _EVENTS.c.prev_hash, _EVENTS.c.hash))


def _session(session) -> sa.orm.Session:
    session = db.session if session is None else session
    return session() if isinstance(session, sa.orm.scoped_session) else session


@sa.event.listens_for(sa.orm.Session, "before_commit", insert=True)  # before core/atcommit.py's own
def _append_before_commit(session):
    # Releasing a savepoint is a commit too; its events wait for the transaction's own commit.
    if session.get_nested_transaction() is None:
        append_pending(session)


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _drop_rolled_back(session, previous_transaction):
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(event, transaction) for event, transaction in pending
                      if not _within(transaction, previous_transaction)]


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _forget_pending(session, transaction):
    # After a commit nothing is left; after a rollback or close what is left never happened.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@functools.cache
def known_object_types() -> tuple[str, ...]:
    """The object types events name: each model's `audit_type`, sorted (fixed while the app runs)."""
    from .. import models  # noqa: F401 - every model mapped, not just those imported so far

    types = {getattr(mapper.class_, "audit_type", None) for mapper in db.Model.registry.mappers}
    return tuple(sorted(t for t in types if t))


# Events a domain keeps out of every listing of the trail until a moment only it knows (a sealed
# bid's events until the tender's opening): each entry gives the SQL condition of what to hide now.
_CONCEALED: list = []


def conceal(condition) -> None:
    """Register `condition()`: a SQL condition on AuditEvent for the events to keep out of sight.
    It is built once, when first asked for (a condition is a statement's part, the same each time)."""
    _CONCEALED.append(functools.cache(condition))


def without_concealed(stmt):
    """A select of AuditEvent without what the domains conceal for now. The chain still holds them:
    verification reads every event."""
    for condition in _CONCEALED:
        stmt = stmt.where(sa.not_(condition()))
    return stmt


# Every state machine's door records its transitions here.
from ..core import workflow as _workflow  # noqa: E402

_workflow.record_with(record, jsonable)
