"""A page of releases as the bytes it is served as, from the kept text as the database sends it.

A page of 20 processes is some 850 KB of kept text. Read as text, the driver decodes it from UTF-8
and the page encodes it to UTF-8 again, which took longer than the statement that reads it. So on
PostgreSQL the kept releases are read as the UTF-8 bytes they arrive as (for that statement alone)
and joined as they are: the page is the same bytes as `packages.page_json` gives.

(Kept apart from packages.py and store.py, whose source is part of every kept release's
fingerprint: how a page is served does not change what the releases hold.)
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..core.web import text_limit
from ..extensions import db
from ..procurement.models import Tender
from . import packages, store

# The execution option that asks for the statement's text columns as UTF-8 bytes.
RAW_TEXT = "svcproc_raw_text"


def _raw_text_loader():
    from psycopg.adapt import Loader

    class RawText(Loader):
        def load(self, data):
            return bytes(data)

    return RawText


_RAW_TEXT = None


@sa.event.listens_for(Engine, "before_cursor_execute")
def _read_text_as_bytes(conn, cursor, statement, parameters, context, executemany):
    """For a statement run with RAW_TEXT, psycopg hands its `text` columns over undecoded (on this
    cursor only; `varchar` columns stay text)."""
    global _RAW_TEXT
    if context is None or not context.execution_options.get(RAW_TEXT) or not hasattr(cursor, "adapters"):
        return
    if _RAW_TEXT is None:
        _RAW_TEXT = _raw_text_loader()
    cursor.adapters.register_loader("text", _RAW_TEXT)


def _as_text(row) -> tuple:
    """A row of `store.processes()` with every column but the kept releases (the last) as text:
    some fingerprint figures are `text` too (a concatenation)."""
    *head, releases = row
    return (*(v.decode() if type(v) is bytes else v for v in head), releases)


def page_json(uri: str, after: int, size: int | None = None) -> tuple[bytes, int | None]:
    """`packages.page_json`: the release package of the next published tenders after `after` as its
    JSON, and the id to continue after, or None."""
    size = size or packages.PAGE
    stmt = (store.processes().where(Tender.id > after).order_by(Tender.id).limit(text_limit(size + 1))
            .execution_options(**{RAW_TEXT: True}))
    rows = [_as_text(row) for row in db.session.execute(stmt)]
    more = len(rows) > size
    found, _built = store.serve(rows[:size])
    # Kept text arrives as bytes on PostgreSQL, as text elsewhere; what was built now is text.
    parts = [k.releases if type(k.releases) is bytes else k.releases.encode() for k in found if k.releases]
    body = b",".join(parts).replace(store.LINE.encode(), b",").replace(store.MARK.encode(),
                                                                       store.url_root().encode())
    return b"".join((packages._head(uri, packages._published(found)), b',"releases":[', body, b"]}")), (
        found[-1].tender_id if more else None)
