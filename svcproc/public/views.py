"""The public notice board, its Atom feed and the per-area results page, on the public blueprint."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import charts, nav, versions
from ..core.web import is_htmx, paginate
from ..delivery.labels import ACTIVITY_TYPE_LABELS
from ..delivery.views.common import AREAS
from ..evaluations.labels import GRADE_LABELS, ROUND_KIND_LABELS
from ..extensions import db
from ..procurement.models import ServiceCategory
from ..procurement.public_views import bp
from ..registry.models import Area, AreaLevel
from . import board, sharing
from . import tasks  # noqa: F401  (registers the figures job)

LOCAL = ZoneInfo("Asia/Shanghai")
nav.menu("public.areas", _l("Results by community"), order=3, visible=lambda user: True, public=True)


@bp.app_context_processor
def _open_side():
    config = current_app.config
    return {"notice_kind_labels": board.NOTICE_KIND_LABELS, "notice_kinds": board.NoticeKind,
            "purchaser_contact": {"name": config.get("BUREAU_CONTACT_NAME", ""),
                                  "phone": config.get("BUREAU_CONTACT_PHONE", ""),
                                  "address": config.get("BUREAU_ADDRESS", "")}}


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


# The board's filter of streets and communities, kept by each process until an area changes (the
# areas' version is read with the login's account, or for a visitor with the board's count).
_AREA_CHOICES = versions.Kept(AREAS, size=1)


def _streets_and_communities() -> tuple:
    """(id, name) of every street and community, in the order of their codes."""
    return _AREA_CHOICES.get("streets and communities", lambda: tuple(db.session.execute(
        sa.select(Area.id, Area.name).where(Area.level.in_([AreaLevel.STREET, AreaLevel.COMMUNITY]))
        .order_by(Area.code)).all()))


def filters_from_request() -> board.Filters:
    args = request.args
    kinds = {k for k in board.NoticeKind if k.value in args.getlist("type")} or set(board.NoticeKind)
    legacy = args.get("kind", "")
    open_only = legacy == "open"
    if open_only:
        kinds = {board.NoticeKind.TENDER}
    elif legacy == "awards":
        kinds = {board.NoticeKind.RESULT}
    area_id = args.get("area", "")
    area = db.session.get(Area, int(area_id)) if area_id.isdigit() else None
    category = args.get("category", "")
    return board.Filters(kinds=kinds, area=area, open_only=open_only,
                         category=ServiceCategory(category) if category in {c.value for c in ServiceCategory} else None,
                         since=_day("since"), until=_day("until"))


@bp.route("/notices")
def notices():
    filters = filters_from_request()
    try:
        number = int(request.args.get("page", 1))
    except ValueError:
        number = 1
    page = board.notices_page(filters, number)
    template = "public/_notice_list.html" if is_htmx() else "public/notices.html"
    return render_template(template, page=page, filters=filters, kind=request.args.get("kind", ""),
                           areas=_streets_and_communities() if not is_htmx() else [])


def _feed_time(notice: board.Notice) -> datetime:
    t = notice.record
    moment = {board.NoticeKind.TENDER: getattr(t, "publish_at", None),
              board.NoticeKind.RESULT: getattr(t, "publicity_starts_at", None),
              board.NoticeKind.TERMINATION: getattr(t, "status_changed_at", None)}.get(notice.kind)
    return moment or datetime.combine(notice.day, time(9), LOCAL).astimezone(timezone.utc)


def notice_url(notice: board.Notice, **kw) -> str:
    if notice.kind == board.NoticeKind.CONTRACT:
        return url_for("contracts.contract_notice", contract_id=notice.record.id, **kw)
    if notice.kind == board.NoticeKind.CORRECTION:
        return url_for("contracts.contract_notice", contract_id=notice.record.contract_id,
                       _anchor=f"amendment-{notice.record.number}", **kw)
    return url_for("public.tender_notice", tender_id=notice.record.id, **kw)


nav.template_global("notice_url", notice_url)


@bp.route("/notices/feed.xml")
def notices_feed():
    """The latest notices as an Atom feed (RFC 4287), filtered as the board is (a feed of one community,
    of contract notices, …); Jinja escapes every text it carries."""
    items = board.recent(limit=50, filters=filters_from_request())
    updated = max((_feed_time(n) for n in items), default=datetime(2000, 1, 1, tzinfo=timezone.utc))
    base = current_app.config["PUBLIC_URL"]
    body = render_template("public/feed.xml", items=items, updated=updated, base=base, feed_time=_feed_time,
                           self_url=request.full_path.rstrip("?"))
    response = make_response(body)
    response.mimetype = "application/atom+xml"
    return response


@bp.route("/areas")
def areas():
    streets = db.session.execute(
        sa.select(Area).where(Area.level == AreaLevel.STREET).order_by(Area.code)).scalars().all()
    communities = db.session.execute(
        sa.select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).scalars().all()
    by_street: dict[int | None, list[Area]] = {}
    for c in communities:
        by_street.setdefault(c.parent_id, []).append(c)
    return render_template("public/areas.html", streets=streets, by_street=by_street)


@bp.route("/areas/<int:area_id>")
def area_results(area_id: int):
    area = db.get_or_404(Area, area_id)
    if area.level not in (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY):
        abort(404)
    figures = sharing.results(area)
    needs = paginate(sharing.needs_statement(area))
    if is_htmx() and request.args.get("page"):
        return render_template("public/_area_needs.html", area=area, needs=needs)
    shown_types = [(str(ACTIVITY_TYPE_LABELS[kind]), c.value) for kind, c in figures["by_type"] if not c.suppressed]
    type_chart = charts.count_bars(shown_types, _("Service sessions by kind")) if shown_types else ""
    from ..procurement.labels import NEED_STATUS_LABELS

    need_chart = charts.count_bars([(str(NEED_STATUS_LABELS[s]), n) for s, n in figures["need_counts"].items() if n],
                                   _("Needs raised, by what became of them")) if any(figures["need_counts"].values()) else ""
    return render_template("public/area.html", area=area, needs=needs, type_chart=type_chart, need_chart=need_chart,
                           grade_labels=GRADE_LABELS, round_kind_labels=ROUND_KIND_LABELS,
                           suppressed_types=[str(ACTIVITY_TYPE_LABELS[k]) for k, c in figures["by_type"] if c.suppressed],
                           **figures)


def home_notices() -> dict:
    """What an anonymous visitor's home page shows: open calls and the latest notices."""
    return {"open_calls": board.open_calls(), "recent_notices": board.recent(limit=8)}


nav.template_global("public_home", home_notices)

