"""Maps errors to answers: 403, 404, 409 for a stale save or a broken rule, 422 for bad input."""
from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from . import flow
from .errors import DomainError, PermissionDenied
from .web import is_htmx


def problem(status: int, detail: str, **extra):
    """An error of the JSON API as RFC 9457 problem details (`application/problem+json`)."""
    from http import HTTPStatus

    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="svcproc"'
    return response


def _answer(status: int, title: str, message: str, field: str | None = None):
    if request.path.startswith("/api/"):
        return problem(status, message, **({"field": field} if field else {}))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title, message=message), status
    # A refused action answers on the page it was sent from, the message beside its form.
    on_page = flow.answer_on_source_page(status, message, field)
    if on_page is not None:
        return on_page
    template = "errors/_message.html" if is_htmx() else "errors/error.html"
    response = render_template(template, status=status, title=title, message=message), status
    return response


def init_app(app) -> None:
    @app.errorhandler(PermissionDenied)
    def _forbidden(_exc):
        db.session.rollback()
        return _answer(403, _("Not allowed"), _("You do not have permission to do this."))

    @app.errorhandler(StaleDataError)
    def _stale(_exc):
        db.session.rollback()
        return _answer(
            409,
            _("Changed by someone else"),
            _("Someone else saved this record after you opened it. Your changes were not saved; "
              "check the current values shown here, then make your changes again."),
        )

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        db.session.rollback()
        return _answer(exc.status_code, _("Not possible"), exc.message, exc.field)

    @app.errorhandler(IntegrityError)
    def _same_moment(exc: IntegrityError):
        # A unique key broken because another save was made at the same moment (both checked before
        # either committed): nothing was saved, and the person is asked to look and send it again.
        # Any other broken constraint is a fault of the code.
        db.session.rollback()
        if not flow.is_unique_violation(exc):
            raise exc
        current_app.logger.warning("a save met another made at the same moment: %s", exc.orig)
        return _answer(409, _("Changed by someone else"),
                       _("Someone else saved the same thing at the same moment. Nothing of yours was saved: "
                         "check the page and send it again."))

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(_exc):
        # A number or date from the address or a form beyond what the database or the calendar
        # holds (a 20-digit id, the year 9999 plus a term): bad input, not a server error.
        db.session.rollback()
        return _answer(400, _("Not possible"), _("A number or date in the request is out of range."))

    @app.errorhandler(OperationalError)
    def _busy(exc: OperationalError):
        # SQLite's write lock still held by another save after the busy timeout: the person's input
        # is kept on the page and they are asked to send it again. Anything else is a real fault.
        db.session.rollback()
        if "database is locked" not in str(exc.orig):
            raise exc
        g.sqlite_read_only = True  # the answer only reads: it need not wait for the write lock
        return _answer(503, _("Busy"), _("Many people are saving at this moment. Nothing was saved: "
                                         "send it again in a moment."))

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return _answer(400, _("Form expired"),
                       _("The form had expired or was sent from elsewhere. Reload the page and try again."))

    @app.errorhandler(404)
    def _not_found(_exc):
        return _answer(404, _("Not found"), _("There is no such page or record."))

    @app.errorhandler(405)
    def _not_allowed(_exc):
        return _answer(405, _("Method not allowed"), _("This address does not accept that request."))

    @app.errorhandler(429)
    def _too_many(_exc):
        if request.path.startswith("/api/"):
            return _answer(429, _("Too many requests"),
                           _("Too many requests with this token in a short time. Wait a minute and try again."))
        return _answer(429, _("Too many attempts"),
                       _("Too many attempts from your address in a short time. Wait a minute and try again."))

    @app.errorhandler(413)
    def _too_large(_exc):
        return _answer(413, _("File too large"), _("The upload is larger than the allowed size."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _answer(exc.code or 500, exc.name, exc.description or "")
