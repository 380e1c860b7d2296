"""Small helpers the server-side tests share: logging in, reading back rows and audit events."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from svcproc.audit.models import AuditEvent
from svcproc.extensions import db

from .factories import DEFAULT_PASSWORD

PAGE_LOCALE = "zh_CN"  # what pages speak when nobody chose a language


def login(client, user_or_name, password: str = DEFAULT_PASSWORD, next_url: str | None = None):
    """Log in through the real form; returns the response (303 on success)."""
    username = getattr(user_or_name, "username", user_or_name)
    url = "/login" if next_url is None else "/login?" + _query(next=next_url)
    return client.post(url, data={"username": username, "password": password})


def _query(**params) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def count(model, *where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model)
    if where:
        stmt = stmt.where(*where)
    return db.session.execute(stmt).scalar_one()


def audit_events(action: str | None = None, **filters) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.execute(stmt).scalars())


def last_seq() -> int:
    return db.session.execute(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.seq), 0))).scalar_one()


def in_page(message, locale: str = PAGE_LOCALE) -> str:
    """A user-facing message as a page in `locale` shows it (translated, HTML-escaped).

    `message` is a callable producing the message (it runs under the forced locale) or a string.
    Comparing with the same translation keeps the tests independent of the catalogs' wording.
    """
    with force_locale(locale):
        text = message() if callable(message) else message
    return str(escape(str(text)))


def csrf_token_from(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def is_fragment(html: str) -> bool:
    return "<html" not in html and "<body" not in html


def stays_on_site(location: str) -> bool:
    """Whether a browser following this Location stays on our site.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\\evil.example"
    would be "//evil.example", another host.
    """
    from urllib.parse import urlsplit

    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(cleaned)
    return not parts.scheme and not parts.netloc and cleaned.startswith("/") and not cleaned.startswith("//")


def events_after(seq: int) -> list[AuditEvent]:
    """Audit events written after sequence number `seq` (take `last_seq()` before the call)."""
    return list(db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)).scalars())
