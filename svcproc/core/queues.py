"""Work queues on the home page: what waits for a person, a few rows each, the most pressing first,
each row a link to the page where the work is done. Domains build them in their panels modules."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from . import clock

# Rows shown per queue; the count says how many there are in all and the heading links to the rest.
ROWS = 5


def today() -> date:
    return clock.to_local(clock.now()).date()


@dataclass
class Row:
    label: str                        # what it is: a number and a title, a name
    url: str                          # the page where the action is done
    action: Any = ""                  # what to do there, when the queue's heading does not say it
    due: date | datetime | None = None
    since: datetime | None = None    # waiting since: for what has no due date

    @property
    def overdue(self) -> bool:
        if self.due is None:
            return False
        if isinstance(self.due, datetime):
            return self.due < clock.now()
        return self.due < today()


@dataclass
class Queue:
    key: str                          # unique on the page: the headings' ids
    heading: Any
    rows: list[Row] = field(default_factory=list)
    total: int = 0
    more_url: str | None = None
    shown: int | None = None          # how many of the total the rows stand for, when a row is a group
    counted: bool = True              # False: shortcuts and recent work, listed but not waiting

    @property
    def waiting(self) -> int:
        return self.total if self.counted else 0

    @property
    def hidden(self) -> int:
        return self.total - (len(self.rows) if self.shown is None else self.shown)

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.rows if row.overdue)


def fetch(stmt: sa.Select, limit: int = ROWS) -> tuple[list, int]:
    """The first `limit` rows of `stmt` and how many rows it has in all, in one statement: the count
    rides along as a window over the whole result, computed before the limit applies."""
    rows = _execute(stmt.add_columns(sa.func.count().over().label("queue_total")).limit(limit))
    return rows, (rows[0].queue_total if rows else 0)


def fetch_each(stmt: sa.Select, key: sa.ColumnElement, order_by, limit: int = ROWS) -> dict:
    """`fetch` for several queues at once: key value -> (its first `limit` rows, its count), each
    queue ranked and counted by window functions over `key`, all in one statement. Rows whose key
    is NULL belong to no queue. `order_by` is the queues' order (a tuple of columns)."""
    inner = stmt.add_columns(
        key.label("queue_key"),
        sa.func.row_number().over(partition_by=key, order_by=order_by).label("queue_n"),
        sa.func.count().over(partition_by=key).label("queue_total")).subquery()
    queues: dict = {}
    for row in _execute(sa.select(inner).where(inner.c.queue_key.is_not(None), inner.c.queue_n <= limit)
                        .order_by(inner.c.queue_key, inner.c.queue_n)):
        rows, _total = queues.setdefault(row.queue_key, ([], row.queue_total))
        rows.append(row)
    return queues


def first_rows(stmt: sa.Select, limit: int = ROWS) -> list:
    """The first `limit` rows of `stmt`, for a list that counts nothing (shortcuts, recent entries):
    without the window count the database stops at the limit."""
    return _execute(stmt.limit(limit))


def _execute(stmt):
    from ..extensions import db

    return db.session.execute(stmt).all()


def month_of(column) -> sa.ColumnElement:
    """'YYYY-MM' of a date or timestamp column, on SQLite and PostgreSQL alike."""
    from ..extensions import db

    # The format is written into the statement, not bound: grouping by the expression needs the
    # select list and GROUP BY to read the same (PostgreSQL compares them as written).
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(column, sa.literal_column("'YYYY-MM'"))
    return sa.func.strftime(sa.literal_column("'%Y-%m'"), column)


def waiting(queues: list[Queue]) -> int:
    return sum(q.total for q in queues)
