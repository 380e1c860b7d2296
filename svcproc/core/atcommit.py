"""Rows a transaction moves on as it commits, written with its audit event.

A write leaves some bookkeeping for its commit: the new versions of the kinds of data it changed
(core/versions.py) and of the service log it wrote to (delivery/progress.py). Each is a small
statement on a row that many writers share, so it is written last, just before the write's audit
event joins the chain, and its lock is held only for the commit.

A module names such a statement once (`register`: how it is built, and what the session left for it).
The audit trail runs what was left as it appends the transaction's events (`take`, then `run`, or on
PostgreSQL within the append's own statement: one round trip for all of it). Either way the rows are
taken in the order of the statements' names, and before the audit chain's head, so every writer takes
them in the same order and two writers never wait on each other in a circle. A commit without
events runs what was left by itself (`_run_left`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Left:
    # The statement for a dialect: a plain INSERT or UPDATE whose RETURNING gives one column (on
    # PostgreSQL it becomes a WITH of the audit append, which waits for its rows).
    build: Callable[[str], sa.Executable]
    # The parameters of what the session left for its commit, taken from it (None: nothing left).
    take: Callable[[Session], dict | None]


_REGISTERED: dict[str, _Left] = {}


def register(name: str, build: Callable[[str], sa.Executable], take: Callable[[Session], dict | None]) -> None:
    """Name a statement left for the commit. Its parameters' names must be its own (they share the
    append's statement): start them with the name."""
    _REGISTERED[name] = _Left(build, take)


@functools.cache
def statement(name: str, dialect: str) -> sa.Executable:
    return _REGISTERED[name].build(dialect)


def take(session: Session) -> list[tuple[str, dict]]:
    """What the session left for its commit, as (name, parameters) in the order of the names;
    taken from the session, so it is run once."""
    left = []
    for name in sorted(_REGISTERED):
        params = _REGISTERED[name].take(session)
        if params is not None:
            left.append((name, params))
    return left


def run(session: Session, left: list[tuple[str, dict]]) -> None:
    """Run what was taken, one statement each, in order."""
    if not left:
        return
    connection = session.connection()
    for name, params in left:
        connection.execute(statement(name, connection.dialect.name), params)


@sa.event.listens_for(Session, "before_commit")
def _run_left(session: Session) -> None:
    # The audit trail's listener (registered in front of this one) has run what was left with the
    # transaction's events; this one runs it for a commit that had none, after the last flush.
    session.flush()
    run(session, take(session))
