"""The auditor's risk overview: red flags still unexplained by kind, organization and month, and what
is overdue across the district, each figure leading to the rows behind it. It sits on the auditor's
desk (the auditor's home page)."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from ..core import charts, nav
from ..core.permissions import Role
from ..core.queues import month_of, today
from ..delivery.labels import RED_FLAG_LABELS
from ..delivery.models import RedFlag, RedFlagKind
from ..evaluations.models import ItemStatus, RectificationItem
from ..extensions import db
from ..registry.models import Organization
from .permissions import can_use_audit_desk

# Organizations listed by their number of unexplained flags, the most first.
TOP_ORGANIZATIONS = 8
# Months of the flag chart, the latest.
MONTHS = 12


def risk_overview(user) -> dict:
    """Three grouped statements, whatever the number of flags, milestones and items (the desk
    around it keeps its own bound)."""
    open_flag = sa.and_(RedFlag.active, RedFlag.explanation == "")
    month = month_of(RedFlag.found_at)
    by_kind, by_month = defaultdict(int), defaultdict(int)
    for kind, found, n in db.session.execute(sa.select(RedFlag.kind, month, sa.func.count()).where(open_flag)
                                             .group_by(RedFlag.kind, month)):
        by_kind[RedFlagKind(getattr(kind, "value", kind))] += n
        by_month[found] += n
    kinds = [{"kind": k, "label": str(RED_FLAG_LABELS[k]), "count": by_kind.get(k, 0),
              "url": url_for("delivery.red_flags", kind=k.value, state="open")} for k in RedFlagKind]
    count = sa.func.count().label("n")
    organizations = [{"name": r.name, "count": r.n, "url": url_for("reports.subject", kind="organization",
                                                                     subject_id=r.id)}
                     for r in db.session.execute(
                         sa.select(Organization.id, Organization.name, count)
                         .join(Contract, Contract.organization_id == Organization.id)
                         .join(RedFlag, RedFlag.contract_id == Contract.id).where(open_flag)
                         .group_by(Organization.id, Organization.name)
                         .order_by(count.desc(), Organization.name).limit(TOP_ORGANIZATIONS))]
    now = today()
    overdue_milestones = (
        sa.select(sa.func.count()).select_from(Milestone).join(Contract, Contract.id == Milestone.contract_id)
        .where(Contract.status.in_((ContractStatus.SIGNED, ContractStatus.IN_PROGRESS)),
               Milestone.status.in_((MilestoneStatus.PENDING, MilestoneStatus.RETURNED, MilestoneStatus.SUBMITTED)),
               Milestone.due_date < now).scalar_subquery())
    overdue_items = (sa.select(sa.func.count()).select_from(RectificationItem)
                     .where(RectificationItem.status != ItemStatus.CLOSED, RectificationItem.deadline < now)
                     .scalar_subquery())
    milestones_late, items_late = db.session.execute(sa.select(overdue_milestones, overdue_items)).one()
    total = sum(by_kind.values())
    shown = [k for k in kinds if k["count"]]
    months = sorted(by_month)[-MONTHS:]
    series = _("Unexplained red flags")
    kind_chart = charts.count_bars([(k["label"], k["count"]) for k in shown],
                                   _("Unexplained red flags by kind"), width=360) if shown else ""
    month_chart = charts.column_chart(months, {series: [by_month[m] for m in months]},
                                      _("Unexplained red flags by month found"), width=360, height=220) if months else ""
    org_chart = charts.count_bars([(o["name"], o["count"]) for o in organizations],
                                  _("Unexplained red flags by service organization"), width=360) if organizations else ""
    return {"key": "risk", "org_chart": org_chart, "heading": _l("Risk overview"), "total": total, "kinds": kinds,
            "organizations": organizations, "kind_chart": kind_chart, "month_chart": month_chart,
            "overdue_milestones": milestones_late, "overdue_items": items_late}


def _auditor(user) -> bool:
    return user.role == Role.AUDITOR and can_use_audit_desk(user)


# Kept until a red flag, a milestone or contract, or a rectification item changes, or the day
# (what is overdue) does (core/versions.py).
nav.panel("risk", "reports/_panel_risk.html", order=1, visible=_auditor, context=risk_overview,
          kept=("flags", "contract_queues", "rectification_queues"), clock="day")
