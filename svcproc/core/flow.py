"""The request's one transaction and the form flow every view shares.

Every view runs inside `transactional`: its work commits once when it answers with a success
(status below 400) and rolls back otherwise; work that must outlive a refusal (a failed login's
count) asks for `keep()`. Side effects that must not happen for work that did not land (handing a
job to a worker, deleting a replaced file) are registered with `after_commit` and run only once the
commit succeeded; `on_rollback` undoes what cannot wait (a file written to storage). A form page's
POST goes through `submit`, which answers every refusal on the form itself with what was typed.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app, flash, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..extensions import db
from .errors import DomainError, StaleObject, check_version
from .web import field_error, redirect_to

_AFTER = "svcproc_after_commit"
_UNDO = "svcproc_on_rollback"


def after_commit(fn: Callable[[], Any]) -> None:
    """Run `fn` once the session's transaction commits; drop it if the transaction rolls back."""
    db.session.info.setdefault(_AFTER, []).append(fn)


def on_rollback(fn: Callable[[], Any]) -> None:
    """Run `fn` if the session's transaction rolls back (undo a side effect made before the commit)."""
    db.session.info.setdefault(_UNDO, []).append(fn)


@sa.event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop(_UNDO, None)
    for fn in session.info.pop(_AFTER, []):
        fn()


@sa.event.listens_for(Session, "after_soft_rollback")
def _run_on_rollback(session: Session, previous_transaction) -> None:
    # Only the outermost transaction's end settles the effects (a savepoint's rollback does not).
    if previous_transaction.parent is None:
        _undo(session)


def _undo(session: Session) -> None:
    session.info.pop(_AFTER, None)
    for fn in session.info.pop(_UNDO, []):
        try:
            fn()
        except Exception:  # an undo that fails must not hide the error that caused the rollback
            current_app.logger.exception("undoing a side effect after a rollback failed")


def rollback() -> None:
    """Roll the request's work back and undo its side effects (also when nothing reached the database)."""
    db.session.rollback()
    _undo(db.session)


def keep() -> None:
    """Commit this request's work even though it answers with an error status."""
    g.flow_keep = True


def transactional(view: Callable) -> Callable:
    """Commit once when the view answers with a success (or asked to `keep`), roll back otherwise.

    A failure of the commit itself (a stale write, a constraint) reaches the error handlers like
    any error of the view, so it is answered on the page the person was on.
    """

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            rv = view(*args, **kwargs)
        except BaseException:
            rollback()
            raise
        response = current_app.make_response(rv)
        if g.get("flow_rendering_refusal"):
            rollback()
        elif response.status_code < 400 or g.pop("flow_keep", False):
            try:
                commit_answered()
            except BaseException:
                rollback()
                _drop_flashes()
                raise
        else:
            rollback()
        return response

    run.svcproc_transactional = True
    return run


def commit_answered() -> None:
    """The request's one commit, made once its answer is: the objects it read are left as they are
    rather than marked stale (marking each one cost a page of many objects up to 0.3 ms). Nothing
    reads them again before the request's session closes, except a streamed answer, which then reads
    the values the rest of the answer was made from."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def wrap_views(app) -> None:
    """Put every view of the app inside the request's transaction."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, "svcproc_transactional", False):
            app.view_functions[endpoint] = transactional(view)


def _drop_flashes() -> None:
    """Success messages flashed by a view whose work then failed to commit must not be shown."""
    from flask import session

    start = g.get("flow_flashes_before")
    if start is not None and "_flashes" in session:
        session["_flashes"] = session["_flashes"][:start]


def note_flashes() -> None:
    """Called before each request: how many messages were waiting, so a failed commit drops only its own."""
    from flask import session

    g.flow_flashes_before = len(session.get("_flashes", [])) if "_flashes" in session else 0


def stale_message() -> str:
    return _("Someone else saved this record after you opened it. Your entries are kept below; "
             "check the current values and save again.")


def same_moment_message() -> str:
    return _("Someone else saved the same thing at the same moment. Nothing of yours was saved; your "
             "entries are kept below: check the page and save again.")


def is_unique_violation(exc: BaseException) -> bool:
    """A unique key broken by a save that met another one made at the same moment (its check ran
    before the other committed): PostgreSQL's SQLSTATE 23505, SQLite's UNIQUE constraint."""
    if not isinstance(exc, sa.exc.IntegrityError):
        return False
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def submit(form, save: Callable[[], Any], page: Callable[..., Any], *, field: str, obj=None,
           message: str | Callable[[], str] | None = None, on_error: Callable[[DomainError], bool] | None = None):
    """A form page's request from start to answer.

    GET: the page (with the record's version in the form, for a later stale check).
    POST that validates: checks the version against `obj` (when the form carries one), runs
    `save()` (the workflow; returns where to go next, or a response) and flushes, then flashes
    `message` (or what `message()` says once saved, to name what the save made) and redirects. A rule the workflow refuses goes under the field it names (or
    `field`) with 422/409; `on_error` may place it elsewhere and return True. A stale write
    answers 409 with the page, what was typed and a reload prompt, the version refreshed so a
    second save, made knowingly, replaces the newer one. Input that does not validate: 422.
    `page(**extra)` renders the page (the whole page, or its fragment for htmx).
    """
    has_version = obj is not None and hasattr(form, "version")
    if request.method != "POST":
        if has_version and not form.version.data:
            form.version.data = str(obj.version)
        return page(), 200
    if not form.validate_on_submit():
        return page(), 422
    try:
        if has_version:
            check_version(obj, form.version.data)
        target = save()
        db.session.flush()
    except (StaleObject, StaleDataError) as exc:
        rollback()
        if has_version:
            form.version.data = str(obj.version)
        return page(stale=getattr(exc, "message", None) or stale_message()), 409
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        rollback()
        current_app.logger.warning("a save met another made at the same moment: %s", exc.orig)
        if has_version:
            form.version.data = str(obj.version)
        return page(stale=same_moment_message()), 409
    except DomainError as exc:
        rollback()
        if not (on_error and on_error(exc)):
            field_error(form, exc, field)
        return page(), exc.status_code
    if callable(message):
        message = message()
    if message:
        flash(str(message), "success")
    if isinstance(target, (Response, tuple)):
        return target
    return redirect_to(target)


# --- a refused action answers on the page it was sent from ------------------------------------------


@dataclass
class Refusal:
    """Shown on the re-rendered page next to the form that was sent, with what was typed."""

    action: str
    message: str
    field: str | None = None
    values: dict[str, list[str]] = dc_field(default_factory=dict)


# Inputs never echoed back into a page: secrets and the CSRF token.
_NOT_ECHOED = ("csrf_token", "password", "new_password", "current_password", "confirm", "version")


def _typed_values() -> dict[str, list[str]]:
    return {key: values for key, values in request.form.lists()
            if key not in _NOT_ECHOED and "password" not in key}


def refused_here(message: str, page: Callable[..., Any], status: int = 409):
    """A form page refusing the whole request (the record moved on since the form was opened): the
    page again, with the message where the refusal of an action shows (see base.html)."""
    from flask import make_response

    rollback()
    g.refusal = Refusal(action=request.path, message=message, values=_typed_values())
    response = make_response(page(), status)
    if request.headers.get("HX-Request") == "true":
        _swap_whole_content(response)
    return response


def _swap_whole_content(response) -> None:
    """htmx replaces the page's content whatever the form aimed at: the message sits beside the form."""
    response.headers["HX-Retarget"] = "#main"
    response.headers["HX-Reswap"] = "outerHTML"
    response.headers["HX-Reselect"] = "#main"
    response.headers["HX-Push-Url"] = "false"


def source_page() -> str | None:
    """The local address of the page the request was sent from (htmx tells; browsers send Referer)."""
    from urllib.parse import urlsplit

    from .web import is_local_url

    for header in ("HX-Current-URL", "Referer"):
        value = request.headers.get(header)
        if not value:
            continue
        parts = urlsplit(value)
        if parts.netloc and parts.netloc != request.host:
            return None
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        return local if is_local_url(local) else None
    return None


def answer_on_source_page(status: int, message: str, field: str | None = None):
    """The page the refused POST came from, rendered again with the message beside the sent form
    and the form's values restored; None when there is no such page to show (the caller then
    answers with the plain error page)."""
    if request.method != "POST" or g.get("flow_rendering_refusal"):
        return None
    source = source_page()
    if not source:
        return None
    from flask import session

    path, _sep, query = source.partition("?")
    if path == request.path and request.url_rule is not None and "GET" in request.url_rule.methods:
        return None  # a form page answers for itself (see `submit`)
    refusal = Refusal(action=request.path, message=message, field=field, values=_typed_values())
    htmx = request.headers.get("HX-Request") == "true"
    headers = {k: v for k, v in request.headers.items()
               if k in ("Accept-Language", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "Host")}
    ctx = current_app.test_request_context(path, query_string=query, method="GET", headers=headers,
                                           base_url=request.host_url)
    ctx._session = session._get_current_object()  # the same session: flashes and login stay one
    g.flow_rendering_refusal = True
    g.refusal = refusal
    try:
        with ctx:
            try:
                endpoint, args = ctx.url_adapter.match(path, method="GET")
                response = current_app.make_response(current_app.view_functions[endpoint](**args))
            except Exception:
                rollback()
                return None
    finally:
        g.pop("flow_rendering_refusal", None)
    if response.status_code != 200 or not response.mimetype == "text/html":
        return None
    response.status_code = status
    if htmx:
        _swap_whole_content(response)
    return response
