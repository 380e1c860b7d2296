"""The audit trail for auditors and admins: filtered list, CSV export, chain verification."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user, login_required

from ..core import clock
from ..core.formatting import local_datetime
from ..core.permissions import require
from ..core.web import is_htmx, like_pattern, paginate
from ..extensions import db
from .models import AuditEvent
from .permissions import can_view_audit
from .services import verify_chain

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _parse_day(value: str):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


def _filters() -> tuple[sa.Select, dict]:
    args = {k: request.args.get(k, "").strip() for k in ("actor", "object_type", "object_id", "action",
                                                          "date_from", "date_to")}
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq.desc())
    if args["actor"]:
        stmt = stmt.where(AuditEvent.actor_name.ilike(like_pattern(args["actor"]), escape="\\"))
    if args["object_type"]:
        stmt = stmt.where(AuditEvent.object_type == args["object_type"])
    if args["object_id"]:
        stmt = stmt.where(AuditEvent.object_id == args["object_id"])
    if args["action"]:
        stmt = stmt.where(AuditEvent.action.like(args["action"].replace("%", "") + "%"))
    # Days are Shanghai calendar days; the database keeps UTC.
    day_from, day_to = _parse_day(args["date_from"]), _parse_day(args["date_to"])
    if day_from:
        start = datetime.combine(day_from, time.min, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
        stmt = stmt.where(AuditEvent.occurred_at >= start)
    if day_to:
        end = datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
        stmt = stmt.where(AuditEvent.occurred_at < end)
    return stmt, args


@bp.route("")
@login_required
def events():
    require(can_view_audit(current_user))
    stmt, args = _filters()
    page = paginate(stmt, per_page=50)
    object_types = [t for (t,) in db.session.execute(
        sa.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)) if t]
    template = "audit/_event_table.html" if is_htmx() else "audit/events.html"
    return render_template(template, page=page, args=args, object_types=object_types)


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); actor names
# come from the login form, typed by anyone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_COLUMNS = ("seq", "occurred_at_utc", "occurred_at_local", "actor", "action", "object_type", "object_id",
               "changes", "client_ip", "prev_hash", "hash")


@bp.route("/export.csv")
@login_required
def export_csv():
    require(can_view_audit(current_user))
    stmt, _args = _filters()
    stmt = stmt.order_by(None).order_by(AuditEvent.seq).execution_options(yield_per=1000)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
        writer.writerow(CSV_COLUMNS)
        for event in db.session.execute(stmt).scalars():
            writer.writerow([_cell(value) for value in (
                event.seq, event.occurred_at.isoformat(), local_datetime(event.occurred_at, "%Y-%m-%d %H:%M:%S"),
                event.actor_name, event.action, event.object_type, event.object_id,
                json.dumps(event.changes, ensure_ascii=False, sort_keys=True), event.client_ip,
                event.prev_hash, event.hash,
            )])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return Response(stream_with_context(rows()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})


@bp.route("/verify")
@login_required
def verify():
    require(can_view_audit(current_user))
    report = verify_chain()
    return render_template("audit/_verify.html", report=report)
