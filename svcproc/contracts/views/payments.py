"""The payments of the contracts a person sees, filtered like the portfolio's figures (fiscal year,
service category, month paid), and their export."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import exports
from ...core.permissions import require
from ...core.web import is_htmx, like_pattern, paginate
from ...extensions import db
from ...procurement.labels import CATEGORY_LABELS
from ...procurement.models import ProjectPlan, ServiceCategory, Tender
from ...registry.models import Organization
from .. import permissions as perms
from ..models import Contract, Milestone, Payment
from . import bp
from .contracts import _month_range


def listed_payments() -> tuple[sa.Select, dict]:
    """The payments the list shows with the request's filters (the page and its export)."""
    args = {name: request.args.get(name, "").strip() for name in ("q", "year", "category", "month", "contract")}
    stmt = perms.visible_payments(current_user)
    if args["q"]:
        pattern = like_pattern(args["q"])
        stmt = stmt.where(sa.or_(
            Payment.voucher_number.ilike(pattern, escape="\\"),
            Payment.contract_id.in_(sa.select(Contract.id).where(sa.or_(
                Contract.title.ilike(pattern, escape="\\"), Contract.number.ilike(pattern, escape="\\"))))))
    if args["contract"].isdigit():
        stmt = stmt.where(Payment.contract_id == int(args["contract"]))
    plans = []
    if args["year"].isdigit() and len(args["year"]) == 4:
        plans.append(ProjectPlan.fiscal_year == int(args["year"]))
    if args["category"] in {c.value for c in ServiceCategory}:
        plans.append(ProjectPlan.category == ServiceCategory(args["category"]))
    if plans:
        stmt = stmt.where(Payment.contract_id.in_(
            sa.select(Contract.id).join(Tender, Tender.id == Contract.tender_id)
            .join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(*plans)))
    month = _month_range(args["month"])
    if month:
        stmt = stmt.where(Payment.paid_on >= month[0], Payment.paid_on < month[1])
    return stmt, args


@bp.route("/contracts/payments")
@login_required
def payments():
    require(perms.can_list_contracts(current_user))
    stmt, args = listed_payments()
    page = paginate(stmt.order_by(Payment.paid_on.desc(), Payment.id.desc()), loads=(
        joinedload(Payment.contract).joinedload(Contract.organization), joinedload(Payment.milestone)))
    template = "contracts/_payment_table.html" if is_htmx() else "contracts/payments.html"
    return render_template(template, page=page, **args)


@bp.route("/contracts/payments/export.<any(csv, xlsx):fmt>")
@login_required
def payments_export(fmt: str):
    require(perms.can_list_contracts(current_user))
    listed, _args = listed_payments()
    stmt = exports.bounded(
        sa.select(Payment.paid_on, Payment.voucher_number, Payment.amount_fen, Contract.number, Contract.title,
                  Organization.name, ProjectPlan.fiscal_year, ProjectPlan.category, Milestone.title)
        .select_from(Payment).join(Contract, Contract.id == Payment.contract_id)
        .join(Organization, Organization.id == Contract.organization_id)
        .join(Tender, Tender.id == Contract.tender_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .join(Milestone, Milestone.id == Payment.milestone_id)
        .where(exports.rows_of(listed)).order_by(Payment.paid_on.desc(), Payment.id.desc()))

    def rows():
        for paid_on, voucher, amount, number, title, organization, year, category, milestone in db.session.execute(stmt):
            yield [paid_on, voucher, exports.yuan(amount), number, title, organization, year,
                   CATEGORY_LABELS[category], milestone]

    return exports.export_response(
        fmt, exports.stamped(_("Payments")),
        [_("Paid on"), _("Voucher number"), _("Amount (yuan)"), _("Contract"), _("Title"), _("Organization"),
         _("Fiscal year"), _("Service category"), _("Milestone")], rows(), title=_("Payments"))
