"""Working days: the State Council's yearly holiday arrangement and the bureau's own local days.

Every deadline the rules of law count in working days (publicity, objections, answers, notices,
negotiation and inquiry response periods) is counted here. A day is a working day when the bureau
has said so for that date (a local day); otherwise, for the years the `chinese-calendar` package
knows, when the national arrangement makes it one (public holidays off, adjusted working weekends
on); for other years, when it is Monday to Friday. As in the Civil Code (art. 201), a period does not
count the day it starts on and ends at the end of its last day.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import chinese_calendar
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock, versions
from .types import UTCDateTime, enum_column


class LocalDayKind(str, enum.Enum):
    DAY_OFF = "day_off"          # a local holiday: no work although the national calendar has some
    WORKING_DAY = "working_day"  # a local working day on a day the national calendar has off


class LocalCalendarDay(db.Model):
    """A date on which the bureau's calendar differs from the national one."""

    __tablename__ = "local_calendar_day"
    audit_type = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[LocalDayKind] = mapped_column(enum_column(LocalDayKind, "local_day_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


@lru_cache(maxsize=1)
def national_years() -> tuple[int, int]:
    """The first and last year whose national arrangement the installed package knows (read once:
    the package's tables do not change while the app runs)."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years[0], years[-1]


def covers(year: int) -> bool:
    first, last = national_years()
    return first <= year <= last


@lru_cache(maxsize=4096)
def national_working_day(day: date) -> bool:
    """Whether the national calendar (or, for a year it does not know, the week) makes `day` a working day.
    Kept per day: the package's tables do not change while the app runs, and a page counting a few
    deadlines asks about the same days again and again."""
    if covers(day.year):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


# The bureau's local days, a few a year, change only when staff add or remove one: read whole once
# per version of them and kept (core/versions.py), so a page counting deadlines reads none.
versions.watch("calendar", LocalCalendarDay, "day", "kind")
_kept_local_days = versions.Kept("calendar", size=4)


def _every_local_day() -> tuple[tuple[date, LocalDayKind], ...]:
    return tuple(db.session.execute(sa.select(LocalCalendarDay.day, LocalCalendarDay.kind)
                                    .order_by(LocalCalendarDay.day)).all())


def _local_days(first: date, last: date) -> dict[date, LocalDayKind]:
    if versions.current("calendar") is None:  # outside a person's request: read the span alone
        rows = db.session.execute(sa.select(LocalCalendarDay.day, LocalCalendarDay.kind)
                                  .where(LocalCalendarDay.day.between(first, last))).all()
        return {day: kind for day, kind in rows}
    return {day: kind for day, kind in _kept_local_days.get("every", _every_local_day) if first <= day <= last}


class Calendar:
    """Working days between two dates with the local days of that span read once."""

    def __init__(self, first: date, last: date):
        self.first, self.last = first, last
        self.local = _local_days(first, last)

    def is_working_day(self, day: date) -> bool:
        kind = self.local.get(day)
        if kind is not None:
            return kind == LocalDayKind.WORKING_DAY
        return national_working_day(day)


# A period of working days never spans more calendar days than this (Spring Festival and National
# Day add at most a week to any three weeks); the local days are read for that span at once.
_SPAN = 3


def is_working_day(day: date) -> bool:
    return Calendar(day, day).is_working_day(day)


def span(first: date, last: date, count: int) -> Calendar:
    """One calendar (local days read once) for periods of `count` working days starting from
    `first` to `last`: what a list of deadlines counts with, in one statement."""
    return Calendar(first, last + timedelta(days=_SPAN * count + 21))


def add_working_days(start: date, count: int, calendar: Calendar | None = None) -> date:
    """The `count`-th working day after `start` (`start` itself not counted); `start` for 0.
    `calendar`, when given, must begin on or before `start` (see `span`)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day, left = start, count
    if calendar is None or calendar.first > start:
        calendar = Calendar(start, start + timedelta(days=_SPAN * count + 21))
    while left:
        day += timedelta(days=1)
        if day > calendar.last:
            calendar = Calendar(day, day + timedelta(days=_SPAN * left + 21))
        if calendar.is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date, calendar: Calendar | None = None) -> int:
    """How many working days fall after `start` up to and including `end` (`calendar`, when given
    and covering that span, saves reading the local days again)."""
    if end <= start:
        return 0
    if calendar is None or calendar.first > start or calendar.last < end:
        calendar = Calendar(start, end)
    return sum(1 for n in range(1, (end - start).days + 1) if calendar.is_working_day(start + timedelta(days=n)))


def end_of_day(day: date) -> datetime:
    """The end of a local day (the next day's 00:00 in Asia/Shanghai), as an aware UTC moment."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)


def working_days_after(moment: datetime, count: int) -> datetime:
    """The end of the `count`-th working day after the local day of `moment`."""
    return end_of_day(add_working_days(clock.to_local(moment).date(), count))


def local_date(moment: datetime) -> date:
    return clock.to_local(moment).date()
