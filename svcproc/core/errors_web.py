"""Maps errors to answers: 403, 404, 409 for a stale save or a broken rule, 422 for bad input."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from . import flow
from .errors import DomainError, PermissionDenied
from .web import is_htmx


def _answer(status: int, title: str, message: str, field: str | None = None):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
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

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(_exc):
        # A number or date from the address or a form beyond what the database or the calendar
        # holds (a 20-digit id, the year 9999 plus a term): bad input, not a server error.
        db.session.rollback()
        return _answer(400, _("Not possible"), _("A number or date in the request is out of range."))

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
        return _answer(429, _("Too many attempts"),
                       _("Too many attempts from your address in a short time. Wait a minute and try again."))

    @app.errorhandler(413)
    def _too_large(_exc):
        return _answer(413, _("File too large"), _("The upload is larger than the allowed size."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _answer(exc.code or 500, exc.name, exc.description or "")
