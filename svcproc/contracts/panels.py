"""Contracts' boxes on the home page: for the bureau, contracts to sign, milestones to accept and
payments due, and the district's money by service category and month; for an organization, the
deliverables coming due and the milestones sent back."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import charts, nav, versions
from ..core.permissions import Role
from ..core.queues import Queue, Row, fetch, month_of, today
from ..extensions import db
from ..procurement.labels import CATEGORY_LABELS
from ..procurement.models import ProjectPlan, ServiceCategory, Tender
from . import deadlines
from . import permissions as perms
from .models import Contract, ContractStatus, Milestone, MilestoneStatus, Payment

M = MilestoneStatus
ACTIVE = (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS)
# How far ahead an organization sees the deliverables coming due.
HORIZON_DAYS = 30


# The queues are read from milestones and the contracts they belong to: each person's boxes are
# kept until those change (core/versions.py); the bureau's also follow the deadline queues' own
# kind and the bureau's calendar (the days they are due), an organization's the day (its horizon).
QUEUES = "contract_queues"
versions.watch(QUEUES, Milestone, versions.EVERY_COLUMN)
versions.watch(QUEUES, Contract, "number", "title", "organization_id", "status")


def _milestone_rows(rows, action) -> list[Row]:
    return [Row(label=f"{r.number} {r.title} · {r.milestone}", due=r.due_date, action=action,
                url=url_for("contracts.contract", contract_id=r.contract_id) + f"#m{r.id}") for r in rows]


def _milestones() -> sa.Select:
    return (sa.select(Milestone.id, Milestone.title.label("milestone"), Milestone.due_date, Contract.id.label("contract_id"),
                      Contract.number, Contract.title)
            .join(Contract, Contract.id == Milestone.contract_id))


def bureau_queues(user) -> dict:
    # Awards whose contract is still to sign (drawn up or not), by the day the law wants it signed;
    # accepted milestones not yet paid in full, by the day the contract's payment term ends.
    to_sign, to_sign_total = deadlines.due_for(user, "signature")
    submitted, submitted_total = fetch(_milestones().where(Milestone.status == M.SUBMITTED)
                                       .order_by(Milestone.due_date, Milestone.id))
    to_pay, to_pay_total = deadlines.due_for(user, "payment")
    return {"key": "contracts", "heading": _l("Contracts"), "queues": [
        Queue("sign", _l("Contracts to sign"), total=to_sign_total,
              more_url=url_for("contracts.reminders") + "#due-signature", rows=[d.row() for d in to_sign]),
        Queue("accept", _l("Milestones to accept"), total=submitted_total, more_url=url_for("contracts.reminders"),
              rows=_milestone_rows(submitted, _l("Review"))),
        Queue("pay", _l("Payments due"), total=to_pay_total,
              more_url=url_for("contracts.reminders") + "#due-payment", rows=[d.row() for d in to_pay]),
    ]}


def organization_queues(user) -> dict:
    mine = sa.and_(Contract.organization_id == user.organization_id, Contract.status.in_(ACTIVE))
    horizon = today() + timedelta(days=HORIZON_DAYS)
    due, due_total = fetch(_milestones().where(mine, Milestone.status == M.PENDING, Milestone.due_date <= horizon)
                           .order_by(Milestone.due_date, Milestone.id))
    returned, returned_total = fetch(_milestones().where(mine, Milestone.status == M.RETURNED)
                                     .order_by(Milestone.due_date, Milestone.id))
    return {"key": "deliverables", "heading": _l("Contracts"), "queues": [
        Queue("returned", _l("Milestones returned to you"), total=returned_total,
              rows=_milestone_rows(returned, _l("Complete and resubmit"))),
        Queue("due", _l("Deliverables due"), total=due_total, more_url=url_for("contracts.reminders"),
              rows=_milestone_rows(due, _l("Upload and submit"))),
    ]}


# --- the bureau's money -------------------------------------------------------------------------


def _chart_year(this_year: int):
    """The year the chart shows: this year when it has plans, else the latest year before it that
    has (plans for next year hold no awards yet), else the earliest planned (as a scalar query)."""
    return sa.select(sa.func.coalesce(
        sa.func.max(sa.case((ProjectPlan.fiscal_year <= this_year, ProjectPlan.fiscal_year))),
        sa.func.min(ProjectPlan.fiscal_year), this_year)).scalar_subquery()


def fiscal_year() -> int:
    return db.session.execute(sa.select(_chart_year(today().year))).scalar_one()


# The figures change only with plans (their year, category, budget), tenders' plans, contracts
# (amount, signing, tender) and payments: worked out once per version of those, language and year,
# and kept (core/versions.py).
versions.watch("spending", ProjectPlan, "fiscal_year", "category", "budget_fen")
versions.watch("spending", Tender, "plan_id")
versions.watch("spending", Contract, "amount_fen", "signed_on", "tender_id")
versions.watch("spending", Payment, "amount_fen", "paid_on", "contract_id")
_kept_spending = versions.Kept("spending", size=32)


def spending(user) -> dict:
    """Budget, awarded and paid by service category, and awarded and paid by month, for the plans
    of one fiscal year: one statement of grouped parts, whatever the number of contracts."""
    this_year = today().year
    return _kept_spending.get((str(get_locale()), this_year), lambda: _spending(this_year))


def _spending(this_year: int) -> dict:
    of_year = ProjectPlan.fiscal_year == _chart_year(this_year)
    no_month = sa.cast(sa.null(), sa.String)
    rows = db.session.execute(sa.union_all(
        sa.select(sa.literal("budget"), ProjectPlan.category, no_month, sa.func.sum(ProjectPlan.budget_fen))
        .where(of_year).group_by(ProjectPlan.category),
        sa.select(sa.literal("awarded"), ProjectPlan.category, month_of(Contract.signed_on), sa.func.sum(Contract.amount_fen))
        .join(Tender, Tender.id == Contract.tender_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .where(of_year, Contract.signed_on.is_not(None))
        .group_by(ProjectPlan.category, month_of(Contract.signed_on)),
        sa.select(sa.literal("paid"), ProjectPlan.category, month_of(Payment.paid_on), sa.func.sum(Payment.amount_fen))
        .join(Contract, Contract.id == Payment.contract_id).join(Tender, Tender.id == Contract.tender_id)
        .join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .where(of_year).group_by(ProjectPlan.category, month_of(Payment.paid_on)),
        sa.select(sa.literal("year"), sa.null(), no_month, _chart_year(this_year)))).all()
    year = next(int(fen) for part, _category, _month, fen in rows if part == "year")
    budget = {category: fen for part, category, _month, fen in rows if part == "budget"}
    awarded_rows = [(category, month, fen) for part, category, month, fen in rows if part == "awarded"]
    paid_rows = [(category, month, fen) for part, category, month, fen in rows if part == "paid"]
    awarded, paid = defaultdict(int), defaultdict(int)
    awarded_month, paid_month = defaultdict(int), defaultdict(int)
    for category, month, fen in awarded_rows:
        awarded[category] += int(fen or 0)
        awarded_month[month] += int(fen or 0)
    for category, month, fen in paid_rows:
        paid[category] += int(fen or 0)
        paid_month[month] += int(fen or 0)
    categories = [c for c in ServiceCategory if budget.get(c) or awarded.get(c) or paid.get(c)]
    names = {"budget": _("Budget"), "awarded": _("Awarded"), "paid": _("Paid")}
    by_category = [{"category": c, "label": str(CATEGORY_LABELS[c]), "budget": int(budget.get(c) or 0),
                    "awarded": awarded.get(c, 0), "paid": paid.get(c, 0)} for c in categories]
    months = sorted(set(awarded_month) | set(paid_month))
    by_month = [{"month": m, "awarded": awarded_month.get(m, 0), "paid": paid_month.get(m, 0)} for m in months]
    yuan = lambda fen: fen / 100  # noqa: E731 - the charts draw yuan
    category_chart = charts.column_chart(
        [row["label"] for row in by_category],
        {names[k]: [yuan(row[k]) for row in by_category] for k in ("budget", "awarded", "paid")},
        _("Budget, awarded and paid by service category, fiscal year %(year)s (yuan)", year=year),
        height=260) if by_category else ""
    month_chart = charts.column_chart(
        [m for m in months], {names[k]: [yuan(row[k]) for row in by_month] for k in ("awarded", "paid")},
        _("Awarded and paid by month, fiscal year %(year)s (yuan)", year=year), height=240) if by_month else ""
    return {"key": "spending", "heading": _l("Budget and spending"), "year": year, "by_category": by_category,
            "by_month": by_month, "category_chart": category_chart, "month_chart": month_chart,
            "totals": {k: sum(row[k] for row in by_category) for k in ("budget", "awarded", "paid")}}


def _bureau(user) -> bool:
    return perms.can_manage_contracts(user)


def _org_manager(user) -> bool:
    return bool(user.role == Role.ORG_MANAGER and user.organization_id and perms.can_list_contracts(user))


nav.panel("contracts", "contracts/_panel_queue.html", order=20, visible=_bureau, context=bureau_queues,
          kept=(QUEUES, "deadlines", "calendar"))
nav.panel("deliverables", "contracts/_panel_queue.html", order=21, visible=_org_manager, context=organization_queues,
          kept=(QUEUES,), clock="day")
nav.panel("spending", "contracts/_panel_spending.html", order=90, visible=_bureau, context=spending)
