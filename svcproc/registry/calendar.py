"""The bureau's local calendar days: days off and working days that differ from the national
arrangement, each added or removed with an audit event (core/workdays.py counts with them)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock
from ..core.errors import ValidationError
from ..core.workdays import LocalCalendarDay, LocalDayKind, national_working_day
from ..core.workflow import allow
from ..extensions import db
from . import permissions as perms


def add_local_day(actor, day: date | None, kind, name: str) -> LocalCalendarDay:
    allow(actor, perms.can_manage_calendar(actor))
    if day is None:
        raise ValidationError(_("Give the date."), "day")
    kind = LocalDayKind(kind)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Say what the day is (e.g. the district's own holiday)."), "name")
    if db.session.execute(sa.select(LocalCalendarDay.id).where(LocalCalendarDay.day == day)).first():
        raise ValidationError(_("%(d)s already has a local entry; remove it first.", d=day.isoformat()), "day")
    if national_working_day(day) and kind == LocalDayKind.WORKING_DAY:
        raise ValidationError(_("%(d)s is already a working day in the national calendar.", d=day.isoformat()), "kind")
    if not national_working_day(day) and kind == LocalDayKind.DAY_OFF:
        raise ValidationError(_("%(d)s is already a day off in the national calendar.", d=day.isoformat()), "kind")
    row = LocalCalendarDay(day=day, kind=kind, name=name[:200], created_at=clock.now(),
                           created_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    record("calendar.day_added", actor=actor, obj=row,
           changes={"day": [None, day.isoformat()], "kind": [None, kind.value], "name": [None, row.name]})
    return row


def remove_local_day(actor, row: LocalCalendarDay) -> None:
    allow(actor, perms.can_manage_calendar(actor))
    record("calendar.day_removed", actor=actor, obj=row,
           changes={"day": [row.day.isoformat(), None], "kind": [row.kind.value, None], "name": [row.name, None]})
    db.session.delete(row)
    db.session.flush()
