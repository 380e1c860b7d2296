"""The bureau's local calendar days: who keeps them, the audit trail, refusals that change nothing,
and the page saying which years the national arrangement covers."""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import gettext as _

from svcproc.core import workdays
from svcproc.core.errors import PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.core.workdays import LocalCalendarDay, LocalDayKind
from svcproc.registry import calendar
from tests.builders.accounts import UserFactory
from tests.helpers import audit_events, count, in_page, login, unchanged


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROCUREMENT])
def test_bureau_staff_add_and_remove_a_local_day_audited(clock, role):
    actor = UserFactory(role=role)

    row = calendar.add_local_day(actor, date(2026, 9, 28), LocalDayKind.DAY_OFF, "区级纪念日")

    assert not workdays.is_working_day(date(2026, 9, 28))
    added = audit_events("calendar.day_added")[-1]
    assert (added.changes["day"], added.changes["kind"]) == ([None, "2026-09-28"], [None, "day_off"])
    calendar.remove_local_day(actor, row)
    assert workdays.is_working_day(date(2026, 9, 28))
    assert audit_events("calendar.day_removed")[-1].changes["day"] == ["2026-09-28", None]


@pytest.mark.parametrize("role", [Role.EXPERT, Role.ORG_MANAGER, Role.AUDITOR, Role.EVALUATOR])
def test_others_do_not_change_the_calendar(clock, role):
    with unchanged(), pytest.raises(PermissionDenied):
        calendar.add_local_day(UserFactory(role=role), date(2026, 9, 28), LocalDayKind.DAY_OFF, "区级纪念日")
    assert count(LocalCalendarDay) == 0


@pytest.mark.parametrize("day, kind, field", [
    (date(2026, 10, 1), LocalDayKind.DAY_OFF, "kind"),         # National Day is off already
    (date(2026, 9, 29), LocalDayKind.WORKING_DAY, "kind"),     # a Tuesday works already
    (None, LocalDayKind.DAY_OFF, "day"),
])
def test_a_day_the_national_calendar_already_has_so_is_refused(clock, day, kind, field):
    staff = UserFactory(role=Role.PROCUREMENT)

    with unchanged(), pytest.raises(ValidationError) as refused:
        calendar.add_local_day(staff, day, kind, "区级调整")

    assert refused.value.field == field and count(LocalCalendarDay) == 0


def test_a_date_has_one_local_entry(clock):
    staff = UserFactory(role=Role.PROCUREMENT)
    calendar.add_local_day(staff, date(2026, 9, 28), LocalDayKind.DAY_OFF, "区级纪念日")

    with unchanged(), pytest.raises(ValidationError):
        calendar.add_local_day(staff, date(2026, 9, 28), LocalDayKind.DAY_OFF, "再次")


def test_the_page_says_which_years_fall_back_to_weekends(client, clock, count_queries):
    first, last = workdays.national_years()
    clock.set(clock.now.replace(year=last + 1))
    staff = UserFactory(role=Role.PROCUREMENT)
    for n in range(3):
        calendar.add_local_day(staff, date.fromisocalendar(last + 1, 10, 1 + n), LocalDayKind.DAY_OFF, f"区级{n}")
    login(client, staff)

    with count_queries() as counted:
        html = client.get("/registry/calendar").get_data(as_text=True)

    assert in_page(lambda: _("The national arrangement for %(y)d is not known to this installation: until it is, "
                             "%(y)d counts Monday to Friday as working days, with the local days below. Add the "
                             "holidays and adjusted working days of %(y)d here once the State Council publishes "
                             "them.", y=last + 1)) in html
    assert "区级2" in html
    assert counted.count <= 8


def test_the_form_posts_a_local_day(client, clock):
    login(client, UserFactory(role=Role.PROCUREMENT))

    response = client.post("/registry/calendar", data={"day": "2026-09-28", "kind": "day_off", "name": "区级纪念日"})

    assert response.status_code == 303 and count(LocalCalendarDay) == 1
    assert audit_events("calendar.day_added")
