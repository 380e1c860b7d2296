"""Small helpers the server-side tests share: logging in, reading back rows and audit events."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from svcproc.audit.models import AuditEvent
from svcproc.audit.services import append_pending
from svcproc.core import storage
from svcproc.extensions import db

from .builders.accounts import DEFAULT_PASSWORD

PAGE_LOCALE = "zh_CN"  # what pages speak when nobody chose a language
# The Redis database the job-runner tests use; two test runs on one machine can each take their own.
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


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


def copy_row(model, row_id: int, **changed) -> sa.Insert:
    """An insert of a copy of one row of `model` (with the `changed` columns), as another save made
    at the same moment would insert it: a test's way to meet a unique key or another constraint."""
    table = model.__table__
    columns = [c for c in table.c if c.name != "id"]
    values = [sa.literal(changed[c.name], c.type) if c.name in changed else c for c in columns]
    return sa.insert(table).from_select([c.name for c in columns], sa.select(*values).where(table.c.id == row_id))


def audit_events(action: str | None = None, **filters) -> list[AuditEvent]:
    """The chain's events (those recorded so far in this transaction placed first, as a commit would)."""
    append_pending(db.session)
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.execute(stmt).scalars())


def last_seq() -> int:
    append_pending(db.session)
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
    append_pending(db.session)
    return list(db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)).scalars())


# Tables a procurement refusal must leave alone (besides the refused object's own fields).
WATCHED_TABLES = ("community_need", "project_plan", "plan_community", "tender", "tender_criterion",
                  "tender_document", "clarification", "bid", "bid_document", "tender_expert", "expert_score",
                  "objection", "objection_document", "complaint", "complaint_document", "stored_file", "file_chunk",
                  "audit_event")


def row_counts(tables=WATCHED_TABLES) -> dict[str, int]:
    append_pending(db.session)
    return {name: db.session.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() for name in tables}


def fields_of(obj) -> dict:
    """An object's column values as the session has them (reloaded if expired)."""
    return {attr.key: getattr(obj, attr.key) for attr in sa.inspect(obj).mapper.column_attrs}


@contextmanager
def unchanged(*objects):
    """Asserts that what runs inside changed nothing: the objects' fields (in the session, which is
    what a view would go on to commit), the watched tables' row counts, and the audit trail.

        with unchanged(tender), pytest.raises(DomainError):
            workflow.publish_tender(staff, tender)
    """
    db.session.flush()
    before = [fields_of(obj) for obj in objects]
    seq, counts = last_seq(), row_counts()  # events recorded so far placed first
    yield
    assert not db.session.new, f"objects added: {db.session.new}"
    for obj, was in zip(objects, before):
        assert fields_of(obj) == was, f"{obj!r} changed"
    assert row_counts() == counts
    assert last_seq() == seq, [e.action for e in events_after(seq)]


def every_get_url(app, values: dict, per_endpoint: dict | None = None, skip=("static",)) -> list[str]:
    """A URL for every GET endpoint of the app, its parameters filled from `values`
    (`per_endpoint[endpoint]` overrides them for one endpoint). A parameter nobody filled gets an
    id no row has (0) or "x", so a new endpoint is still walked, if only to its 404; one of a few
    words (an export's format, `<any(csv, xlsx):fmt>`) gets a URL for each word."""
    from flask import url_for
    from werkzeug.routing import AnyConverter, IntegerConverter

    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in skip or "GET" not in rule.methods:
                continue
            params = {**values, **(per_endpoint or {}).get(rule.endpoint, {})}
            choices = {}
            for name in set(rule.arguments) - set(params):
                converter = rule._converters[name]
                if isinstance(converter, AnyConverter):
                    choices[name] = sorted(converter.items)
                params[name] = 0 if isinstance(converter, IntegerConverter) else "x"
            for name, words in choices.items() or [(None, [None])]:
                for word in words:
                    filled = {**params, **({name: word} if name else {})}
                    urls.append(url_for(rule.endpoint, **{n: filled[n] for n in rule.arguments}))
    return urls


def readable_text(response) -> str:
    """What a person could read in a response: the text of a page or export, and inside a ZIP, PDF or
    XLSX download the text of each member, page, attachment and cell (compressed bytes hide nothing
    from a reader, so a scan of them would prove nothing)."""
    return _readable(response.get_data(), response.mimetype or "")


def _readable(data: bytes, mimetype: str = "") -> str:
    import io
    import zipfile

    if data.startswith(b"%PDF-"):
        from pypdf import PdfReader

        try:
            reader = PdfReader(io.BytesIO(data))
            parts = [page.extract_text() or "" for page in reader.pages]
            parts += [content.decode("utf-8", "replace") for contents in reader.attachments.values()
                      for content in contents]
        except Exception:  # noqa: BLE001 - a stand-in upload that is barely a PDF: read its bytes
            parts = []
        return "\n".join(parts + [data.decode("utf-8", "replace")])
    if data.startswith(b"PK\x03\x04"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        if "xl/workbook.xml" in archive.namelist():
            import openpyxl

            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                             for cell in row if cell is not None)
        return "\n".join(_readable(archive.read(name)) for name in archive.namelist())
    return data.decode("utf-8", "replace")


def overwrite_stored(stored, payload: bytes) -> None:
    """Other bytes under a stored file's name, as if they had changed where they are kept."""
    kept = storage.backend()
    kept.delete(stored.stored_name)
    kept.put(payload, name=stored.stored_name)
