"""Contract pages: from the award to the contract, its schedule, deliverables, payments and reminders."""
from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from ..core import nav
from ..core import files
from ..core.errors import DomainError, StaleObject, ValidationError, check_version
from ..core.formatting import points
from ..core.permissions import ORG_ROLES, has_permission, require
from ..core.targets import TARGET_FIELDS
from ..core.web import field_error, is_htmx, like_pattern, paginate, redirect_to
from ..extensions import db
from ..procurement.models import Bid, Tender, TenderStatus
from ..procurement.labels import TARGET_LABELS
from . import labels
from . import workflow
from . import permissions as perms
from .forms import (AmendmentForm, ContractForm, DeliverableForm, EmptyForm, PaymentForm, ReasonForm, ReviewForm,
                    SignForm)
from .models import PUBLIC_CONTRACT_STATUSES, Contract, ContractStatus, Deliverable, Milestone
from .reminders import reminder, reminder_query
from .reminders import badge as reminder_badge

bp = Blueprint("contracts", __name__)
nav.menu("contracts.contracts", _l("Contracts"), order=20, visible=perms.can_list_contracts)
nav.menu("contracts.reminders", _l("Reminders"), order=21, visible=perms.can_list_contracts,
         badge=reminder_badge)
nav.predicates(perms)
nav.template_global("field_label", lambda name: labels.AMENDABLE_LABELS.get(name) or TARGET_LABELS.get(name) or name)

C = ContractStatus


@bp.app_context_processor
def _labels():
    return {"contract_status_labels": labels.CONTRACT_STATUS_LABELS,
            "milestone_status_labels": labels.MILESTONE_STATUS_LABELS,
            "deliverable_kind_labels": labels.DELIVERABLE_KIND_LABELS, "art23_labels": labels.ART23_LABELS}


def _scoped(stmt: sa.Select) -> sa.Select:
    """One place decides which contracts a person's lists hold: the bureau all, an organization its own."""
    if has_permission(current_user, "procurement.read"):
        return stmt
    if current_user.role in ORG_ROLES and current_user.organization_id:
        return stmt.where(Contract.organization_id == current_user.organization_id)
    return stmt.where(sa.false())


# What the contract page and its notice show, loaded in a fixed number of queries however many
# milestones, deliverables, payments and amendments there are.
PAGE_LOADS = (
    joinedload(Contract.tender), joinedload(Contract.organization),
    selectinload(Contract.milestones).selectinload(Milestone.deliverables).joinedload(Deliverable.file),
    selectinload(Contract.milestones).selectinload(Milestone.payments),
    selectinload(Contract.payments),
    selectinload(Contract.amendments),
)


def _contract(contract_id: int, *options) -> Contract:
    contract = db.session.get(Contract, contract_id, options=options)
    if contract is None:
        abort(404)
    require(perms.can_view_contract(current_user, contract))
    return contract


@bp.route("/contracts")
@login_required
def contracts():
    require(perms.can_list_contracts(current_user))
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    stmt = _scoped(sa.select(Contract).order_by(Contract.id.desc()).options(joinedload(Contract.organization)))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(Contract.title.ilike(pattern, escape="\\"), Contract.number.ilike(pattern, escape="\\")))
    if status in {s.value for s in C}:
        stmt = stmt.where(Contract.status == C(status))
    page = paginate(stmt)
    ids = [c.id for c in page.items]
    from .models import Payment

    paid = dict(db.session.execute(sa.select(Payment.contract_id, sa.func.sum(Payment.amount_fen))
                                   .where(Payment.contract_id.in_(ids)).group_by(Payment.contract_id)).all()) if ids else {}
    awaiting = []
    if perms.can_manage_contracts(current_user):
        awaiting = db.session.execute(
            sa.select(Tender).where(Tender.status == TenderStatus.AWARDED, ~Tender.id.in_(sa.select(Contract.tender_id)))
            .options(joinedload(Tender.awarded_bid).joinedload(Bid.organization)).order_by(Tender.awarded_at)
        ).unique().scalars().all()
    template = "contracts/_contract_table.html" if is_htmx() else "contracts/contracts.html"
    return render_template(template, page=page, paid=paid, q=q, status=status, awaiting=awaiting)


def _contract_values(form: ContractForm) -> dict:
    values = {name: getattr(form, name).data or "" for name in ("title", "long_term_reason") + workflow.ART23_FIELDS}
    values.update(start_date=form.start_date.data, end_date=form.end_date.data)
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
    form = ContractForm()
    if request.method == "GET":
        form.title.data = tender.title
        for name in TARGET_FIELDS:
            getattr(form, name).data = getattr(tender.plan, name)
        form.service_content.data = tender.description
    if form.validate_on_submit():
        values = _contract_values(form)
        try:
            contract = workflow.create_contract(current_user, tender, start_date=values.pop("start_date"),
                                                end_date=values.pop("end_date"),
                                                long_term_reason=values.pop("long_term_reason"),
                                                **{k: values[k] for k in workflow.ART23_FIELDS})
            workflow.update_contract(current_user, contract, **values)
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Contract %(n)s drafted. Set its payment schedule next.", n=contract.number), "success")
            return redirect_to(url_for("contracts.contract_edit", contract_id=contract.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contracts/contract_form.html", form=form, tender=tender, contract=None, rows=[]), status


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
    if contract.status != C.DRAFT:
        raise DomainError(_("A signed contract changes only by amendment."))
    form = ContractForm(obj=contract) if request.method == "GET" else ContractForm()
    if request.method == "GET":
        form.version.data = str(contract.version)
        rows = [{"title": m.title, "due_date": m.due_date, "required_deliverables": m.required_deliverables,
                 "tranche_percent": points(m.tranche_percent)} for m in contract.milestones]
    else:
        rows = _milestone_rows()
    milestone_errors = []
    if form.validate_on_submit():
        try:
            check_version(contract, form.version.data)
            workflow.update_contract(current_user, contract, **_contract_values(form))
            workflow.set_milestones(current_user, contract, rows)
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(contract.version)
            return render_template("contracts/contract_form.html", form=form, tender=contract.tender,
                                   contract=contract, rows=rows, stale=exc.message, milestone_errors=[]), 409
        except ValidationError as exc:
            db.session.rollback()
            if exc.field == "milestones":
                milestone_errors = [exc.message]
            else:
                field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("Contract %(n)s saved.", n=contract.number), "success")
            return redirect_to(url_for("contracts.contract", contract_id=contract.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contracts/contract_form.html", form=form, tender=contract.tender, contract=contract,
                           rows=rows, milestone_errors=milestone_errors), status


@bp.route("/contracts/milestone-row")
@login_required
def milestone_row():
    require(perms.can_manage_contracts(current_user))
    return render_template("contracts/_milestone_row.html",
                           row={"title": "", "due_date": None, "required_deliverables": "", "tranche_percent": ""})


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    item = _contract(contract_id, *PAGE_LOADS)
    amounts = workflow.tranche_amounts(item)
    timeline = sorted(
        [("milestone", m.due_date, m) for m in item.milestones] + [("payment", p.paid_on, p) for p in item.payments],
        key=lambda row: (row[1], 0 if row[0] == "milestone" else 1))
    return render_template(
        "contracts/contract.html", contract=item, amounts=amounts, timeline=timeline, today=workflow.today(),
        is_overdue=workflow.is_overdue, missing=workflow.missing_contents(item), sign_form=SignForm(),
        reason_form=ReasonForm(), action_form=EmptyForm(), deliverable_form=DeliverableForm(), review_form=ReviewForm(),
        payment_form=PaymentForm(), added=workflow.added_so_far(item))


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
    if not EmptyForm().validate_on_submit():
        abort(400)
    function, message = TRANSITIONS[action]
    function(current_user, item)
    db.session.commit()
    flash(str(message), "success")
    return redirect_to(url_for("contracts.contract", contract_id=item.id))


@bp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@login_required
def contract_sign(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = SignForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Give the date the contract was signed."), "signed_on")
    workflow.sign_contract(current_user, item, form.signed_on.data)
    db.session.commit()
    flash(_("Contract signed; its notice is now public."), "success")
    return redirect_to(url_for("contracts.contract", contract_id=item.id))


@bp.route("/contracts/<int:contract_id>/terminate", methods=["POST"])
@login_required
def contract_terminate(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    workflow.terminate_contract(current_user, item, form.reason.data)
    db.session.commit()
    flash(_("Contract terminated."), "success")
    return redirect_to(url_for("contracts.contract", contract_id=item.id))


@bp.route("/contracts/<int:contract_id>/amend", methods=["GET", "POST"])
@login_required
def contract_amend(contract_id: int):
    item = _contract(contract_id)
    require(perms.can_manage_contracts(current_user, item))
    form = AmendmentForm()
    if request.method == "GET":
        form.version.data = str(item.version)
        form.amended_on.data = workflow.today()
    if form.validate_on_submit():
        values = {"amount_fen": form.amount.fen if form.amount.data else None, "end_date": form.end_date.data,
                  "service_content": form.service_content.data or None}
        values.update({name: getattr(form, name).data for name in TARGET_FIELDS})
        try:
            check_version(item, form.version.data)
            workflow.amend_contract(current_user, item, reason=form.reason.data, amended_on=form.amended_on.data,
                                    **values)
        except StaleObject as exc:
            db.session.rollback()
            # Keep what the person typed; a second save, made knowingly, replaces the newer version.
            form.version.data = str(item.version)
            return render_template("contracts/amend.html", form=form, contract=item, stale=exc.message,
                                   added=workflow.added_so_far(item)), 409
        except ValidationError as exc:
            db.session.rollback()
            field_error(form, exc, "reason")
        else:
            db.session.commit()
            flash(_("Amendment recorded."), "success")
            return redirect_to(url_for("contracts.contract", contract_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contracts/amend.html", form=form, contract=item, added=workflow.added_so_far(item)), status


# --- milestones -------------------------------------------------------------------------------


def _milestone(milestone_id: int) -> Milestone:
    milestone = db.get_or_404(Milestone, milestone_id)
    require(perms.can_view_contract(current_user, milestone.contract))
    return milestone


@bp.route("/milestones/<int:milestone_id>/deliverables", methods=["POST"])
@login_required
def deliverable_add(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_deliver(current_user, milestone.contract))
    form = DeliverableForm()
    if not form.validate_on_submit():
        raise ValidationError(_("Choose the kind of deliverable."), "kind")
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        raise ValidationError(_("Choose a file to upload."), "files")
    for upload in uploads:
        workflow.add_deliverable(current_user, milestone, upload, form.kind.data,
                                 form.title.data if len(uploads) == 1 else "")
    db.session.commit()
    flash(ngettext("%(num)d file uploaded.", "%(num)d files uploaded.", len(uploads)), "success")
    return redirect_to(url_for("contracts.contract", contract_id=milestone.contract_id) + f"#m{milestone.id}")


@bp.route("/milestones/<int:milestone_id>/deliverables/<int:deliverable_id>")
@login_required
def deliverable_download(milestone_id: int, deliverable_id: int):
    milestone = _milestone(milestone_id)
    item = db.get_or_404(Deliverable, deliverable_id)
    if item.milestone_id != milestone.id:
        abort(404)
    data = files.read(item.file)
    return send_file(io.BytesIO(data), mimetype=item.file.mimetype, as_attachment=True,
                     download_name=item.file.original_name)


@bp.route("/milestones/<int:milestone_id>/submit", methods=["POST"])
@login_required
def milestone_submit(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_deliver(current_user, milestone.contract))
    if not EmptyForm().validate_on_submit():
        abort(400)
    workflow.submit_milestone(current_user, milestone)
    db.session.commit()
    flash(_("Milestone submitted for acceptance."), "success")
    return redirect_to(url_for("contracts.contract", contract_id=milestone.contract_id) + f"#m{milestone.id}")


@bp.route("/milestones/<int:milestone_id>/review", methods=["POST"])
@login_required
def milestone_review(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_review_milestones(current_user, milestone.contract))
    form = ReviewForm()
    if not form.validate_on_submit():
        # Say what is wrong (no decision chosen, comments too long) rather than a bare 400.
        if form.decision.errors:
            raise ValidationError(_("Choose whether to accept the milestone or return it."), "decision")
        raise ValidationError(" ".join(map(str, form.comment.errors)), "comment")
    if form.decision.data == "accept":
        workflow.accept_milestone(current_user, milestone, form.comment.data)
        message = _("Milestone accepted.")
    else:
        workflow.return_milestone(current_user, milestone, form.comment.data)
        message = _("Milestone returned with your comments.")
    db.session.commit()
    flash(message, "success")
    return redirect_to(url_for("contracts.contract", contract_id=milestone.contract_id) + f"#m{milestone.id}")


@bp.route("/milestones/<int:milestone_id>/payments", methods=["POST"])
@login_required
def payment_add(milestone_id: int):
    milestone = _milestone(milestone_id)
    require(perms.can_record_payments(current_user, milestone.contract))
    form = PaymentForm()
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [_("Check the payment.")])
        raise ValidationError(first[0], "amount")
    workflow.record_payment(current_user, milestone, amount_fen=form.amount.fen,
                            voucher_number=form.voucher_number.data, paid_on=form.paid_on.data)
    db.session.commit()
    flash(_("Payment recorded."), "success")
    return redirect_to(url_for("contracts.contract", contract_id=milestone.contract_id) + f"#m{milestone.id}")


@bp.route("/reminders")
@login_required
def reminders():
    require(perms.can_list_contracts(current_user))
    today = workflow.today()
    stmt = reminder_query(current_user, today)
    page = paginate(stmt if stmt is not None else sa.select(Milestone).where(sa.false()))
    items = [reminder(current_user, m, today) for m in page.items]
    template = "contracts/_reminder_table.html" if is_htmx() else "contracts/reminders.html"
    return render_template(template, items=items, page=page)


# --- public notices ---------------------------------------------------------------------------


@bp.route("/notices/contracts")
def contract_notices():
    stmt = (sa.select(Contract).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES))
            .order_by(Contract.signed_on.desc(), Contract.id.desc()).options(joinedload(Contract.organization)))
    page = paginate(stmt)
    template = "contracts/_notice_list.html" if is_htmx() else "contracts/notices.html"
    return render_template(template, page=page)


@bp.route("/notices/contracts/<int:contract_id>")
def contract_notice(contract_id: int):
    item = db.session.get(Contract, contract_id, options=PAGE_LOADS)
    if item is None or not item.is_public:
        abort(404)
    return render_template("contracts/notice.html", contract=item, amounts=workflow.tranche_amounts(item))
