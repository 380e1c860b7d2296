"""Domain errors that views turn into HTTP answers with a message a person understands."""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the change. The message is already translated."""

    status_code = 409

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """The input breaks a rule about its own shape or value."""

    status_code = 422


class PermissionDenied(Exception):
    """The person may not do this."""


class StaleObject(DomainError):
    """Someone else saved the same record in the meantime."""

    status_code = 409


def check_version(obj, submitted) -> None:
    """Refuse a save made from a form opened before someone else's save (optimistic locking)."""
    from flask_babel import gettext as _

    try:
        submitted_version = int(submitted)
    except (TypeError, ValueError):
        submitted_version = -1
    if submitted_version != obj.version:
        raise StaleObject(
            _("Someone else saved this record after you opened it. Your entries are kept below; "
              "check the current values and save again.")
        )
