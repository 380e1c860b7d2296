"""Working days: the national arrangement (public holidays, adjusted working weekends), the bureau's
local days over it, and weekends alone for the years the national calendar does not know."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from svcproc.core import clock, workdays
from svcproc.core.workdays import LocalCalendarDay, LocalDayKind
from svcproc.extensions import db


def _local_day(day: date, kind: LocalDayKind) -> None:
    db.session.add(LocalCalendarDay(day=day, kind=kind, name="区级调整", created_at=clock.now()))
    db.session.flush()


@pytest.mark.parametrize("day, working", [
    (date(2026, 9, 30), True),    # Wednesday before National Day
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 7), False),   # last day of the Golden Week
    (date(2026, 10, 10), True),   # Saturday made a working day
    (date(2026, 2, 14), True),    # Saturday before Spring Festival, made a working day
    (date(2026, 2, 16), False),   # Spring Festival
    (date(2026, 2, 28), True),    # Saturday after it, made a working day
    (date(2026, 3, 7), False),    # an ordinary Saturday
])
def test_the_national_arrangement_decides_a_day(day, working):
    assert workdays.is_working_day(day) is working


@pytest.mark.parametrize("start, end", [
    # Friday 25 Sep: Mon 28, Tue 29, Wed 30 -> the 3rd working day is Wed 30 Sep.
    (date(2026, 9, 25), date(2026, 9, 30)),
    # Tue 29 Sep: Wed 30, then the Golden Week, Thu 8, Fri 9 -> Fri 9 Oct.
    (date(2026, 9, 29), date(2026, 10, 9)),
    # Wed 30 Sep: Thu 8, Fri 9, and the adjusted working Saturday 10 Oct.
    (date(2026, 9, 30), date(2026, 10, 10)),
    # Thu 12 Feb: Fri 13, the adjusted Saturday 14, then the festival until Mon 23 -> Tue 24 Feb.
    (date(2026, 2, 12), date(2026, 2, 24)),
])
def test_the_third_working_day_across_a_holiday(start, end):
    assert workdays.add_working_days(start, 3) == end
    assert workdays.working_days_between(start, end) == 3


def test_a_local_day_off_and_a_local_working_day_override_the_national_calendar():
    _local_day(date(2026, 9, 28), LocalDayKind.DAY_OFF)
    # From Friday 25 Sep: Tue 29, Wed 30, then past the Golden Week to Thu 8 Oct.
    assert not workdays.is_working_day(date(2026, 9, 28))
    assert workdays.add_working_days(date(2026, 9, 25), 3) == date(2026, 10, 8)

    _local_day(date(2026, 9, 27), LocalDayKind.WORKING_DAY)  # a Sunday
    assert workdays.add_working_days(date(2026, 9, 25), 3) == date(2026, 9, 30)


def test_a_year_the_package_does_not_know_falls_back_to_weekends_and_local_days():
    first, last = workdays.national_years()
    year = last + 1
    monday = date.fromisocalendar(year, 10, 1)
    _local_day(monday, LocalDayKind.DAY_OFF)

    assert not workdays.covers(year) and workdays.covers(last)
    assert not workdays.is_working_day(monday)
    assert workdays.is_working_day(date.fromisocalendar(year, 10, 2))
    assert not workdays.is_working_day(date.fromisocalendar(year, 10, 6))
    assert workdays.add_working_days(date.fromisocalendar(year, 9, 5), 1) == date.fromisocalendar(year, 10, 2)


def test_a_period_ends_at_the_end_of_its_last_working_day():
    # Published on Friday 25 Sep 2026 at 15:00 in Shanghai: one working day is Monday 28 Sep, to its end.
    moment = datetime(2026, 9, 25, 7, 0, tzinfo=timezone.utc)

    assert workdays.working_days_after(moment, 1) == datetime(2026, 9, 28, 16, 0, tzinfo=timezone.utc)


def test_the_local_days_are_read_once_per_version_and_follow_a_change(app, count_queries):
    """In a person's request the local days are kept under their version (core/versions.py): a
    second count reads none, a day added shows in the next request's count."""
    import sqlalchemy as sa
    from flask import g

    from svcproc.core import versions
    from svcproc.core.versions import DataVersion

    def in_request(work):
        with app.test_request_context():
            g.data_versions = dict(db.session.execute(sa.select(DataVersion.name, DataVersion.value)).all())
            return work()

    friday = date(2026, 9, 25)
    assert in_request(lambda: workdays.add_working_days(friday, 3)) == date(2026, 9, 30)
    with count_queries() as counted:
        assert in_request(lambda: workdays.add_working_days(friday, 3)) == date(2026, 9, 30)
    assert not [s for s in counted.statements if "local_calendar_day" in s]

    _local_day(date(2026, 9, 28), LocalDayKind.DAY_OFF)
    assert in_request(lambda: workdays.add_working_days(friday, 3)) == date(2026, 10, 8)
    assert versions.current("calendar") is None  # no versions read here: nothing is kept
