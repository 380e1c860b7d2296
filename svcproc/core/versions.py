"""Versions of kinds of data, so a figure worked out from them can be kept until they change.

A domain names a kind of data and the rows and columns it is made of (`watch`): a transaction that
inserts or deletes such a row, or changes one of those columns, gives the kind a new version in the
`data_version` table as it commits. A version is a random 62-bit number, not a count: a
rolled-back change or a database made anew never brings back a number that stood for other data. The
person's account is read on every request together with the current versions (`columns`,
`remember`), so a figure kept under the version it was worked out with (`Kept`) is known to still
hold without asking the database again, and a change made on any web host is seen by every other
at its next request: the versions live in the database, the kept figures are only what any host
would work out from them. A request that changed a kind itself works its figures out afresh.

The menu's reminder badge is such a figure: it counts milestones due soon, which change only when a
milestone or a contract does.
"""
from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from . import atcommit


class DataVersion(db.Model):
    """The current version of a kind of data (a kind is named by `watch`)."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


@dataclass
class _Watched:
    name: str
    # model class -> the columns whose change changes the kind (every insert and delete does);
    # None: a change of any of its columns does
    columns: dict[type, frozenset[str] | None] = field(default_factory=dict)


WATCHED: dict[str, _Watched] = {}
EVERY_COLUMN = "*"


def watch(name: str, model: type, *columns: str) -> None:
    """The kind `name` changes when a `model` row is inserted or deleted, or one of `columns` changes
    (`EVERY_COLUMN`: any of them)."""
    WATCHED.setdefault(name, _Watched(name)).columns[model] = (
        None if EVERY_COLUMN in columns else frozenset(columns))


def _changed(kind: _Watched, session: Session) -> bool:
    for obj in session.new:
        if type(obj) in kind.columns:
            return True
    for obj in session.deleted:
        if type(obj) in kind.columns:
            return True
    for obj in session.dirty:
        if type(obj) not in kind.columns:
            continue
        columns = kind.columns[type(obj)]
        if columns is None:
            if session.is_modified(obj, include_collections=False):
                return True
        elif columns:
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in columns):
                return True
    return False


def new_version() -> int:
    return secrets.randbits(62)


# The kinds a transaction changed, renewed when it commits.
_PENDING = "svcproc_changed_kinds"


@sa.event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context, _instances) -> None:
    if not WATCHED or not (session.new or session.dirty or session.deleted):
        return
    for kind in WATCHED.values():
        if _changed(kind, session):
            session.info.setdefault(_PENDING, set()).add(kind.name)
            _changed_here(kind.name)


def _taken(session: Session) -> dict | None:
    """At the commit, after the transaction's last flush (core/atcommit.py): the kinds it changed,
    all given one new version (a random number; a kind's version is only ever compared with its own
    earlier ones)."""
    kinds = session.info.pop(_PENDING, None)
    return {"data_version_names": sorted(kinds), "data_version_value": new_version()} if kinds else None


def _renew_stmt(dialect: str) -> sa.Executable:
    """The kinds' rows given their new version, locked in the order of their names (every writer
    takes them in the same order)."""
    table = DataVersion.__table__
    names = sa.bindparam("data_version_names", expanding=dialect != "postgresql",
                         type_=sa.ARRAY(sa.String) if dialect == "postgresql" else sa.String)
    if dialect == "postgresql":
        locked = (sa.select(table.c.name).where(table.c.name == sa.any_(names)).order_by(table.c.name)
                  .with_for_update().subquery("locked"))
        where = table.c.name == locked.c.name
    else:
        where = table.c.name.in_(names)
    return (sa.update(table).where(where).values(value=sa.bindparam("data_version_value", type_=sa.BigInteger))
            .returning(table.c.name))


atcommit.register("data_version", _renew_stmt, _taken)


def renew(session: Session) -> None:
    """Give each kind the session's transaction changed so far its new version now."""
    params = _taken(session)
    if params:
        session.connection().execute(atcommit.statement("data_version", session.connection().dialect.name), params)


@sa.event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_PENDING, None)


def rows_changed(session: Session, model: type) -> None:
    """Rows of `model` were changed by a statement the ORM does not follow (a bulk delete, say):
    every kind watching the model is renewed when the transaction commits."""
    for kind in WATCHED.values():
        if model in kind.columns:
            session.info.setdefault(_PENDING, set()).add(kind.name)
            _changed_here(kind.name)


def _changed_here(name: str) -> None:
    from flask import g, has_app_context

    if has_app_context():
        g.setdefault("data_changed", set()).add(name)


@sa.event.listens_for(DataVersion.__table__, "after_create")
def _first_rows(target, connection, **_kw) -> None:
    # A database made from the models (tests, a first start) holds a row for every kind from the
    # start; the migrations insert the same rows.
    names = sorted(WATCHED)
    if names:
        connection.execute(target.insert(), [{"name": name, "value": new_version()} for name in names])


def column(name: str) -> sa.ScalarSelect:
    """The current version of one kind, as a column to read beside other rows."""
    return sa.select(DataVersion.value).where(DataVersion.name == name).scalar_subquery()


def columns() -> list[sa.ScalarSelect]:
    """The current version of every kind, as columns to read beside the person's account."""
    return [column(name).label(f"v_{name}") for name in sorted(WATCHED)]


def read_in_request() -> bool:
    """Whether this request has read the versions (with the login's account; a visitor's page may
    read them with its first statement instead, `columns()`)."""
    from flask import g, has_app_context

    return has_app_context() and "data_versions" in g


def remember(values) -> None:
    """Keep the versions `columns()` read for the rest of the request."""
    from flask import g

    g.data_versions = dict(zip(sorted(WATCHED), values))


def current(name: str) -> int | None:
    """The version of `name` read at the start of this request (None: not read, no row for it, or
    changed by this request, whose figures then reflect changes not yet committed)."""
    from flask import g, has_app_context

    if not has_app_context():
        return None
    if name in g.get("data_changed", ()):
        return None
    return g.get("data_versions", {}).get(name)


def current_of(kinds: tuple[str, ...]) -> tuple[int, ...] | None:
    """The versions of several kinds read at the start of this request (None: any one unknown)."""
    found = tuple(current(name) for name in kinds)
    return None if None in found else found


class Kept:
    """Figures kept under the version of the kind (or kinds) they were worked out from; bounded,
    emptied when full. A kind None: each figure is kept under a version its caller reads (`get_at`),
    such as one contract's service log version."""

    def __init__(self, kind: str | tuple[str, ...] | None, size: int = 1024):
        self.kind = kind
        self.size = size
        self._held: dict[Any, tuple[Any, Any]] = {}
        _EVERY_KEPT.add(self)

    def get(self, key, work_out):
        version = current(self.kind) if isinstance(self.kind, str) else current_of(self.kind)
        return self.get_at(version, key, work_out)

    def get_at(self, version, key, work_out):
        """As `get`, under a version the caller read itself (None: worked out, not kept)."""
        if version is None:
            return work_out()
        held = self._held.get(key)
        if held is not None and held[0] == version:
            return held[1]
        value = work_out()
        if len(self._held) >= self.size:
            self._held.clear()
        self._held[key] = (version, value)
        return value

    def clear(self) -> None:
        self._held.clear()


_EVERY_KEPT: weakref.WeakSet[Kept] = weakref.WeakSet()


def forget_kept() -> None:
    """Empty every store of kept figures (what a process that just started holds)."""
    for kept in list(_EVERY_KEPT):
        kept.clear()
