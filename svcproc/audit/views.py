"""The audit trail for auditors and admins: filtered list paged by sequence number, CSV export, and
the chain's verification (latest result at once; checks run as background jobs, followed through the
job-status page)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _nl
from flask_login import current_user, login_required

from ..core import clock, exports, jobs, nav
from ..core.permissions import require
from ..core.web import is_htmx, like_pattern, redirect_to
from ..extensions import db
from . import permissions as perms
from . import tasks  # noqa: F401  (registers the verification job)
from . import labels, verification
from .models import AuditEvent
from .permissions import can_view_audit
from .services import known_object_types, without_concealed

bp = Blueprint("audit", __name__, url_prefix="/audit")
nav.menu("audit.events", _nl("Audit trail"), order=70, visible=perms.can_view_audit)
nav.predicates(perms)
bp.add_app_template_filter(labels.changes_html, "audit_changes")


def _parse_day(value: str):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


FILTERS = ("actor", "object_type", "object_id", "action", "date_from", "date_to")
PER_PAGE = 50


def _filters() -> tuple[sa.Select, dict]:
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    stmt = without_concealed(sa.select(AuditEvent))
    if args["actor"]:
        stmt = stmt.where(AuditEvent.actor_name.ilike(like_pattern(args["actor"]), escape="\\"))
    if args["object_type"]:
        stmt = stmt.where(AuditEvent.object_type == args["object_type"])
    if args["object_id"]:
        stmt = stmt.where(AuditEvent.object_id == args["object_id"])
    if args["action"]:
        # A prefix, typed literally: "_" and "%" are characters of the action, not wildcards.
        stmt = stmt.where(AuditEvent.action.like(like_pattern(args["action"])[1:], escape="\\"))
    # Days are Shanghai calendar days; the database keeps UTC.
    day_from, day_to = _parse_day(args["date_from"]), _parse_day(args["date_to"])
    if day_from:
        start = datetime.combine(day_from, time.min, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
        stmt = stmt.where(AuditEvent.occurred_at >= start)
    if day_to:
        end = datetime.combine(day_to + timedelta(days=1), time.min, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
        stmt = stmt.where(AuditEvent.occurred_at < end)
    return stmt, args


def _seq_arg(name: str) -> int | None:
    try:
        return int(request.args[name])
    except (KeyError, ValueError):
        return None


@dataclass
class EventPage:
    """One page of events, newest first, and the sequence bounds of the pages either side."""
    items: list
    older: int | None = None  # show events before this seq
    newer: int | None = None  # show events after this seq


def _page(stmt: sa.Select, per_page: int = PER_PAGE) -> EventPage:
    """Keyset paging on seq: one query for a page (two for a short page of newer events), never a
    count of the table, however far back the page lies."""
    before, after = _seq_arg("before"), _seq_arg("after")
    if after is not None and before is None:
        rows = db.session.execute(stmt.where(AuditEvent.seq > after).order_by(AuditEvent.seq)
                                  .limit(per_page + 1)).scalars().all()
        if len(rows) > per_page:
            items = rows[:per_page][::-1]
            return EventPage(items, older=items[-1].seq, newer=items[0].seq)
        before = None  # fewer than a page of newer events: the newest page
    elif before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    rows = db.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(per_page + 1)).scalars().all()
    items = rows[:per_page]
    newer = None if before is None else (items[0].seq if items else before - 1)
    return EventPage(items, older=items[-1].seq if len(rows) > per_page else None, newer=newer)


@bp.route("")
@login_required
def events():
    require(can_view_audit(current_user))
    stmt, args = _filters()
    page = _page(stmt)
    filters = {k: v for k, v in args.items() if v}
    words = labels.describe(page.items)
    if is_htmx():  # the table alone: the filters' choices stay on the page
        return render_template("audit/_event_table.html", page=page, args=args, filters=filters, words=words)
    return render_template("audit/events.html", page=page, args=args, filters=filters, words=words,
                           object_types=_object_type_choices())


_TYPE_CHOICES: dict[str, list[tuple[str, str]]] = {}


def _object_type_choices() -> list[tuple[str, str]]:
    """The filter's object types with their names in the page's language: the same for every page
    in that language while the process runs, so named once per language, not fifty times a page."""
    language = str(get_locale())
    choices = _TYPE_CHOICES.get(language)
    if choices is None:
        choices = _TYPE_CHOICES[language] = [(t, labels.kind_label(t)) for t in known_object_types()]
    return choices


@bp.route("/export.<any(csv, xlsx):fmt>")
@login_required
def export_csv(fmt: str):
    """The filtered trail with its hashes (to check the chain elsewhere) and each action described;
    formula-safe and streamed through the one export helper."""
    require(can_view_audit(current_user))
    stmt, _args = _filters()
    stmt = stmt.order_by(AuditEvent.seq).execution_options(yield_per=1000)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return exports.export_response(fmt, f"audit-{stamp}", labels.CSV_COLUMNS, labels.event_rows(stmt),
                                   title=str(_nl("Audit trail")))


@bp.route("/verify")
@login_required
def verify():
    """The latest verification at once; a check runs as a job this page follows."""
    require(can_view_audit(current_user))
    status = verification.status()
    percent = jobs.progress_of(status.job)[0] if status.job is not None else 0
    template = "audit/_verify.html" if is_htmx() else "audit/verify.html"
    return render_template(template, status=status, percent=percent, reason_text=verification.reason_text)


@bp.route("/verify", methods=["POST"])
@login_required
def verify_start():
    require(can_view_audit(current_user))
    # None when a check is under way already: the page follows that one.
    verification.start_verification(current_user, full=request.form.get("scope") == "full")
    return redirect_to(url_for("audit.verify"))
