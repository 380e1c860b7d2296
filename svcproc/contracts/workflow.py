"""Contract, amendment, milestone and payment transitions: the only code that writes their status.

Each function checks who acts and the rules (MOF Order No. 102 art. 23 contents, term limits,
the 10 % cap on added amounts, tranches summing to 100 %, payments never above the contract
amount), records one audit event and flushes; the view commits.
"""
from __future__ import annotations

import re

from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import flag_modified

from ..audit.services import created, diff, jsonable, record, snapshot
from ..core import clock, files
from ..core.errors import DomainError, ValidationError
from ..core.formatting import money, points
from ..core import workflow
from ..core.workflow import StateMachine, Transition, allow
from ..core.targets import TARGET_FIELDS
from ..extensions import db
from ..procurement.models import Tender, TenderStatus
from . import permissions as perms
from .models import (Amendment, Contract, ContractStatus, Deliverable, DeliverableKind, Milestone, MilestonePeriod,
                     MilestoneStatus, Payment, PeriodStatus)

C = ContractStatus
M = MilestoneStatus
ART23_FIELDS = ("service_content", "quantity", "quality", "settlement", "rights_obligations", "breach_liability")
CONTRACT_FIELDS = ("title", "start_date", "end_date", "long_term_reason", "payment_days") + ART23_FIELDS + TARGET_FIELDS
AMENDABLE = ("amount_fen", "end_date", "service_content") + TARGET_FIELDS
MAX_ADDED_SHARE = Decimal("0.10")
DELIVERABLE_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)


def today() -> date:
    return clock.to_local(clock.now()).date()


def _contract_labels():
    from .labels import CONTRACT_STATUS_LABELS

    return CONTRACT_STATUS_LABELS


def _milestone_labels():
    from .labels import MILESTONE_STATUS_LABELS

    return MILESTONE_STATUS_LABELS


# A contract's life: drafted from the award, signed, in service, accepted as completed, closed once
# paid in full; terminated with a reason at any point before completion.
CONTRACT = workflow.register(StateMachine("contract", {
    "sign": Transition({C.DRAFT}, C.SIGNED, "contract.signed"),
    "start": Transition({C.SIGNED}, C.IN_PROGRESS, "contract.started"),
    "complete": Transition({C.IN_PROGRESS}, C.COMPLETED, "contract.completed"),
    "close": Transition({C.COMPLETED}, C.CLOSED, "contract.closed"),
    "terminate": Transition({C.DRAFT, C.SIGNED, C.IN_PROGRESS}, C.TERMINATED, "contract.terminated"),
}, actions={
    "edit": {C.DRAFT},                                  # terms and schedule, until signed
    "amend": {C.SIGNED, C.IN_PROGRESS},                 # after signing, only by amendment
    "deliver": {C.SIGNED, C.IN_PROGRESS},               # deliverables, submissions, reviews
    "pay": {C.SIGNED, C.IN_PROGRESS, C.COMPLETED},
    "record_services": {C.SIGNED, C.IN_PROGRESS, C.COMPLETED},
    "show_services": {C.SIGNED, C.IN_PROGRESS, C.COMPLETED, C.CLOSED},
}, labels=_contract_labels, refusal=_l("Not possible while the contract is %(status)s.")))

# A milestone: deliverables uploaded and submitted, accepted or returned with comments, paid once
# its whole tranche is paid.
MILESTONE = workflow.register(StateMachine("milestone", {
    "submit": Transition({M.PENDING, M.RETURNED}, M.SUBMITTED, "milestone.submitted"),
    "accept": Transition({M.SUBMITTED}, M.ACCEPTED, "milestone.accepted"),
    "return": Transition({M.SUBMITTED}, M.RETURNED, "milestone.returned"),
    "pay": Transition({M.ACCEPTED}, M.PAID, "milestone.paid"),
}, actions={
    "add_deliverable": {M.PENDING, M.RETURNED},
    "record_payment": {M.ACCEPTED},
}, labels=_milestone_labels, refusal=_l("Not possible while the milestone is %(status)s."), reason=None))


def _period_labels():
    from .labels import PERIOD_STATUS_LABELS

    return PERIOD_STATUS_LABELS


P = PeriodStatus
# The service entries behind a paid milestone (those dated after the milestone before it, up to its
# due date) are locked; procurement staff reopen them with a reason for a correction, and close them
# again once it is made.
PERIOD = workflow.register(StateMachine("milestone_period", {
    "reopen": Transition({P.CLOSED}, P.REOPENED, "milestone.period_reopened"),
    "close": Transition({P.REOPENED}, P.CLOSED, "milestone.period_closed"),
}, labels=_period_labels, refusal=_l("Not possible while the milestone's entries are %(status)s.")))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_term(start: date | None, end: date | None, long_term_reason: str) -> None:
    """Normally a year at most; up to three years with a stated reason; never more."""
    if start is None or end is None:
        raise ValidationError(_("Give the start and end dates of the service term."), "start_date")
    if end < start:
        raise ValidationError(_("The term ends before it starts."), "end_date")
    if end >= _add_years(start, 3):
        raise ValidationError(_("A service contract runs for three years at most."), "end_date")
    if end >= _add_years(start, 1) and not (long_term_reason or "").strip():
        raise ValidationError(_("A term longer than one year needs a stated reason (for example a stable, "
                                "recurring service)."), "long_term_reason")


def check_payment_days(days) -> int:
    """The days from a milestone's acceptance to its payment the contract agrees: 1 to 60."""
    from . import deadlines

    most = deadlines.settings()["payment_days_max"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= most:
        raise ValidationError(_("Payment is due within the days the contract agrees after a milestone is accepted, "
                                "%(n)d at most (%(source)s): give a number of days from 1 to %(n)d.",
                                n=most, source=deadlines.SOURCES["payment"]), "payment_days")
    return days


def _next_number(tender: Tender) -> str:
    prefix = f"{tender.plan.fiscal_year}-HT-"
    count = db.session.execute(sa.select(sa.func.count(Contract.id)).where(Contract.number.like(prefix + "%"))).scalar_one()
    return f"{prefix}{count + 1:03d}"


def create_contract(actor, tender: Tender, *, start_date: date, end_date: date, long_term_reason: str = "",
                    payment_days: int | None = None, **content) -> Contract:
    """A draft contract from a confirmed award: no award, no contract. Payment falls due the
    bureau's usual number of days after each acceptance unless the contract agrees another."""
    from . import deadlines

    allow(actor, perms.can_manage_contracts(actor))
    if tender.status != TenderStatus.AWARDED or tender.awarded_bid is None:
        raise DomainError(_("A contract can only be drawn up from a confirmed award."))
    existing = db.session.execute(sa.select(Contract.id).where(Contract.tender_id == tender.id)).first()
    if existing:
        raise DomainError(_("This award already has its contract."))
    check_term(start_date, end_date, long_term_reason)
    payment_days = check_payment_days(deadlines.settings()["payment_days"] if payment_days is None else payment_days)
    bid = tender.awarded_bid
    now = clock.now()
    contract = Contract(
        number=_next_number(tender), tender_id=tender.id, bid_id=bid.id, organization_id=bid.organization_id,
        title=tender.title, original_amount_fen=bid.price_fen, amount_fen=bid.price_fen, start_date=start_date,
        end_date=end_date, long_term_reason=(long_term_reason or "").strip(), payment_days=payment_days,
        status=C.DRAFT, status_changed_at=now,
        created_at=now, created_by_id=getattr(actor, "id", None),
        **{k: (content.get(k) or "").strip() for k in ART23_FIELDS},
        **tender.plan.targets(),
    )
    db.session.add(contract)
    db.session.flush()
    record("contract.created", actor=actor, obj=contract,
           changes=created(contract, ("number", "tender_id", "organization_id", "amount_fen") + CONTRACT_FIELDS))
    return contract


def update_contract(actor, contract: Contract, **values) -> Contract:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("edit", contract)
    if not (values.get("title") or contract.title).strip():
        raise ValidationError(_("Give the contract a title."), "title")
    check_term(values.get("start_date", contract.start_date), values.get("end_date", contract.end_date),
               values.get("long_term_reason", contract.long_term_reason))
    for name in TARGET_FIELDS:
        if name in values and (values[name] is None or int(values[name]) < 0):
            raise ValidationError(_("Targets cannot be negative."), name)
    if "payment_days" in values:
        check_payment_days(values["payment_days"])
    before = snapshot(contract, CONTRACT_FIELDS)
    for key in CONTRACT_FIELDS:
        if key in values:
            value = values[key]
            setattr(contract, key, value.strip() if isinstance(value, str) else value)
    changes = diff(before, snapshot(contract, CONTRACT_FIELDS))
    if changes:
        db.session.flush()
        record("contract.updated", actor=actor, obj=contract, changes=changes)
    return contract


def _percent(value) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter the tranche as a percentage, e.g. 30 or 12.5."), "milestones") from None
    if not number.is_finite() or number != number.quantize(Decimal("0.01")):
        raise ValidationError(_("Percentages have at most two decimals."), "milestones")
    return number


def set_milestones(actor, contract: Contract, rows: list[dict]) -> None:
    """The payment schedule: [{title, due_date, required_deliverables, tranche_percent}] summing to 100 %."""
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("edit", contract)
    cleaned = []
    for index, row in enumerate(rows):
        title = (row.get("title") or "").strip()
        if not title and not row.get("due_date") and not str(row.get("tranche_percent") or "").strip():
            continue
        if not title:
            raise ValidationError(_("Milestone %(n)d needs a title.", n=index + 1), "milestones")
        due = row.get("due_date")
        if not isinstance(due, date):
            raise ValidationError(_("Milestone %(t)s needs a due date.", t=title), "milestones")
        if not contract.start_date <= due <= contract.end_date:
            raise ValidationError(_("Milestone %(t)s is due outside the contract term.", t=title), "milestones")
        percent = _percent(row.get("tranche_percent"))
        if percent < 0 or percent > 100:
            raise ValidationError(_("A tranche is between 0 and 100 %."), "milestones")
        cleaned.append((title, due, (row.get("required_deliverables") or "").strip(), percent))
    if not cleaned:
        raise ValidationError(_("Add at least one milestone with its payment tranche."), "milestones")
    total = sum((p for *_rest, p in cleaned), Decimal(0))
    if total != Decimal(100):
        raise ValidationError(_("The payment tranches must add up to 100 %% of the contract amount; now they add up "
                                "to %(t)s %%.", t=points(total)), "milestones")
    if [d for _t, d, _r, _p in cleaned] != sorted(d for _t, d, _r, _p in cleaned):
        raise ValidationError(_("List the milestones in the order they fall due."), "milestones")
    before = [[m.title, m.due_date.isoformat(), points(m.tranche_percent), m.required_deliverables]
              for m in contract.milestones]
    contract.milestones.clear()
    db.session.flush()
    now = clock.now()
    for position, (title, due, required, percent) in enumerate(cleaned):
        contract.milestones.append(Milestone(position=position, title=title, due_date=due,
                                             required_deliverables=required, tranche_percent=percent,
                                             status=M.PENDING, status_changed_at=now))
    db.session.flush()
    after = [[t, d.isoformat(), points(p), r] for t, d, r, p in cleaned]
    if before != after:
        # The schedule lives in its own rows: mark the contract changed too, so its version moves
        # and a save from a form opened before this one is refused as stale.
        flag_modified(contract, "title")
        db.session.flush()
        record("contract.schedule_set", actor=actor, obj=contract, changes={"milestones": [before, after]})


def _shares(total: int, milestones: list[Milestone]) -> dict[int, int]:
    """Split `total` fen by the milestones' percentages, rounding the running total: the shares add
    up exactly, none is negative, and each is within a fen of its percentage."""
    weight = sum((Decimal(m.tranche_percent) for m in milestones), Decimal(0))
    amounts, running, given = {}, Decimal(0), 0
    for index, milestone in enumerate(milestones):
        running += Decimal(milestone.tranche_percent)
        if index == len(milestones) - 1:
            upto = total
        elif weight:
            upto = int((Decimal(total) * running / weight).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            upto = 0
        amounts[milestone.id] = upto - given
        given = upto
    return amounts


def tranche_notes(contract: Contract, amounts: dict[int, int]) -> dict[int, str]:
    """Why a tranche is not simply its percentage of the contract amount, for those where it is not:
    a share rounded to the fen, or the amount changed by amendment after some tranches were paid."""
    milestones = list(contract.milestones)
    respread = amounts != _shares(contract.amount_fen, milestones)
    paid = {m.id for m in milestones if m.status == M.PAID} if respread else set()
    paid_fen = sum(amounts.get(i, 0) for i in paid)
    open_percent = sum((Decimal(m.tranche_percent) for m in milestones if m.id not in paid), Decimal(0))
    notes = {}
    for m in milestones:
        exact = Decimal(contract.amount_fen) * Decimal(m.tranche_percent) / 100
        if m.id in paid:
            notes[m.id] = _("Paid before the contract amount changed: this tranche keeps what was paid.")
        elif respread:
            notes[m.id] = _(
                "The contract amount was changed by amendment after %(paid)s had been paid: the %(rest)s still "
                "to pay is shared among the open milestones by their percentages (%(p)s of %(open)s).",
                paid=money(paid_fen), rest=money(contract.amount_fen - paid_fen), p=f"{points(m.tranche_percent)} %",
                open=f"{points(open_percent)} %")
        elif Decimal(amounts[m.id]) != exact:
            notes[m.id] = _("%(exact)s rounded to the fen; the tranches add up exactly to the contract amount.",
                            exact=f"¥{exact / 100:,.4f}".rstrip("0").rstrip("."))
    return notes


# What a required deliverable's words say about the kind of file that fulfils it.
DELIVERABLE_WORDS = {
    DeliverableKind.PLAN: ("方案", "计划", "plan"),
    DeliverableKind.REPORT: ("报告", "总结", "report"),
    DeliverableKind.SIGN_IN_SHEET: ("签到", "sign-in", "sign in", "attendance"),
    DeliverableKind.PHOTO: ("照片", "图片", "相片", "photo", "picture"),
}


def missing_deliverables(milestone: Milestone) -> list[str]:
    """The required deliverables (as the schedule lists them, 、 or comma separated) that no uploaded
    file answers: by its kind (照片 → a photo) or, for words no kind covers, by its title."""
    items = [part.strip() for part in re.split(r"[、，,;；/\n]+", milestone.required_deliverables or "") if part.strip()]
    kinds = {d.kind for d in milestone.deliverables}
    titles = [d.title.lower() for d in milestone.deliverables if d.title]
    missing = []
    for item in items:
        low = item.lower()
        wanted = {kind for kind, words in DELIVERABLE_WORDS.items() if any(word in low for word in words)}
        if wanted & kinds or any(low in title for title in titles):
            continue
        missing.append(item)
    return missing


def tranche_amounts(contract: Contract) -> dict[int, int]:
    """Each milestone's share of the current amount in fen, adding up exactly to that amount."""
    milestones = list(contract.milestones)
    amounts = _shares(contract.amount_fen, milestones)
    paid = {m.id: sum(p.amount_fen for p in m.payments) for m in milestones if m.status == M.PAID}
    if any(amounts[i] != fen for i, fen in paid.items()):
        # An amendment changed the amount after some tranches were paid: those keep what they were
        # paid, and the rest of the amount is spread over the milestones still to be paid.
        still_open = [m for m in milestones if m.id not in paid]
        amounts = {**paid, **_shares(contract.amount_fen - sum(paid.values()), still_open)}
    return amounts


def missing_contents(contract: Contract) -> list[str]:
    from .labels import ART23_LABELS

    return [str(ART23_LABELS[name]) for name in ART23_FIELDS if not (getattr(contract, name) or "").strip()]


def sign_contract(actor, contract: Contract, signed_on: date) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("edit", contract)
    missing = missing_contents(contract)
    if missing:
        raise DomainError(_("A government service purchase contract must state: %(fields)s.",
                            fields="、".join(missing)))
    check_term(contract.start_date, contract.end_date, contract.long_term_reason)
    if not contract.milestones:
        raise DomainError(_("Set the payment schedule (milestones and tranches) before signing."))
    if signed_on is None or signed_on > today():
        raise ValidationError(_("The signing date cannot be in the future."), "signed_on")
    contract.signed_on = signed_on
    # Recording the signature publishes the contract notice (public/board.py): its moment is the
    # notice's, due within two working days of signing (contracts/deadlines.py).
    contract.notice_published_at = clock.now()
    CONTRACT.move(actor, contract, "sign", signed_on=signed_on, payment_days=contract.payment_days)


def start_contract(actor, contract: Contract) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("start", contract)
    if today() < contract.start_date:
        raise DomainError(_("The service cannot start before the term begins on %(d)s.",
                            d=contract.start_date.isoformat()))
    CONTRACT.move(actor, contract, "start")


def complete_contract(actor, contract: Contract) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("complete", contract)
    open_items = [m.title for m in contract.milestones if m.status not in (M.ACCEPTED, M.PAID)]
    if open_items:
        raise DomainError(_("Every milestone must be accepted first; still open: %(t)s.", t="、".join(open_items)))
    CONTRACT.move(actor, contract, "complete")


def close_contract(actor, contract: Contract) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("close", contract)
    if contract.paid_fen != contract.amount_fen:
        raise DomainError(_("The contract is closed once paid in full: %(p)s of %(a)s paid.",
                            p=money(contract.paid_fen), a=money(contract.amount_fen)))
    CONTRACT.move(actor, contract, "close")


def terminate_contract(actor, contract: Contract, reason: str) -> None:
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("terminate", contract)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for terminating the contract."), "reason")
    CONTRACT.move(actor, contract, "terminate", reason=reason)


# --- amendments -------------------------------------------------------------------------------


def added_so_far(contract: Contract) -> int:
    return sum(a.amount_added_fen for a in contract.amendments if a.amount_added_fen > 0)


def amend_contract(actor, contract: Contract, *, reason: str, amended_on: date, **values) -> Amendment:
    """Change amount, end date, targets or content; added amounts over the life stay within 10 %."""
    allow(actor, perms.can_manage_contracts(actor))
    CONTRACT.check("amend", contract)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the amendment."), "reason")
    if amended_on is None or amended_on > today():
        raise ValidationError(_("The amendment date cannot be in the future."), "amended_on")
    before = snapshot(contract, AMENDABLE)
    proposed = {k: v for k, v in values.items() if k in AMENDABLE and v is not None}
    if isinstance(proposed.get("service_content"), str):
        proposed["service_content"] = proposed["service_content"].strip()
    changes = diff(before, {**before, **{k: jsonable(v) for k, v in proposed.items()}})
    if not changes:
        raise ValidationError(_("The amendment changes nothing."), "reason")
    added = 0
    if "amount_fen" in proposed:
        new_amount = int(proposed["amount_fen"])
        if new_amount <= 0:
            raise ValidationError(_("The contract amount must stay above zero."), "amount")
        if new_amount < contract.paid_fen:
            raise ValidationError(_("The amount cannot fall below what has been paid (%(p)s).",
                                    p=money(contract.paid_fen)), "amount")
        added = new_amount - contract.amount_fen
        cap = int((Decimal(contract.original_amount_fen) * MAX_ADDED_SHARE).quantize(Decimal(1), rounding=ROUND_FLOOR))
        if added > 0 and added_so_far(contract) + added > cap:
            raise ValidationError(
                _("Amounts added over the contract's life may not exceed 10 %% of the original amount (%(cap)s); "
                  "%(so_far)s has been added already, so at most %(left)s more.",
                  cap=money(cap), so_far=money(added_so_far(contract)), left=money(max(0, cap - added_so_far(contract)))),
                "amount")
    if "end_date" in proposed:
        # Extending past a year needs a reason: the amendment's own reason serves when none was given.
        check_term(contract.start_date, proposed["end_date"], contract.long_term_reason or reason)
    for name in TARGET_FIELDS:
        if name in proposed and int(proposed[name]) < 0:
            raise ValidationError(_("Targets cannot be negative."), name)
    for key, value in proposed.items():
        setattr(contract, key, value)
    if "end_date" in proposed and not contract.long_term_reason and contract.end_date >= _add_years(contract.start_date, 1):
        contract.long_term_reason = reason
    amendment = Amendment(contract_id=contract.id, number=len(contract.amendments) + 1, reason=reason,
                          amended_on=amended_on, changes=changes, amount_added_fen=added, created_at=clock.now(),
                          created_by_id=getattr(actor, "id", None))
    db.session.add(amendment)
    contract.amendments.append(amendment)
    db.session.flush()
    record("contract.amended", actor=actor, obj=contract, changes={**changes, "amendment": [None, amendment.number],
                                                                     "reason": [None, reason]})
    if "end_date" in changes:
        # A shortened term can leave recorded services outside it: examine the logs again.
        from ..delivery.flags import refresh_flags

        refresh_flags([contract.id])
    return amendment


# --- milestones, deliverables, payments -------------------------------------------------------


def is_overdue(milestone: Milestone, on: date | None = None) -> bool:
    return milestone.due_date < (on or today()) and milestone.status not in (M.ACCEPTED, M.PAID)


def add_deliverable(actor, milestone: Milestone, upload, kind: DeliverableKind, title: str = "") -> Deliverable:
    contract = milestone.contract
    allow(actor, perms.can_deliver(actor, contract))
    CONTRACT.check("deliver", contract)
    MILESTONE.check("add_deliverable", milestone,
                    _("Deliverables are added before the milestone is submitted (or after it was returned)."))
    stored = files.store(upload, purpose="deliverable", rule=DELIVERABLE_RULE, actor=actor)
    item = Deliverable(kind=DeliverableKind(kind), title=(title or stored.original_name).strip()[:200],
                       file_id=stored.id, uploaded_at=clock.now())
    # Appended only (not also added to the session first): loading the collection would otherwise
    # flush the new row and then list it twice.
    milestone.deliverables.append(item)
    db.session.flush()
    record("milestone.deliverable_added", actor=actor, obj=milestone,
           changes={"deliverable": [None, item.title], "kind": [None, item.kind.value], "sha256": [None, stored.sha256],
                    "size": [None, stored.size]})
    return item


def submit_milestone(actor, milestone: Milestone) -> None:
    contract = milestone.contract
    allow(actor, perms.can_deliver(actor, contract))
    CONTRACT.check("deliver", contract)
    MILESTONE.check("submit", milestone, _("This milestone has already been submitted."))
    if not milestone.deliverables:
        raise DomainError(_("Upload the required deliverables before submitting the milestone."))
    milestone.submitted_at = clock.now()
    MILESTONE.move(actor, milestone, "submit")


def accept_milestone(actor, milestone: Milestone, comment: str = "") -> None:
    allow(actor, perms.can_review_milestones(actor))
    CONTRACT.check("deliver", milestone.contract)
    MILESTONE.check("accept", milestone, _("Only a submitted milestone can be accepted."))
    milestone.reviewed_at, milestone.reviewed_by_id = clock.now(), getattr(actor, "id", None)
    milestone.review_comment = (comment or "").strip()
    # Accepting without a listed deliverable is the reviewer's call; the trail keeps what was missing.
    missing = missing_deliverables(milestone)
    MILESTONE.move(actor, milestone, "accept", comment=milestone.review_comment or None,
                   **({"missing_deliverables": missing} if missing else {}))


def return_milestone(actor, milestone: Milestone, comment: str) -> None:
    allow(actor, perms.can_review_milestones(actor))
    CONTRACT.check("deliver", milestone.contract)
    MILESTONE.check("return", milestone, _("Only a submitted milestone can be returned."))
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(_("Say what must be fixed; the organization sees your comments."), "comment")
    milestone.reviewed_at, milestone.reviewed_by_id, milestone.review_comment = (
        clock.now(), getattr(actor, "id", None), comment)
    MILESTONE.move(actor, milestone, "return", comment=comment)


def record_payment(actor, milestone: Milestone, *, amount_fen: int, voucher_number: str, paid_on: date) -> Payment:
    contract = milestone.contract
    allow(actor, perms.can_record_payments(actor))
    # Two payments recorded at once must not both pass the cap: hold the contract row (PostgreSQL;
    # a plain select, since FOR UPDATE cannot cover the outer joins of the eager loads), then
    # re-read the payments another transaction may have added before the lock was granted.
    db.session.execute(sa.select(Contract.id).where(Contract.id == contract.id).with_for_update())
    db.session.expire(contract, ["payments"])
    db.session.expire(milestone, ["payments"])
    CONTRACT.check("pay", contract)
    MILESTONE.check("record_payment", milestone, _("Payments are recorded against accepted milestones only."))
    voucher_number = (voucher_number or "").strip()
    if not voucher_number:
        raise ValidationError(_("Give the payment voucher number."), "voucher_number")
    if db.session.execute(sa.select(Payment.id).where(Payment.contract_id == contract.id,
                                                      Payment.voucher_number == voucher_number)).first():
        raise ValidationError(_("Voucher %(v)s is already recorded on this contract.", v=voucher_number),
                              "voucher_number")
    if paid_on is None or paid_on > today():
        raise ValidationError(_("The payment date cannot be in the future."), "paid_on")
    if amount_fen is None or amount_fen <= 0:
        raise ValidationError(_("The payment must be more than zero."), "amount")
    due = tranche_amounts(contract)[milestone.id]
    paid_here = sum(p.amount_fen for p in milestone.payments)
    if paid_here + amount_fen > due:
        raise ValidationError(_("This milestone's tranche is %(due)s and %(paid)s is paid; at most %(left)s more.",
                                due=money(due), paid=money(paid_here), left=money(due - paid_here)), "amount")
    if contract.paid_fen + amount_fen > contract.amount_fen:
        raise ValidationError(_("Payments may not exceed the contract amount of %(a)s (with amendments); %(p)s is paid.",
                                a=money(contract.amount_fen), p=money(contract.paid_fen)), "amount")
    payment = Payment(contract_id=contract.id, milestone_id=milestone.id, amount_fen=int(amount_fen),
                      voucher_number=voucher_number, paid_on=paid_on, recorded_at=clock.now(),
                      recorded_by_id=getattr(actor, "id", None))
    db.session.add(payment)
    milestone.payments.append(payment)
    contract.payments.append(payment)
    db.session.flush()
    record("payment.recorded", actor=actor, obj=payment,
           changes={"contract_id": [None, contract.id], "milestone_id": [None, milestone.id],
                    "amount_fen": [None, payment.amount_fen], "voucher_number": [None, voucher_number],
                    "paid_on": [None, paid_on]})
    if paid_here + amount_fen == due:
        MILESTONE.move(actor, milestone, "pay")
    return payment


# --- the entries behind a paid milestone ------------------------------------------------------


def period_of(milestone: Milestone) -> MilestonePeriod:
    """The milestone's period as stored, or a closed one not yet stored (never reopened)."""
    period = db.session.execute(sa.select(MilestonePeriod).where(MilestonePeriod.milestone_id == milestone.id)
                                ).scalar_one_or_none()
    return period or MilestonePeriod(milestone_id=milestone.id, status=PeriodStatus.CLOSED, status_reason="")


def reopened_milestones(contract_id: int) -> set[int]:
    """The contract's milestones whose entries are reopened (one query, for the contract page)."""
    return set(db.session.execute(sa.select(MilestonePeriod.milestone_id).join(Milestone).where(
        Milestone.contract_id == contract_id, MilestonePeriod.status == PeriodStatus.REOPENED)).scalars())


def reopen_period(actor, milestone: Milestone, reason: str) -> MilestonePeriod:
    """Procurement staff unlock the entries behind a paid milestone for a correction, saying why."""
    allow(actor, perms.can_manage_contracts(actor))
    if milestone.status != M.PAID:
        raise DomainError(_("Only the entries behind a paid milestone are locked; these can be corrected as they are."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the entries behind the paid milestone are reopened."), "reason")
    period = period_of(milestone)
    if period.id is None:
        period.status_changed_at = clock.now()
        db.session.add(period)
    PERIOD.move(actor, period, "reopen", reason=reason, milestone_id=milestone.id)
    return period


def close_period(actor, milestone: Milestone, reason: str = "") -> MilestonePeriod:
    """The correction made: the entries behind the paid milestone are locked again."""
    allow(actor, perms.can_manage_contracts(actor))
    period = period_of(milestone)
    PERIOD.move(actor, period, "close", reason=(reason or "").strip(), milestone_id=milestone.id)
    return period


def locking_milestone(contract_id: int, days) -> Milestone | None:
    """The paid milestone whose period holds one of these days while its entries are locked, if any.
    One query over the contract's few milestones (through its index)."""
    rows = db.session.execute(
        sa.select(Milestone.id, Milestone.due_date, Milestone.status, MilestonePeriod.status)
        .outerjoin(MilestonePeriod, MilestonePeriod.milestone_id == Milestone.id)
        .where(Milestone.contract_id == contract_id).order_by(Milestone.due_date, Milestone.position)).all()
    milestone_id = locking_of(rows, days)
    return db.session.get(Milestone, milestone_id) if milestone_id is not None else None


def locking_of(milestones, days) -> int | None:
    """Of a contract's milestones as (id, due date, status, period's status), in the order they fall
    due, the id of the paid one whose period holds one of these days while its entries are locked,
    if any. A day belongs to the first milestone due on or after it; days after the last one belong
    to none."""
    for day in sorted(set(days)):
        for milestone_id, due, status, period in milestones:
            if due >= day:
                if status == M.PAID and period != PeriodStatus.REOPENED:
                    return milestone_id
                break
    return None
