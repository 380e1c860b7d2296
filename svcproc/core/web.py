"""Helpers views share: htmx detection, paginated queries, full page or fragment answers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, make_response, redirect, render_template, request

from ..extensions import db


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def hx_target() -> str:
    return request.headers.get("HX-Target", "")


def is_local_url(target: str | None) -> bool:
    """Whether a redirect to `target` (e.g. a `next` parameter) stays on this site.

    Browsers drop tabs and newlines from a URL and read "\\" as "/", so "/\\evil.example" or
    "/<tab>/evil.example" would lead to another host: refuse any control character or backslash.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


class Deferred:
    """A form (or any object) built the first time a template reads it, then kept for the request.

    A page such as a tender's offers a dozen forms, each in a branch of its own (answer an
    objection, record a deposit, draw experts…), and shows two or three of them to any one person
    in any one state; building every form costs more than the rest of some pages' logic."""

    __slots__ = ("_make", "_made")

    def __init__(self, make):
        self._make = make
        self._made = None

    def _object(self):
        if self._made is None:
            self._made = self._make()
        return self._made

    def __getattr__(self, name: str):
        return getattr(self._object(), name)

    def __iter__(self):
        return iter(self._object())

    def __getitem__(self, key):
        return self._object()[key]

    def __contains__(self, key) -> bool:
        return key in self._object()

    @property
    def built(self) -> bool:
        """Whether the object was made (for tests: a page that shows no form builds none)."""
        return self._made is not None


def deferred(**makers) -> dict[str, Deferred]:
    """`name=FormClass` (or any callable of no arguments) → name: the object, built when read."""
    return {name: Deferred(make) for name, make in makers.items()}


def redirect_to(url: str):
    """303 for a normal form post; HX-Redirect for htmx so the whole page changes."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def render_form_error(template: str, status: int = 422, **context):
    """A form that failed validation: its fragment for htmx, the whole page otherwise."""
    return render_template(template, **context), status


# Lists count at most this many rows and page no further: beyond it, the filters narrow the list.
COUNT_CAP = 1000


def text_limit(n: int) -> sa.BindParameter:
    """A keyset page's LIMIT (or a fixed OFFSET) written into the statement's text when it runs
    (SQLAlchemy keeps one compiled form, the value is put in at execution), for `.limit()` or
    `.offset()`.

    psycopg prepares a statement the fifth time a connection runs its text, and PostgreSQL then
    keeps one generic plan instead of planning each execution if that plan costs no more. With the
    LIMIT a parameter the generic plan cannot know how few rows are wanted and is priced as reading a
    tenth of the table, so the statement is planned at every request: 3.6 ms of planning for the
    1.3 ms a page of OCDS releases takes to run. With the page size in the text, the pages of a
    keyset list (`id > :after`, nothing that a partial index must match) run from one plan.

    Not for lists whose plan depends on the values bound: a filter that picks a partial index by
    a status (a generic plan cannot use such an index), or a list of one organization (a generic
    plan is made for an organization of average size, and the largest holds a third of the
    district's contracts)."""
    return sa.literal(n, sa.Integer, literal_execute=True)


@dataclass
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int
    capped: bool = False     # more rows than `total` match; only the first `total` are paged

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def capped_count(stmt: sa.Select, cap: int = COUNT_CAP) -> int:
    """How many rows `stmt` selects, counting no further than one past `cap`. Only the rows'
    existence is counted, so the database may answer from an index alone."""
    return db.session.execute(_capped_count_stmt(stmt, cap)).scalar_one()


def capped_count_column(stmt: sa.Select, cap: int = COUNT_CAP) -> sa.Label:
    """`capped_count` as a column of another statement (the record a list belongs to, read with how
    many rows its list has: one statement instead of two)."""
    return _capped_count_stmt(stmt, cap).scalar_subquery().label("svcproc_total")


def _capped_count_stmt(stmt: sa.Select, cap: int) -> sa.Select:
    # Neither part takes the tables of a statement it is put in as its own (`correlate(None)`):
    # beside a page's rows it counts the whole list, not the row beside it.
    counted = (stmt.order_by(None).with_only_columns(sa.literal_column("1"), maintain_column_froms=True)
               .correlate(None).limit(cap + 1).subquery())
    return sa.select(sa.func.count()).select_from(counted).correlate(None)


def paginate(stmt: sa.Select, per_page: int | None = None, cap: int = COUNT_CAP, total: int | None = None,
             loads: Sequence[Any] = (), counted_with_rows: bool = False) -> Page:
    """One query whatever the row count: one page of rows at an offset of at most `cap`, with a count
    beside them that stops at `cap` (so neither reads further into a large table than the cap). `total`:
    the number of rows when the caller knows it already (no count is then run).

    `loads`: loader options of the rows shown (their community, their group…). Past the first page
    the page's ids are picked first, from the list's own index, and only those rows are then read
    with what they load (one statement more): joined into the offset query, every row skipped would
    be joined too (2,475 of them on page 100).

    `counted_with_rows`: for a search whose every match is read to sort them (a name containing
    what was typed: no index gives the order), the page's rows carry the count of the matches, in
    one statement: counted apart, the matches were read twice. Not for a list an index gives in
    its order, whose page stops after its rows (a count beside them would read every row)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = _requested_page()
    if total is None:
        found = (_page_with_count if counted_with_rows else _page_and_count)(stmt, per_page, cap, page, loads)
        if found is not None:
            return found
        total = capped_count(stmt, cap)  # the page asked for is past the list's end: its last page
    capped = total > cap
    total = min(total, cap)
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    offset = (page - 1) * per_page
    if not loads or not offset:
        items = db.session.execute(stmt.options(*loads).limit(per_page).offset(offset)).unique().scalars().all()
    else:
        key = _key_of(stmt)
        ids = db.session.execute(stmt.with_only_columns(key, maintain_column_froms=True)
                                 .limit(per_page).offset(offset)).scalars().all()
        items = _rows_by_ids(stmt, ids, loads)
    return Page(items=items, page=page, per_page=per_page, total=total, capped=capped)


def _key_of(stmt: sa.Select):
    """The primary key column of the entity a list selects."""
    return sa.inspect(stmt.column_descriptions[0]["entity"]).primary_key[0]


def _rows_by_ids(stmt: sa.Select, ids: list, loads: Sequence[Any]) -> list:
    """The list's rows of these ids, in their order, with what `loads` loads with them (past the first
    page, the ids are picked from the list's own index first: see `paginate`)."""
    if not ids:
        return []
    entity = stmt.column_descriptions[0]["entity"]
    mapper = sa.inspect(entity)
    key = mapper.primary_key[0]
    name = mapper.get_property_by_column(key).key
    found = {getattr(row, name): row for row in db.session.execute(
        sa.select(entity).where(key.in_(ids)).options(*loads)).unique().scalars()}
    return [found[i] for i in ids if i in found]


def _page_and_count(stmt: sa.Select, per_page: int, cap: int, page: int, loads: Sequence[Any]) -> Page | None:
    """`paginate`'s page with its capped count in the same statement, as a subquery the database runs
    once beside the rows (a second round trip and its statement's overhead saved on every list);
    None when the page asked for is past the rows (the caller counts, then shows the last page)."""
    page = min(page, max(1, math.ceil(cap / per_page)))
    offset = (page - 1) * per_page
    count = capped_count_column(stmt, cap)
    if not loads or not offset:
        rows = db.session.execute(stmt.add_columns(count).options(*loads).limit(per_page).offset(offset)).unique().all()
        items = [row[0] for row in rows]
    else:
        rows = db.session.execute(stmt.with_only_columns(_key_of(stmt), count, maintain_column_froms=True)
                                  .limit(per_page).offset(offset)).all()
        items = _rows_by_ids(stmt, [row[0] for row in rows], loads)
    if not rows:
        if page > 1:
            return None
        return Page(items=[], page=1, per_page=per_page, total=0, capped=False)
    total = rows[0][-1]
    return Page(items=items, page=page, per_page=per_page, total=min(total, cap), capped=total > cap)


def _requested_page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def page_end(total: int, per_page: int | None = None, cap: int = COUNT_CAP) -> int:
    """How many rows of the list, in its order, reach to the end of the page `paginate` shows for this
    request with this `total` (a list whose rows come from several indexes, each read that far)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    pages = max(1, math.ceil(min(total, cap) / per_page))
    return min(_requested_page(), pages) * per_page


def _page_with_count(stmt: sa.Select, per_page: int, cap: int, page: int, loads: Sequence[Any]) -> Page | None:
    """`paginate`'s page with the count read beside its rows (`count(*) OVER ()`, taken before the
    page is cut); None when the page asked for is past the matches (the caller counts, then shows
    the last page)."""
    page = min(page, max(1, math.ceil(cap / per_page)))
    offset = (page - 1) * per_page
    total = sa.func.count().over().label("svcproc_total")
    if loads:
        # The matches counted and sorted and the page cut by their keys alone, then only the page's
        # rows read with what `loads` joins to them: joined before the cut, every match was joined
        # (590 people of one surname to their communities, for a page of 25).
        key = _key_of(stmt)
        cut = (stmt.with_only_columns(key.label("svcproc_key"), total, maintain_column_froms=True)
               .limit(per_page).offset(offset).subquery("svcproc_page"))
        rows = db.session.execute(
            sa.select(stmt.column_descriptions[0]["entity"], cut.c.svcproc_total)
            .join(cut, cut.c.svcproc_key == key).options(*loads).order_by(*stmt._order_by_clauses)).unique().all()
    else:
        rows = db.session.execute(stmt.add_columns(total).limit(per_page).offset(offset)).unique().all()
    if not rows:
        if page > 1:
            return None
        return Page(items=[], page=1, per_page=per_page, total=0, capped=False)
    total = rows[0][-1]
    return Page(items=[row[0] for row in rows], page=page, per_page=per_page, total=min(total, cap),
                capped=total > cap)


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def field_error(form, exc, default: str) -> None:
    """Show a domain ValidationError under the form field it names (or under `default`)."""
    field = getattr(form, exc.field or default, None) or getattr(form, default)
    field.errors = list(field.errors) + [exc.message]


def send_stored(stored, mimetype: str | None = None):
    """A stored upload as a download under the name it was uploaded with."""
    import io

    from flask import send_file

    from . import files

    return send_file(io.BytesIO(files.read(stored)), mimetype=mimetype or stored.mimetype, as_attachment=True,
                     download_name=stored.original_name)


def first_error(form, default: str) -> str:
    """The first message a form's validation left, or `default` (what a refused POST says)."""
    return next((m for f in form for m in f.errors), default)
