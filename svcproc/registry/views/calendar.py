"""The working-day calendar: the bureau's local days over the national holiday arrangement."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...core import clock, flow, workdays
from ...core.permissions import require
from ...core.web import redirect_to
from ...extensions import db
from .. import calendar
from ..forms import LocalDayForm
from ..permissions import can_manage_calendar, can_view_calendar
from . import bp


def _page(form: LocalDayForm, **extra):
    days = db.session.execute(sa.select(workdays.LocalCalendarDay)
                              .order_by(workdays.LocalCalendarDay.day.desc()).limit(500)).scalars().all()
    first, last = workdays.national_years()
    this_year = clock.to_local(clock.now()).year
    return render_template("registry/calendar.html", form=form, days=days, first=first, last=last,
                           uncovered=[y for y in (this_year, this_year + 1) if not workdays.covers(y)], **extra)


@bp.route("/calendar")
@login_required
def working_days():
    require(can_view_calendar(current_user))
    return _page(LocalDayForm())


@bp.route("/calendar", methods=["POST"])
@login_required
def working_day_add():
    require(can_manage_calendar(current_user))
    form = LocalDayForm()

    def save():
        calendar.add_local_day(current_user, form.day.data, form.kind.data, form.name.data)
        return url_for("registry.working_days")

    return flow.submit(form, save, lambda **extra: _page(form, **extra), field="day",
                       message=_("Local day added."))


@bp.route("/calendar/<int:day_id>/remove", methods=["POST"])
@login_required
def working_day_remove(day_id: int):
    row = db.get_or_404(workdays.LocalCalendarDay, day_id)
    require(can_manage_calendar(current_user))
    calendar.remove_local_day(current_user, row)
    flash(_("Local day removed."), "success")
    return redirect_to(url_for("registry.working_days"))
