"""The contract list, the contract form (terms and payment schedule), the contract page and its steps."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ...core import exports, flow, versions
from ...core.loading import has, hand_out, hand_out_some
from ...core.errors import DomainError, ValidationError
from ...core.formatting import points
from ...core.permissions import require
from ...core.targets import TARGET_FIELDS
from ...core.web import deferred, is_htmx, like_pattern, paginate, redirect_to
from ...extensions import db
from ...procurement.labels import CATEGORY_LABELS
from ...procurement.models import Bid, ProjectPlan, ServiceCategory, Tender, TenderStatus
from ...procurement.panels import QUEUES as PROCUREMENT_QUEUES
from ...registry.models import Organization
from .. import deadlines
from .. import permissions as perms
from .. import workflow
from ..labels import CONTRACT_STATUS_LABELS
from ..forms import AmendmentForm, ContractForm, DeliverableForm, EmptyForm, PaymentForm, ReasonForm, ReviewForm, SignForm
from ..models import (Amendment, Contract, ContractStatus, Deliverable, Milestone, MilestonePeriod, Payment,
                      PeriodStatus)
from . import bp

# What the contract page and its notice show, read in a fixed number of statements however many
# milestones, deliverables, payments and amendments there are, each collection by a statement built
# once (core/loading.py). Amendments, deliverables and reopened periods, which most contracts have
# none of, are asked after with the contract and read only when there are some.
_PAGE_CONTRACT = (sa.select(Contract,
                            has("amended", Amendment.contract_id == Contract.id),
                            has("delivered", Deliverable.milestone_id == Milestone.id,
                                Milestone.contract_id == Contract.id),
                            has("reopened", MilestonePeriod.milestone_id == Milestone.id,
                                Milestone.contract_id == Contract.id, MilestonePeriod.status == PeriodStatus.REOPENED))
                  .where(Contract.id == sa.bindparam("contract"))
                  .options(joinedload(Contract.tender), joinedload(Contract.organization)))
_PAGE_MILESTONES = (sa.select(Milestone).where(Milestone.contract_id == sa.bindparam("contract"))
                    .order_by(Milestone.position))
_PAGE_DELIVERABLES = (sa.select(Deliverable).join(Milestone, Milestone.id == Deliverable.milestone_id)
                      .where(Milestone.contract_id == sa.bindparam("contract"))
                      .options(joinedload(Deliverable.file)).order_by(Deliverable.id))
_PAGE_PAYMENTS = (sa.select(Payment).where(Payment.contract_id == sa.bindparam("contract"))
                  .order_by(Payment.paid_on))
_PAGE_AMENDMENTS = (sa.select(Amendment).where(Amendment.contract_id == sa.bindparam("contract"))
                    .order_by(Amendment.number))


def with_page_loads(contract_id: int) -> Contract | None:
    """The contract as its page and notice show it: its tender and organization, its milestones with
    their deliverables (and files) and payments, its payments and amendments. Each milestone's
    payments are taken from the contract's, in their order, instead of read again."""
    found = _page_loads(contract_id)
    return found[0] if found is not None else None


def _page_loads(contract_id: int) -> tuple[Contract, bool] | None:
    """`with_page_loads`, and whether any of the contract's milestones has its entries reopened."""
    session = db.session
    ids = {"contract": contract_id}
    row = session.execute(_PAGE_CONTRACT, ids).one_or_none()
    if row is None:
        return None
    contract = row[0]
    milestones = session.execute(_PAGE_MILESTONES, ids).scalars().all()
    hand_out([contract], "milestones", milestones, "contract_id")
    hand_out_some(row.amended, [contract], "amendments", lambda: session.execute(_PAGE_AMENDMENTS, ids).scalars(),
                  "contract_id")
    payments = session.execute(_PAGE_PAYMENTS, ids).scalars().all()
    hand_out([contract], "payments", payments, "contract_id")
    if milestones:
        hand_out_some(row.delivered, milestones, "deliverables",
                      lambda: session.execute(_PAGE_DELIVERABLES, ids).scalars(), "milestone_id")
        hand_out(milestones, "payments", payments, "milestone_id")
    return contract, row.reopened


def _contract(contract_id: int, *options) -> Contract:
    contract = db.session.get(Contract, contract_id, options=options)
    if contract is None:
        abort(404)
    require(perms.can_view_contract(current_user, contract))
    return contract


def _on_contract_page(contract: Contract):
    return redirect_to(url_for("contracts.contract", contract_id=contract.id))


def _month_range(month: str) -> tuple[date, date] | None:
    """The first day of a "YYYY-MM" month and the first day of the next; None for anything else."""
    if len(month) != 7 or month[4] != "-":
        return None
    try:
        first = date.fromisoformat(month + "-01")
        return first, date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    except ValueError:  # not a month, or December 9999 (no month follows)
        return None


def listed_contracts() -> tuple[sa.Select, dict]:
    """The contracts the list shows with the filters of the request (the page and its export), and
    the filters as read. The year and category are the project plan's (a portfolio's figures lead
    here); `signed` is the month the contract was signed."""
    args = {name: request.args.get(name, "").strip() for name in ("q", "status", "year", "category", "signed")}
    stmt = perms.visible_contracts(current_user)
    if args["q"]:
        pattern = like_pattern(args["q"])
        stmt = stmt.where(sa.or_(Contract.title.ilike(pattern, escape="\\"), Contract.number.ilike(pattern, escape="\\")))
    if args["status"] in {s.value for s in ContractStatus}:
        stmt = stmt.where(Contract.status == ContractStatus(args["status"]))
    plans = []
    if args["year"].isdigit() and len(args["year"]) == 4:
        plans.append(ProjectPlan.fiscal_year == int(args["year"]))
    if args["category"] in {c.value for c in ServiceCategory}:
        plans.append(ProjectPlan.category == ServiceCategory(args["category"]))
    if plans:
        stmt = stmt.where(Contract.tender_id.in_(
            sa.select(Tender.id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(*plans)))
    signed = _month_range(args["signed"])
    if signed:
        stmt = stmt.where(Contract.signed_on >= signed[0], Contract.signed_on < signed[1])
    return stmt, args


@bp.route("/contracts")
@login_required
def contracts():
    require(perms.can_list_contracts(current_user))
    stmt, args = listed_contracts()
    page = paginate(stmt.order_by(Contract.id.desc()), loads=(joinedload(Contract.organization),))
    ids = [c.id for c in page.items]
    paid = dict(db.session.execute(sa.select(Payment.contract_id, sa.func.sum(Payment.amount_fen))
                                   .where(Payment.contract_id.in_(ids)).group_by(Payment.contract_id)).all()) if ids else {}
    awaiting = awaiting_contract() if perms.can_manage_contracts(current_user) else []
    template = "contracts/_contract_table.html" if is_htmx() else "contracts/contracts.html"
    return render_template(template, page=page, paid=paid, awaiting=awaiting, **args)


@dataclass(frozen=True)
class Awaiting:
    """An awarded tender with no contract yet, as the list's call to draw one up shows it."""
    id: int
    number: str
    title: str
    organization: str
    price_fen: int | None


# Awards waiting for a contract change only with tenders, bids, contracts' tenders and the winners'
# names (the procurement queues' kind of data): read once per version of those, by every host alike,
# instead of scanning the district's tenders on each page of the list.
_kept_awaiting = versions.Kept(PROCUREMENT_QUEUES, size=4)


def awaiting_contract() -> list[Awaiting]:
    return _kept_awaiting.get("awaiting", lambda: [Awaiting(*row) for row in db.session.execute(
        sa.select(Tender.id, Tender.number, Tender.title, Organization.name, Bid.price_fen)
        .join(Bid, Bid.id == Tender.awarded_bid_id).join(Organization, Organization.id == Bid.organization_id)
        .where(Tender.status == TenderStatus.AWARDED,
               ~sa.exists().where(Contract.tender_id == Tender.id))
        .order_by(Tender.awarded_at, Tender.id))])


@bp.route("/contracts/export.<any(csv, xlsx):fmt>")
@login_required
def contracts_export(fmt: str):
    """The list's contracts with the list's filters, one statement streamed (paid summed per row)."""
    require(perms.can_list_contracts(current_user))
    listed, _args = listed_contracts()
    paid = (sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0))
            .where(Payment.contract_id == Contract.id).scalar_subquery())
    stmt = exports.bounded(
        sa.select(Contract.number, Contract.title, Organization.name, ProjectPlan.fiscal_year, ProjectPlan.category,
                  Contract.start_date, Contract.end_date, Contract.signed_on, Contract.amount_fen, paid,
                  Contract.status)
        .select_from(Contract).join(Organization, Organization.id == Contract.organization_id)
        .join(Tender, Tender.id == Contract.tender_id).join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
        .where(exports.rows_of(listed)).order_by(Contract.id.desc()))

    def rows():
        for number, title, organization, year, category, start, end, signed, amount, paid_fen, status in \
                db.session.execute(stmt):
            yield [number, title, organization, year, CATEGORY_LABELS[category], start, end, signed,
                   exports.yuan(amount), exports.yuan(paid_fen), CONTRACT_STATUS_LABELS[status]]

    return exports.export_response(
        fmt, exports.stamped(_("Contracts")),
        [_("Number"), _("Title"), _("Organization"), _("Fiscal year"), _("Service category"), _("Start"), _("End"),
         _("Signed on"), _("Amount (yuan)"), _("Paid (yuan)"), _("Status")], rows(), title=_("Contracts"))


def _contract_values(form: ContractForm) -> dict:
    values = {name: getattr(form, name).data or "" for name in ("title", "long_term_reason") + workflow.ART23_FIELDS}
    values.update(start_date=form.start_date.data, end_date=form.end_date.data)
    if form.payment_days.data is not None:
        values["payment_days"] = form.payment_days.data
    values.update({name: getattr(form, name).data for name in TARGET_FIELDS})
    return values


@bp.route("/contracts/new", methods=["GET", "POST"])
@login_required
def contract_new():
    require(perms.can_manage_contracts(current_user))
    tender_id = request.args.get("tender", "")
    tender = db.session.get(Tender, int(tender_id)) if tender_id.isdigit() else None
    if tender is None:
        abort(404)
    if tender.status != TenderStatus.AWARDED or tender.awarded_bid is None:
        raise DomainError(_("A contract can only be drawn up from a confirmed award."))
    form = ContractForm()
    if request.method == "GET":
        form.title.data = tender.title
        for name in TARGET_FIELDS:
            getattr(form, name).data = getattr(tender.plan, name)
        form.service_content.data = tender.description
        form.payment_days.data = deadlines.settings()["payment_days"]

    def save():
        values = _contract_values(form)
        contract = workflow.create_contract(current_user, tender, start_date=values.pop("start_date"),
                                            end_date=values.pop("end_date"),
                                            long_term_reason=values.pop("long_term_reason"),
                                            payment_days=values.pop("payment_days", None),
                                            **{k: values[k] for k in workflow.ART23_FIELDS})
        workflow.update_contract(current_user, contract, **values)
        flash(_("Contract %(n)s drafted. Set its payment schedule next.", n=contract.number), "success")
        return url_for("contracts.contract_edit", contract_id=contract.id)

    def page(**extra):
        return render_template("contracts/contract_form.html", form=form, tender=tender, contract=None, rows=[],
                               payment_rule=deadlines.payment_rule(),
                               **extra)

    return flow.submit(form, save, page, field="title")


def _milestone_rows() -> list[dict]:
    titles = request.form.getlist("milestone_title")
    dues = request.form.getlist("milestone_due")
    required = request.form.getlist("milestone_required")
    percents = request.form.getlist("milestone_percent")
    rows = []
    for title, due, req, pct in zip(titles, dues, required, percents):
        try:
            due_date = date.fromisoformat(due) if due else None
        except ValueError:
            due_date = None
        rows.append({"title": title, "due_date": due_date, "required_deliverables": req, "tranche_percent": pct})
    return rows


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def contract_edit(contract_id: int):
    contract = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, contract))
    if not perms.can_edit_contract(current_user, contract):
        raise DomainError(_("A signed contract changes only by amendment."))
    form = ContractForm(obj=contract) if request.method == "GET" else ContractForm()
    if request.method == "GET":
        rows = [{"title": m.title, "due_date": m.due_date, "required_deliverables": m.required_deliverables,
                 "tranche_percent": points(m.tranche_percent)} for m in contract.milestones]
    else:
        rows = _milestone_rows()
    milestone_errors: list[str] = []

    def save():
        workflow.update_contract(current_user, contract, **_contract_values(form))
        workflow.set_milestones(current_user, contract, rows)
        flash(_("Contract %(n)s saved.", n=contract.number), "success")
        return url_for("contracts.contract", contract_id=contract.id)

    def schedule_error(exc: DomainError) -> bool:
        if exc.field == "milestones":
            milestone_errors.append(exc.message)
            return True
        return False

    def page(**extra):
        return render_template("contracts/contract_form.html", form=form, tender=contract.tender, contract=contract,
                               payment_rule=deadlines.payment_rule(),
                               rows=rows, milestone_errors=milestone_errors, **extra)

    return flow.submit(form, save, page, field="title", obj=contract, on_error=schedule_error)


@bp.route("/contracts/milestone-row")
@login_required
def milestone_row():
    require(perms.can_manage_contracts(current_user))
    return render_template("contracts/_milestone_row.html",
                           row={"title": "", "due_date": None, "required_deliverables": "", "tranche_percent": ""})


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    found = _page_loads(contract_id)
    if found is None:
        abort(404)
    item, reopened = found
    require(perms.can_view_contract(current_user, item))
    amounts = workflow.tranche_amounts(item)
    timeline = sorted(
        [("milestone", m.due_date, m) for m in item.milestones] + [("payment", p.paid_on, p) for p in item.payments],
        key=lambda row: (row[1], 0 if row[0] == "milestone" else 1))
    return render_template(
        "contracts/contract.html", contract=item, amounts=amounts, timeline=timeline, today=workflow.today(),
        tranche_notes=workflow.tranche_notes(item, amounts), missing_deliverables=workflow.missing_deliverables,
        is_overdue=workflow.is_overdue, missing=workflow.missing_contents(item),
        **deferred(sign_form=SignForm, reason_form=ReasonForm, action_form=EmptyForm, deliverable_form=DeliverableForm,
                   review_form=ReviewForm, payment_form=PaymentForm),
        added=workflow.added_so_far(item),
        # paid milestones whose entries are reopened
        reopened=workflow.reopened_milestones(item.id) if reopened else set(),
        period_status=PeriodStatus, deadlines=deadlines.of_contract(item))


TRANSITIONS = {
    "start": (workflow.start_contract, _l("Service started.")),
    "complete": (workflow.complete_contract, _l("Contract accepted as completed.")),
    "close": (workflow.close_contract, _l("Contract closed.")),
}


@bp.route("/contracts/<int:contract_id>/do/<action>", methods=["POST"])
@login_required
def contract_transition(contract_id: int, action: str):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    if action not in TRANSITIONS:
        abort(404)
    function, message = TRANSITIONS[action]
    function(current_user, item)
    flash(str(message), "success")
    return _on_contract_page(item)


@bp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@login_required
def contract_sign(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = SignForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Give the date the contract was signed."), "signed_on")
    workflow.sign_contract(current_user, item, form.signed_on.data)
    flash(_("Contract signed; its notice is now public."), "success")
    return _on_contract_page(item)


@bp.route("/contracts/<int:contract_id>/terminate", methods=["POST"])
@login_required
def contract_terminate(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationError(" ".join(map(str, form.reason.errors)), "reason")
    workflow.terminate_contract(current_user, item, form.reason.data)
    flash(_("Contract terminated."), "success")
    return _on_contract_page(item)


@bp.route("/contracts/<int:contract_id>/amend", methods=["GET", "POST"])
@login_required
def contract_amend(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = AmendmentForm()
    if request.method == "GET":
        form.amended_on.data = workflow.today()

    def save():
        values = {"amount_fen": form.amount.fen if form.amount.data else None, "end_date": form.end_date.data,
                  "service_content": form.service_content.data or None}
        values.update({name: getattr(form, name).data for name in TARGET_FIELDS})
        workflow.amend_contract(current_user, item, reason=form.reason.data, amended_on=form.amended_on.data,
                                **values)
        return url_for("contracts.contract", contract_id=item.id)

    def page(**extra):
        return render_template("contracts/amend.html", form=form, contract=item, added=workflow.added_so_far(item),
                               **extra)

    return flow.submit(form, save, page, field="reason", obj=item, message=_("Amendment recorded."))
