"""The one source of "now", so tests (and demo data) can move time."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """Current time in UTC, timezone-aware."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc)


def frozen() -> datetime | None:
    """The moment now() is pinned to, if any (to restore it after moving time temporarily)."""
    return _frozen


def freeze(moment: datetime | None) -> None:
    """Pin now() to a moment (aware; naive is taken as UTC). None releases it."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    _frozen = moment


def to_local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ)


def past_day(value, field: str):
    """A day a person says something happened: given, and not after today (local time)."""
    from datetime import date

    from flask_babel import gettext as _

    from .errors import ValidationError

    if not isinstance(value, date):
        raise ValidationError(_("Give the date."), field)
    if value > to_local(now()).date():
        raise ValidationError(_("The date cannot be in the future."), field)
    return value
