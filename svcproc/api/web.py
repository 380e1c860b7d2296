"""What every API endpoint shares: the bearer token's door, opaque cursors, pages of rows."""
from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import date, datetime, time
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app, g, request, url_for
from flask_babel import gettext as _

from ..core import clock, flow
from ..core.errors_web import problem
from ..core.web import text_limit
from ..extensions import db
from . import tokens

MAX_PAGE_SIZE = 100


class BadRequest(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def rate_key() -> str:
    """Limits count per token (by its hash, so the secret is not kept in the limiter's store), or
    per address for requests without one."""
    secret = bearer_secret()
    if secret:
        return "api-token:" + tokens.digest(secret)[:32]
    return "api-addr:" + (request.remote_addr or "")


def token_required(scope: str) -> Callable:
    """The view runs for a usable token with `scope`, its owner as `g.api_user`. A session cookie
    opens nothing here: the API knows people only by their tokens."""

    def decorate(view):
        @functools.wraps(view)
        def run(*args, **kwargs):
            secret = bearer_secret()
            if secret is None:
                return problem(401, _("Send a personal access token: Authorization: Bearer <token>."))
            token = tokens.find(secret)
            if token is None:
                return problem(401, _("The token is not valid."))
            refusal = None
            if token.revoked_at is not None:
                refusal = ("revoked", 401, _("The token was revoked."))
            elif not token.usable_at(clock.now()):
                refusal = ("expired", 401, _("The token has expired."))
            elif not token.user.active:
                refusal = ("account_inactive", 401, _("The token's account is deactivated."))
            elif not token.has_scope(scope):
                refusal = ("scope", 403, _("The token does not have the scope %(scope)s.", scope=scope))
            if refusal is not None:
                reason, status, detail = refusal
                tokens.note_refusal(token, reason, request.path)
                flow.keep()  # the refusal's audit event stays although the answer is an error
                return problem(status, detail)
            tokens.note_use(token, request.path)
            g.api_user, g.api_token = token.user, token
            return view(*args, **kwargs)

        run.api_scope = scope
        return run

    return decorate


# --- cursors ---------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def encode_cursor(values: list) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str, kinds: list[type]) -> list:
    """The key a cursor carries, each part read as `kinds` says; a cursor not made here is a 400."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        parts = json.loads(raw.decode("utf-8"))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError
        values = []
        for part, kind in zip(parts, kinds):
            if kind is int:
                if not isinstance(part, int) or isinstance(part, bool) or not 0 <= part < 2**63:
                    raise ValueError
                values.append(part)
            elif kind is datetime:
                moment = datetime.fromisoformat(part)
                if moment.tzinfo is None:
                    raise ValueError
                values.append(moment)
            else:
                values.append(kind.fromisoformat(part))
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError, OverflowError):
        raise BadRequest(_("The cursor is not one this API gave out.")) from None


def beyond(columns: list, values: list, descending: bool) -> sa.ColumnElement[bool]:
    """Rows after the key (columns, values) in the list's order: (a, b) > (x, y) spelled out, so
    both databases read it from the index."""
    first, rest = columns[0], columns[1:]
    step = first < values[0] if descending else first > values[0]
    if not rest:
        return step
    return sa.or_(step, sa.and_(first == values[0], beyond(rest, values[1:], descending)))


def page_size() -> int:
    text = request.args.get("limit", "")
    if not text:
        return current_app.config["PAGE_SIZE"]
    try:
        size = int(text)
    except ValueError:
        raise BadRequest(_("limit is a whole number from 1 to %(n)s.", n=MAX_PAGE_SIZE)) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(_("limit is a whole number from 1 to %(n)s.", n=MAX_PAGE_SIZE))
    return size


def keyset_page(stmt: sa.Select, columns: list, kinds: list[type], key: Callable[[Any], list], *,
                descending: bool, serialize: Callable[[list], list], cursor_arg: str = "cursor",
                always_next: bool = False, rows: bool = False, planned_once: bool = False) -> dict:
    """One page of `stmt` after the request's cursor, in the order of `columns`: one query for the
    rows (one more than the page, to know whether another follows) and what `serialize` loads.
    With `rows`, `stmt` selects columns, and `key` and `serialize` are given its rows, not entities.

    `planned_once`: the page size written into the statement's text (core/web.py `text_limit`), for
    lists that filter by nothing whose rows are unevenly spread (the public notices). A list scoped
    to one organization keeps its size a parameter: a plan made once for every organization is one
    for an organization of average size, and the largest holds a third of the district."""
    size = page_size()
    text = request.args.get(cursor_arg, "")
    if text:
        stmt = stmt.where(beyond(columns, decode_cursor(text, kinds), descending))
    order = [c.desc() if descending else c.asc() for c in columns]
    result = db.session.execute(stmt.order_by(*order).limit(text_limit(size + 1) if planned_once else size + 1))
    rows = result.all() if rows else result.unique().scalars().all()
    more = len(rows) > size
    rows = rows[:size]
    next_url = None
    if rows and (more or always_next):
        args = {**request.view_args, **request.args.to_dict(), cursor_arg: encode_cursor(key(rows[-1]))}
        next_url = url_for(request.endpoint, **args, _external=True)
    elif always_next:
        next_url = request.url
    return {"items": serialize(rows), "next": next_url}


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None
