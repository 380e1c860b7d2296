"""Tender transitions, sealed bids, the expert panel and the award: the only code that writes a
tender's, bid's or objection's status (a complaint's: procurement.challenges). Each function checks who acts and the business rules,
records one audit event and flushes; the view commits.
"""
from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.services import created, diff, jsonable, record, snapshot
from ..core import clock, files, workdays
from ..core.errors import DomainError, PermissionDenied, ValidationError
from ..core.formatting import local_datetime, money
from ..core.formatting import points as points_text
from ..core.permissions import Role, require
from ..core.workflow import StateMachine, Transition, allow, register
from ..extensions import db
from ..registry.models import Organization, OrgRating
from . import permissions as perms
from . import held as held_files
from . import guarantees, rules, sealing
from .eligibility import eligibility_problems
from .models import (Bid, BidDocument, BidStatus, Clarification, ExpertScore, Objection, ObjectionDocument,
                     ObjectionStatus, ObjectionSubject, ProjectPlan, Tender, TenderCriterion, TenderDocument, TenderExpert,
                     TenderMethod, TenderStatus)
from .scoring import BidInput, rank_bids

S = TenderStatus
TENDER_FIELDS = ("title", "method", "ceiling_fen", "min_rating", "price_weight", "description",
                 "clarification_deadline", "bid_deadline", "opening_at", "publicity_days", "deposit_fen",
                 "sme_deduction_percent")
# Price weight bounds for service procurement by comprehensive scoring (MOF Order No. 87 art. 55).
PRICE_WEIGHT_BOUNDS = {
    TenderMethod.PUBLIC_TENDER: (Decimal(10), Decimal(30)),
    TenderMethod.COMPETITIVE_CONSULTATION: (Decimal(10), Decimal(30)),
}
BID_DOCUMENT_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)


def min_valid_bids(method: TenderMethod) -> int:
    return int(current_app.config["MIN_VALID_BIDS"][method.value])


def min_experts(tender: Tender) -> int:
    """The smallest panel the tender's method and budget allow (rules.panel_minimum)."""
    return rules.panel_minimum(tender.method, tender.ceiling_fen)


# --- the state machines -----------------------------------------------------------------------


def _tender_labels():
    from .labels import TENDER_STATUS_LABELS

    return TENDER_STATUS_LABELS


def _bid_labels():
    from .labels import BID_STATUS_LABELS

    return BID_STATUS_LABELS


def _objection_labels():
    from .labels import OBJECTION_STATUS_LABELS

    return OBJECTION_STATUS_LABELS


TENDER = register(StateMachine("tender", {
    "publish": Transition({S.DRAFT}, S.PUBLISHED, "tender.published"),
    "close": Transition({S.PUBLISHED}, S.BIDDING_CLOSED, "tender.bidding_closed"),
    "open": Transition({S.PUBLISHED, S.BIDDING_CLOSED}, S.OPENED, "tender.opened"),
    "finish_scoring": Transition({S.OPENED}, S.SCORED, "tender.scored"),
    "fail": Transition({S.OPENED}, S.FAILED, "tender.failed"),
    "propose": Transition({S.SCORED}, S.AWARD_PROPOSED, "tender.award_proposed"),
    "publicity": Transition({S.AWARD_PROPOSED}, S.IN_PUBLICITY, "tender.publicity_started"),
    "return_to_scoring": Transition({S.IN_PUBLICITY, S.AWARD_PROPOSED}, S.OPENED, "tender.returned_to_scoring"),
    "confirm": Transition({S.IN_PUBLICITY}, S.AWARDED, "tender.awarded"),
    # An objection to the award may still come after its confirmation (财政部令第94号 art. 11: within 7
    # working days of the publicity's end). Upheld, it revokes the award before any contract is drawn
    # up and the panel ranks again, or cancels the tender to procure again once a contract drawn up
    # is terminated (财政部令第94号 art. 32).
    "revoke_award": Transition({S.AWARDED}, S.OPENED, "tender.award_revoked"),
    "cancel_award": Transition({S.AWARDED}, S.CANCELLED, "tender.award_cancelled"),
    # The proposed bidder became ineligible before the award: the ranking stands, the next one is proposed.
    "withdraw_proposal": Transition({S.AWARD_PROPOSED, S.IN_PUBLICITY}, S.SCORED, "tender.proposal_withdrawn"),
    "cancel": Transition(set(S) - {S.AWARDED, S.CANCELLED, S.FAILED}, S.CANCELLED, "tender.cancelled"),
}, labels=_tender_labels, refusal=_l("Not possible while the tender is %(status)s.")))

# What may be done to a tender without moving it, and in which statuses.
TENDER_ACTIVITIES = {
    "edit": frozenset({S.DRAFT}),
    "add_document": frozenset({S.DRAFT, S.PUBLISHED}),
    "manage_panel": frozenset({S.DRAFT, S.PUBLISHED, S.BIDDING_CLOSED, S.OPENED}),
    "ask_question": frozenset({S.PUBLISHED}),
    "answer_question": frozenset({S.PUBLISHED, S.BIDDING_CLOSED}),
    "bid": frozenset({S.PUBLISHED}),
    "score": frozenset({S.OPENED}),
}

BID = register(StateMachine("bid", {
    "resubmit": Transition({BidStatus.WITHDRAWN}, BidStatus.SUBMITTED, "bid.resubmitted"),
    "withdraw": Transition({BidStatus.SUBMITTED}, BidStatus.WITHDRAWN, "bid.withdrawn"),
}, labels=_bid_labels, refusal=_l("This bid is already withdrawn.")))

OBJECTION = register(StateMachine("objection", {
    "uphold": Transition({ObjectionStatus.OPEN}, ObjectionStatus.UPHELD, "objection.upheld"),
    "dismiss": Transition({ObjectionStatus.OPEN}, ObjectionStatus.DISMISSED, "objection.dismissed"),
}, labels=_objection_labels, refusal=_l("This objection has already been answered."), reason=None))


def tender_allows(verb: str, tender: Tender) -> bool:
    """Whether the tender's status allows a transition or one of its activities."""
    if verb in TENDER.transitions:
        return TENDER.allows(verb, tender)
    return tender.status in TENDER_ACTIVITIES[verb]


def check_tender(verb: str, tender: Tender) -> None:
    """Refuse, naming the status, what the tender's status does not allow."""
    if not tender_allows(verb, tender):
        raise DomainError(_("Not possible while the tender is %(status)s.", status=status_label(tender.status)))


def status_label(status: TenderStatus) -> str:
    return TENDER.label(status)


# --- tenders: drafting ------------------------------------------------------------------------


def _next_number(plan: ProjectPlan) -> str:
    prefix = f"{plan.fiscal_year}-ZB-"
    count = db.session.execute(sa.select(sa.func.count(Tender.id)).where(Tender.number.like(prefix + "%"))).scalar_one()
    return f"{prefix}{count + 1:03d}"


def committed_ceilings(plan: ProjectPlan, exclude: Tender | None = None) -> int:
    return sum(t.ceiling_fen for t in plan.tenders
               if t is not exclude and t.status not in (S.CANCELLED, S.FAILED))


def _check_tender_values(plan: ProjectPlan, values: dict, tender: Tender | None = None) -> None:
    if not (values.get("title") or "").strip():
        raise ValidationError(_("Give the tender a title."), "title")
    ceiling = values["ceiling_fen"]
    if ceiling is None or ceiling <= 0:
        raise ValidationError(_("The ceiling price must be more than zero."), "ceiling")
    available = plan.budget_fen - committed_ceilings(plan, exclude=tender)
    if ceiling > available:
        raise ValidationError(
            _("The ceiling price %(c)s exceeds what is left of the plan's budget (%(a)s).",
              c=money(ceiling), a=money(available)), "ceiling")
    weight = values["price_weight"]
    if weight is None or not Decimal(0) < weight <= Decimal(100):
        raise ValidationError(_("The price weight is between 0 and 100 points."), "price_weight")
    bounds = PRICE_WEIGHT_BOUNDS.get(TenderMethod(values["method"]))
    if bounds and not bounds[0] <= weight <= bounds[1]:
        raise ValidationError(_("For service procurement by this method the price weight must be %(lo)s to %(hi)s points.",
                                lo=bounds[0], hi=bounds[1]), "price_weight")
    clar, deadline, opening = values["clarification_deadline"], values["bid_deadline"], values["opening_at"]
    if None in (clar, deadline, opening):
        raise ValidationError(_("Give the clarification deadline, bid deadline and opening time."), "bid_deadline")
    if not clar < deadline:
        raise ValidationError(_("Questions must close before the bid deadline."), "clarification_deadline")
    if not deadline <= opening:
        raise ValidationError(_("Bids are opened at or after the bid deadline."), "opening_at")
    problem = rules.publicity_problem(int(values.get("publicity_days", 7)))
    if problem:
        raise ValidationError(problem, "publicity_days")
    problem = guarantees.deposit_problem(values.get("deposit_fen"), ceiling)
    if problem:
        raise ValidationError(problem, "deposit")
    problem = guarantees.deduction_problem(values.get("sme_deduction_percent"))
    if problem:
        raise ValidationError(problem, "sme_deduction_percent")
    if tender is None or tender.status == S.DRAFT:
        # Documents are issued at the publication, today at the earliest.
        problem = rules.bidding_period_problem(values["method"], tender_issue_time(tender), deadline)
        if problem:
            raise ValidationError(problem, "bid_deadline")


def tender_issue_time(tender: Tender | None):
    """When the tender's documents are (or, for a draft, would at the earliest be) issued."""
    if tender is not None and tender.publish_at is not None:
        return tender.publish_at
    return clock.now()


def create_tender(actor, plan: ProjectPlan, **values) -> Tender:
    allow(actor, perms.can_manage_tenders(actor))
    values["method"] = TenderMethod(values["method"])
    values["min_rating"] = OrgRating(values.get("min_rating") or OrgRating.NONE)
    values.setdefault("sme_deduction_percent", int(current_app.config["SME_DEDUCTION_DEFAULT"]))
    _check_tender_values(plan, values)
    now = clock.now()
    # Through the relationship, so plan.tenders (the budget check) sees it within the same session.
    tender = Tender(plan=plan, number=_next_number(plan), status=S.DRAFT, status_changed_at=now,
                    created_at=now, created_by_id=getattr(actor, "id", None),
                    **{k: values[k] for k in TENDER_FIELDS if k in values})
    tender.title = tender.title.strip()
    db.session.add(tender)
    db.session.flush()
    record("tender.created", actor=actor, obj=tender, changes=created(tender, ("number", "plan_id") + TENDER_FIELDS))
    return tender


def update_tender(actor, tender: Tender, **values) -> Tender:
    allow(actor, perms.can_manage_tenders(actor))
    check_tender("edit", tender)
    values["method"] = TenderMethod(values["method"])
    values["min_rating"] = OrgRating(values.get("min_rating") or OrgRating.NONE)
    values.setdefault("deposit_fen", tender.deposit_fen)
    values.setdefault("sme_deduction_percent", tender.sme_deduction_percent)
    _check_tender_values(tender.plan, values, tender)
    before = snapshot(tender, TENDER_FIELDS)
    for key in TENDER_FIELDS:
        if key in values:
            setattr(tender, key, values[key])
    tender.title = tender.title.strip()
    changes = diff(before, snapshot(tender, TENDER_FIELDS))
    if changes:
        db.session.flush()
        record("tender.updated", actor=actor, obj=tender, changes=changes)
    return tender


def _decimal(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
        # quantize() itself refuses a number too large for the context (1e1000).
        two_decimals = number.is_finite() and number == number.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter a number of points."), field) from None
    if not two_decimals:
        raise ValidationError(_("Points have at most two decimals."), field)
    return number


def set_criteria(actor, tender: Tender, rows: list[dict]) -> None:
    """Replace the non-price criteria: [{name, weight, description}]. Only while drafting."""
    allow(actor, perms.can_manage_tenders(actor))
    check_tender("edit", tender)
    cleaned = []
    for index, row in enumerate(rows):
        name = (row.get("name") or "").strip()
        if not name and not str(row.get("weight") or "").strip():
            continue  # an empty row left in the form
        if not name:
            raise ValidationError(_("Criterion %(n)d needs a name.", n=index + 1), "criteria")
        weight = _decimal(row.get("weight"), "criteria")
        if weight <= 0:
            raise ValidationError(_("Criterion %(name)s needs a weight above zero.", name=name), "criteria")
        cleaned.append((name, weight, (row.get("description") or "").strip()))
    before = [[c.name, str(c.weight)] for c in tender.criteria]
    tender.criteria.clear()
    db.session.flush()
    for position, (name, weight, description) in enumerate(cleaned):
        tender.criteria.append(TenderCriterion(position=position, name=name, weight=weight, description=description))
    db.session.flush()
    after = [[name, str(weight)] for name, weight, _d in cleaned]
    if before != after:
        record("tender.criteria_set", actor=actor, obj=tender, changes={"criteria": [before, after]})


def weights_problem(tender: Tender) -> str | None:
    if not tender.criteria:
        return _("Add at least one scoring criterion besides price.")
    total = sum((c.weight for c in tender.criteria), Decimal(0)) + Decimal(tender.price_weight)
    if total != Decimal(100):
        return _("The criteria weights and the price weight must add up to 100 points; now they add up to %(t)s.",
                 t=points_text(total))
    return None


def add_tender_document(actor, tender: Tender, upload, title: str) -> TenderDocument:
    allow(actor, perms.can_manage_tenders(actor))
    check_tender("add_document", tender)
    if tender.status == S.PUBLISHED and clock.now() >= tender.bid_deadline:
        raise DomainError(_("The bid deadline has passed; the tender documents can no longer change."))
    stored = files.store(upload, purpose="tender", rule=files.UploadRule(kinds=files.DOCUMENTS), actor=actor)
    document = TenderDocument(tender_id=tender.id, title=(title or stored.original_name).strip()[:200],
                              file_id=stored.id)
    db.session.add(document)
    db.session.flush()
    record("tender.document_added", actor=actor, obj=tender,
           changes={"document": [None, document.title], "sha256": [None, stored.sha256]})
    return document


# --- tenders: publication to opening ----------------------------------------------------------


def publish_tender(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("publish", tender)
    problem = weights_problem(tender)
    if problem:
        raise DomainError(problem)
    if not tender.documents:
        raise DomainError(_("Add the tender documents before publishing: the notice issues them to bidders."))
    problem = rules.panel_problem(tender.method, tender.ceiling_fen, len(tender.experts))
    if problem:
        raise DomainError(_("Draw the evaluation panel before publishing.") + " " + problem)
    now = clock.now()
    if tender.clarification_deadline <= now:
        raise DomainError(_("The clarification deadline has already passed; set new dates before publishing."))
    _check_tender_values(tender.plan, {k: getattr(tender, k) for k in TENDER_FIELDS}, tender)
    tender.publish_at = now
    TENDER.move(actor, tender, "publish", publish_at=now)


def close_bidding(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("close", tender)
    if clock.now() < tender.bid_deadline:
        raise DomainError(_("Bidding closes at the deadline, %(t)s.", t=local_datetime(tender.bid_deadline)))
    TENDER.move(actor, tender, "close")


def open_bids(actor, tender: Tender) -> None:
    """Unseal every bid, check it against its receipt digest and record prices and digests."""
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("open", tender)
    now = clock.now()
    if now < tender.bid_deadline or now < tender.opening_at:
        raise DomainError(_("Bids are opened at %(t)s, not before.", t=local_datetime(max(tender.opening_at, tender.bid_deadline))))
    opened = []
    for bid in tender.bids:
        if bid.status != BidStatus.SUBMITTED:
            continue
        content = sealing.unseal(bid.sealed)
        document_hashes = []
        for document in bid.documents:
            data = files.read(document.file, decrypt_purpose=sealing.PURPOSE)
            document_hashes.append(hashlib.sha256(data).hexdigest())
        recomputed = sealing.digest(tender.id, bid.organization_id, jsonable(bid.submitted_at),
                                    sealing.SealedContent(content.price_fen, content.declaration, content.salt,
                                                          document_hashes))
        bid.price_fen = content.price_fen
        bid.digest_verified = recomputed == bid.digest
        if not bid.digest_verified:
            bid.valid = False
            bid.invalid_reason = _("The stored bid does not match the digest on its receipt.")
        opened.append({"organization": bid.organization.name, "price_fen": bid.price_fen, "digest": bid.digest,
                       "digest_verified": bid.digest_verified})
    tender.opened_at = now
    db.session.flush()
    TENDER.move(actor, tender, "open", opening_record=opened)
    rule_out_ineligible(actor, tender, GATE_OPENING)
    standing = [b for b in tender.bids if b.status == BidStatus.SUBMITTED and b.valid is not False]
    needed = min_valid_bids(tender.method)
    if len(standing) < needed:
        TENDER.move(actor, tender, "fail",
                reason=_("Too few valid bids: %(n)d received, at least %(m)d needed.", n=len(standing), m=needed))


def cancel_tender(actor, tender: Tender, reason: str, objection: Objection | None = None) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    # An awarded tender is cancelled only on an upheld objection to its award.
    verb = "cancel_award" if tender.status == S.AWARDED and objection is not None else "cancel"
    TENDER.check(verb, tender)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for cancelling the tender; it is published."), "reason")
    if objection is not None:
        if objection.tender_id != tender.id or not objection.upheld_in_effect or objection.resolution:
            raise DomainError(_("Only an upheld objection not yet acted on leads to cancelling the tender."))
        if verb == "cancel_award":
            if objection.subject != ObjectionSubject.AWARD:
                raise DomainError(_("Only an upheld objection to the award leads to cancelling an awarded tender."))
            _refuse_standing_contract(tender, terminated_ok=True)
        objection.resolution = "cancel"
    TENDER.move(actor, tender, verb, reason=reason)


# --- clarifications ---------------------------------------------------------------------------


def ask_question(actor, tender: Tender, question: str) -> Clarification:
    allow(actor, perms.can_bid(actor))
    check_tender("ask_question", tender)
    if clock.now() >= tender.clarification_deadline:
        raise DomainError(_("Questions closed at %(t)s.", t=local_datetime(tender.clarification_deadline)))
    question = (question or "").strip()
    if len(question) < 5:
        raise ValidationError(_("Write the question in a few words at least."), "question")
    item = Clarification(tender_id=tender.id, organization_id=actor.organization_id, asked_by_id=actor.id,
                         question=question, asked_at=clock.now())
    db.session.add(item)
    db.session.flush()
    record("clarification.asked", actor=actor, obj=item, changes={"tender_id": [None, tender.id]})
    return item


def answer_question(actor, item: Clarification, answer: str) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    tender = db.session.get(Tender, item.tender_id)
    check_tender("answer_question", tender)
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError(_("Write the answer."), "answer")
    if tender.status == S.PUBLISHED and clock.now() >= tender.bid_deadline:
        raise DomainError(_("The bid deadline has passed; answers can no longer change what bidders offer."))
    before = item.answer
    item.answer, item.answered_at, item.answered_by_id = answer, clock.now(), getattr(actor, "id", None)
    db.session.flush()
    record("clarification.answered", actor=actor, obj=item, changes={"answer": [before or None, answer]})


# --- sealed bids ------------------------------------------------------------------------------


def _bidding_open(tender: Tender) -> None:
    check_tender("bid", tender)
    now = clock.now()
    if tender.publish_at and now < tender.publish_at:
        raise DomainError(_("Bidding has not started."))
    if now >= tender.bid_deadline:
        raise DomainError(_("The bid deadline (%(t)s) has passed; bids can no longer be submitted, withdrawn or changed.",
                            t=local_datetime(tender.bid_deadline)))


def check_eligible(org: Organization, tender: Tender) -> None:
    problems = eligibility_problems(org, tender)
    if problems:
        raise DomainError(" ".join(problems))


# The gates after the bid at which a bidder's eligibility is checked again: an organization suspended,
# put on the dishonesty list or barred by a failed final evaluation after it bid is ruled out there.
GATE_OPENING, GATE_RANKING, GATE_AWARD = "opening", "ranking", "award"


def _gate_label(gate: str) -> str:
    return {GATE_OPENING: _("at the opening"), GATE_RANKING: _("at the ranking"),
            GATE_AWARD: _("at the award")}[gate]


def rule_out_ineligible(actor, tender: Tender, gate: str, bids: list[Bid] | None = None) -> list[Bid]:
    """Rule out every bid still in the running whose organization is no longer eligible, recording why
    (shown on the tender page and to the bidder) in the bid and the audit trail. Returns those bids."""
    ruled_out = []
    for bid in bids if bids is not None else tender.bids:
        if bid.status != BidStatus.SUBMITTED or bid.valid is False:
            continue
        problems = eligibility_problems(bid.organization, tender)
        if not problems:
            continue
        reason = _("No longer eligible %(gate)s: %(problems)s", gate=_gate_label(gate), problems=" ".join(problems))
        bid.valid, bid.invalid_reason, bid.rank = False, reason, None
        db.session.flush()
        record("bid.ruled_ineligible", actor=actor, obj=bid,
               changes={"valid": [None, False], "gate": [None, gate], "reason": [None, reason]})
        ruled_out.append(bid)
    return ruled_out


def _parse_price(price_fen) -> int:
    if price_fen is None or int(price_fen) <= 0:
        raise ValidationError(_("The bid price must be more than zero."), "price")
    return int(price_fen)


def submit_bid(actor, tender: Tender, *, price_fen: int, declaration: str, declaration_accepted: bool,
               uploads: list, held: list = ()) -> Bid:
    """Seal and store a bid; resubmits a withdrawn one. Returns the bid with its receipt.

    `held`: documents kept from this person's refused submission (procurement/held.py), taken as
    they are when no file is uploaded this time."""
    allow(actor, perms.can_bid(actor))
    org = db.session.get(Organization, actor.organization_id)
    _bidding_open(tender)
    check_eligible(org, tender)
    price_fen = _parse_price(price_fen)
    if price_fen > tender.ceiling_fen:
        raise ValidationError(_("The price %(p)s is above the ceiling price %(c)s.", p=money(price_fen),
                                c=money(tender.ceiling_fen)), "price")
    if not declaration_accepted:
        raise ValidationError(_("Confirm the declaration to submit a bid."), "declaration_accepted")
    uploads = [u for u in uploads if u and getattr(u, "filename", "")]
    held = [] if uploads else [f for f in held if f.purpose == held_files.PURPOSE and f.uploaded_by_id == actor.id]
    if not uploads and not held:
        raise ValidationError(_("Attach the bid documents."), "documents")
    existing = db.session.execute(
        sa.select(Bid).where(Bid.tender_id == tender.id, Bid.organization_id == org.id)).scalar_one_or_none()
    if existing is not None and existing.status == BidStatus.SUBMITTED:
        raise DomainError(_("Your organization already has a bid in this tender; withdraw it to submit a new one."))
    stored = [files.store(u, purpose="bid", rule=BID_DOCUMENT_RULE, actor=actor, encrypt_purpose=sealing.PURPOSE)
              for u in uploads]
    for document in held:  # already checked and sealed when they were held
        document.purpose = "bid"
        stored.append(document)
    now = clock.now()
    content = sealing.new_content(price_fen, declaration.strip(), [s.sha256 for s in stored])
    digest = sealing.digest(tender.id, org.id, jsonable(now), content)
    receipt = "BID-" + secrets.token_hex(6).upper()
    # The trail says that a bid arrived and when, never what it offers.
    changes = {"tender_id": [None, tender.id], "receipt": [None, receipt]}
    if existing is None:
        # Through the relationship, so tender.bids (the opening) sees it within the same session.
        bid = Bid(tender=tender, organization_id=org.id, submissions=1, status=BidStatus.SUBMITTED,
                  status_changed_at=now)
        db.session.add(bid)
    else:
        bid = existing
        bid.submissions += 1
        bid.documents.clear()
    bid.submitted_at = now
    bid.submitted_by_id, bid.sealed, bid.digest, bid.receipt_code = actor.id, sealing.seal(content), digest, receipt
    db.session.flush()
    for s in stored:
        bid.documents.append(BidDocument(file_id=s.id))
    db.session.flush()
    if existing is None:
        record("bid.submitted", actor=actor, obj=bid, changes=changes)
    else:
        BID.move(actor, bid, "resubmit", changes=changes)
    return bid


def withdraw_bid(actor, bid: Bid) -> None:
    allow(actor, perms.is_bidder_manager(actor, bid.organization_id))
    _bidding_open(bid.tender)
    BID.move(actor, bid, "withdraw")


def own_bid_content(actor, bid: Bid) -> sealing.SealedContent:
    """The bid as its organization submitted it, readable by that organization at any time."""
    require(perms.can_view_bid_content(actor, bid))
    return sealing.unseal(bid.sealed)


def read_bid_document(actor, document: BidDocument) -> bytes:
    require(perms.can_view_bid_content(actor, document.bid))
    return files.read(document.file, decrypt_purpose=sealing.PURPOSE)


# --- the expert panel -------------------------------------------------------------------------


def assign_expert(actor, tender: Tender, expert) -> TenderExpert:
    """Seat one expert on the panel. Pages seat experts only by a random draw (experts.draw_experts)."""
    allow(actor, perms.can_manage_tenders(actor))
    check_tender("manage_panel", tender)
    if expert.role != Role.EXPERT or not expert.active:
        raise ValidationError(_("Only active bid evaluation experts can sit on a panel."), "expert")
    if any(m.user_id == expert.id for m in tender.experts):
        raise ValidationError(_("%(n)s is already on this panel.", n=expert.full_name or expert.username), "expert")
    member = TenderExpert(tender_id=tender.id, user_id=expert.id, assigned_at=clock.now(),
                          assigned_by_id=getattr(actor, "id", None), related_org_ids=[])
    tender.experts.append(member)
    db.session.flush()
    record("tender.expert_assigned", actor=actor, obj=tender, changes={"expert": [None, expert.username]})
    return member


def remove_expert(actor, member: TenderExpert) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    tender = member.tender
    check_tender("manage_panel", tender)
    if member.submitted_at is not None:
        raise DomainError(_("An expert who has submitted scores stays on the panel."))
    username = member.user.username
    tender.experts.remove(member)
    db.session.delete(member)
    db.session.flush()
    record("tender.expert_removed", actor=actor, obj=tender, changes={"expert": [username, None]})


def bidders(tender: Tender) -> list[Organization]:
    return [b.organization for b in tender.bids if b.status == BidStatus.SUBMITTED]


def declare_conflicts(actor, member: TenderExpert, related_org_ids: list[int], note: str = "") -> None:
    """The expert's declaration, made after the opening and before seeing any bid."""
    allow(actor, member.user_id == getattr(actor, "id", None))
    tender = member.tender
    check_tender("score", tender)
    if member.declared_at is not None:
        raise DomainError(_("You have already made your declaration for this tender."))
    from .experts import tied_organization_ids

    bidder_ids = {o.id for o in bidders(tender)}
    related = sorted({int(i) for i in related_org_ids} & bidder_ids)
    # Ties the bureau recorded (staff, former staff, relations) count whatever the expert declares.
    recorded = sorted(tied_organization_ids(member.user) & bidder_ids)
    member.related_org_ids = related
    member.declaration_note = (note or "").strip()
    member.declared_at = clock.now()
    member.conflicted = bool(related) or bool(recorded)
    db.session.flush()
    record("tender.expert_declared", actor=actor, obj=tender,
           changes={"expert": [None, member.user.username], "related_org_ids": [None, related],
                    "recorded_ties": [None, recorded], "conflicted": [None, member.conflicted]})


def _active_member(actor, member: TenderExpert) -> Tender:
    allow(actor, member.user_id == getattr(actor, "id", None))
    tender = member.tender
    check_tender("score", tender)
    if member.declared_at is None:
        raise DomainError(_("Make your conflict declaration before scoring."))
    if member.conflicted:
        raise DomainError(_("You declared a relation with a bidder (or work for one) and cannot score this tender."))
    if member.submitted_at is not None:
        raise DomainError(_("You have submitted your scores; they can no longer change."))
    return tender


def scorable_bids(tender: Tender) -> list[Bid]:
    return [b for b in tender.bids
            if b.status == BidStatus.SUBMITTED and b.digest_verified and b.valid is not False]


def save_score(actor, member: TenderExpert, bid: Bid, criterion: TenderCriterion, points, comment: str = "") -> ExpertScore:
    tender = _active_member(actor, member)
    if bid.tender_id != tender.id or criterion.tender_id != tender.id:
        raise DomainError(_("That bid or criterion belongs to another tender."))
    if bid not in scorable_bids(tender):
        raise DomainError(_("This bid has been ruled invalid and is not scored."))
    value = _decimal(points, "points")
    if not Decimal(0) <= value <= Decimal(criterion.weight):
        raise ValidationError(_("Give %(name)s between 0 and %(max)s points.", name=criterion.name,
                                max=points_text(criterion.weight)), "points")
    score = db.session.execute(sa.select(ExpertScore).where(
        ExpertScore.tender_expert_id == member.id, ExpertScore.bid_id == bid.id,
        ExpertScore.criterion_id == criterion.id)).scalar_one_or_none()
    before = None if score is None else str(score.points)
    if score is None:
        score = ExpertScore(tender_expert_id=member.id, bid_id=bid.id, criterion_id=criterion.id, points=value)
        db.session.add(score)
    score.points, score.comment, score.updated_at = value, (comment or "").strip(), clock.now()
    db.session.flush()
    if before != str(value):
        record("tender.score_saved", actor=actor, obj=tender,
               changes={"bid_id": [None, bid.id], "criterion_id": [None, criterion.id], "points": [before, str(value)]})
    return score


def missing_scores(member: TenderExpert) -> int:
    tender = member.tender
    have = {(s.bid_id, s.criterion_id) for s in member.scores}
    return sum(1 for b in scorable_bids(tender) for c in tender.criteria if (b.id, c.id) not in have)


def submit_scores(actor, member: TenderExpert) -> None:
    tender = _active_member(actor, member)
    missing = missing_scores(member)
    if missing:
        raise DomainError(_("%(n)d scores are still missing; score every criterion of every valid bid.", n=missing))
    member.submitted_at = clock.now()
    db.session.flush()
    record("tender.expert_submitted", actor=actor, obj=tender, changes={"expert": [None, member.user.username]})


def rule_bid_invalid(actor, bid: Bid, reason: str) -> None:
    """The panel (or procurement staff for it) rules a bid invalid, e.g. ineligible or missing documents."""
    tender = bid.tender
    member = perms.panel_member(actor, tender) if actor is not None else None
    on_panel = member is not None and member.declared_at is not None and not member.conflicted
    allow(actor, perms.can_manage_tenders(actor) or on_panel)
    check_tender("score", tender)
    if bid.status != BidStatus.SUBMITTED or bid.valid is False:
        raise DomainError(_("This bid is not in the running."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason the bid is invalid."), "reason")
    bid.valid, bid.invalid_reason = False, reason
    db.session.flush()
    record("bid.ruled_invalid", actor=actor, obj=bid, changes={"valid": [None, False], "reason": [None, reason]})


def finish_scoring(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("finish_scoring", tender)
    panel = [m for m in tender.experts if not m.conflicted]
    undeclared = [m for m in panel if m.declared_at is None]
    if undeclared:
        raise DomainError(_("Waiting for the conflict declaration of: %(names)s.",
                            names=", ".join(m.user.full_name or m.user.username for m in undeclared)))
    pending = [m for m in panel if m.submitted_at is None]
    if pending:
        raise DomainError(_("Waiting for the scores of: %(names)s.",
                            names=", ".join(m.user.full_name or m.user.username for m in pending)))
    problem = rules.panel_problem(tender.method, tender.ceiling_fen, len(panel))
    if problem:
        raise DomainError(_("%(rule)s Draw a replacement for each expert who withdrew.", rule=problem))
    # Deposits and abnormally low prices are settled before anything is ranked (or ruled out).
    standing = [b for b in scorable_bids(tender) if not eligibility_problems(b.organization, tender)]
    problems = guarantees.ranking_problems(tender, standing)
    if problems:
        raise DomainError(" ".join(problems))
    rule_out_ineligible(actor, tender, GATE_RANKING, scorable_bids(tender))
    candidates = scorable_bids(tender)
    if len(candidates) < min_valid_bids(tender.method):
        for bid in candidates:
            bid.valid = True
        TENDER.move(actor, tender, "fail",
                reason=_("Too few valid bids: %(n)d valid, at least %(m)d needed.", n=len(candidates),
                         m=min_valid_bids(tender.method)))
        return
    totals: dict[int, list[Decimal]] = {b.id: [] for b in candidates}
    for member in panel:
        per_bid: dict[int, Decimal] = {}
        for score in member.scores:
            if score.bid_id in totals:
                per_bid[score.bid_id] = per_bid.get(score.bid_id, Decimal(0)) + Decimal(score.points)
        for bid_id in totals:
            totals[bid_id].append(per_bid.get(bid_id, Decimal(0)))
    order = sorted(candidates, key=lambda b: b.submitted_at)
    for bid in candidates:
        # The small and micro enterprise deduction makes the price the scores compare, never the contract's.
        bid.deduction_percent = guarantees.deduction_for(tender, bid)
        bid.evaluated_price_fen = guarantees.evaluated_price(bid.price_fen, bid.deduction_percent)
    results = rank_bids([BidInput(b.id, b.price_fen, tuple(totals[b.id]), order.index(b), b.evaluated_price_fen)
                         for b in candidates],
                        Decimal(tender.price_weight), lowest_price=rules.lowest_price_wins(tender.method))
    by_id = {b.id: b for b in candidates}
    for result in results:
        bid = by_id[result.bid_id]
        bid.valid = True
        bid.technical_score, bid.price_score, bid.total_score, bid.rank = (
            result.technical, result.price, result.total, result.rank)
    tender.scored_at = clock.now()
    deducted = {b.organization.name: [b.evaluated_price_fen, b.deduction_percent]
                for b in candidates if b.deduction_percent}
    TENDER.move(actor, tender, "finish_scoring",
            ranking=[[by_id[r.bid_id].organization.name, str(r.total), r.rank] for r in results],
            **({"evaluated_prices": deducted} if deducted else {}))


# --- award, publicity, objections -------------------------------------------------------------


def propose_award(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("propose", tender)
    challenges.check_award_may_proceed(tender)
    ranked = sorted((b for b in tender.bids if b.rank and b.valid), key=lambda b: b.rank)
    ruled_out = rule_out_ineligible(actor, tender, GATE_AWARD, ranked)
    top = next((b for b in ranked if b not in ruled_out), None)
    if top is None:
        reasons = " ".join(b.invalid_reason for b in ruled_out)
        raise DomainError(_("There is no ranked bid to propose.") + (" " + reasons if reasons else ""))
    tender.proposed_bid = top  # the relationship, so a later step of the same session reads this bid
    # The award decision: the award notice is due within two working days of it (contracts/deadlines.py).
    tender.award_decided_at = clock.now()
    TENDER.move(actor, tender, "propose", proposed=top.organization.name)


def _proposal_still_eligible(actor, tender: Tender) -> bool:
    """False (and the proposal withdrawn, the tender back to "scored") when the proposed bidder is no
    longer eligible: the next-ranked bid is proposed instead."""
    if not rule_out_ineligible(actor, tender, GATE_AWARD, [tender.proposed_bid]):
        return True
    bid = tender.proposed_bid
    tender.proposed_bid = None
    TENDER.move(actor, tender, "withdraw_proposal", reason=bid.invalid_reason,
                withdrawn=bid.organization.name)
    return False


def start_publicity(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("publicity", tender)
    challenges.check_award_may_proceed(tender)
    if not _proposal_still_eligible(actor, tender):
        return
    now = clock.now()
    tender.publicity_round += 1
    tender.publicity_starts_at = now
    # Counted in working days: the day it starts is not counted, the last day counts to its end.
    tender.publicity_ends_at = workdays.working_days_after(now, tender.publicity_days)
    TENDER.move(actor, tender, "publicity", publicity_ends_at=tender.publicity_ends_at)


def file_objection(actor, tender: Tender, reasons: str, uploads: list,
                   subject: ObjectionSubject = ObjectionSubject.AWARD) -> Objection:
    """A supplier's objection to the documents or to the award, within the window the law gives it
    (procurement.challenges); the answer is due, and a complaint possible, by days fixed now."""
    subject = ObjectionSubject(subject)
    allow(actor, perms.can_bid(actor))
    problem = challenges.subject_problem(tender, subject)
    if problem:
        raise DomainError(problem)
    if not challenges.may_object_to(actor, tender, subject):
        raise PermissionDenied()
    reasons = (reasons or "").strip()
    if len(reasons) < 10:
        raise ValidationError(_("State the reasons for the objection."), "reasons")
    now = clock.now()
    due = challenges.answer_due(now)
    objection = Objection(tender_id=tender.id, organization_id=actor.organization_id, filed_by_id=actor.id,
                          filed_at=now, subject=subject, reasons=reasons,
                          publicity_round=tender.publicity_round if subject == ObjectionSubject.AWARD else 0,
                          status=ObjectionStatus.OPEN, status_changed_at=now, answer_due_at=due,
                          complaint_until=challenges.complaint_deadline(due))
    db.session.add(objection)
    db.session.flush()
    for upload in [u for u in uploads if u and getattr(u, "filename", "")]:
        stored = files.store(upload, purpose="objection", rule=BID_DOCUMENT_RULE, actor=actor)
        db.session.add(ObjectionDocument(objection_id=objection.id, file_id=stored.id))
    db.session.flush()
    record("objection.filed", actor=actor, obj=objection,
           changes={"tender_id": [None, tender.id], "subject": [None, subject.value],
                    "answer_due_at": [None, jsonable(due)]})
    return objection


def answer_objection(actor, objection: Objection, *, upheld: bool, answer: str) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    verb = "uphold" if upheld else "dismiss"
    OBJECTION.check(verb, objection)
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError(_("Write the answer to the objection; the bidder receives it."), "answer")
    objection.answer, objection.answered_at, objection.answered_by_id = answer, clock.now(), getattr(actor, "id", None)
    OBJECTION.move(actor, objection, verb, late=clock.now() >= objection.answer_due_at)


def blocking_objections(tender: Tender) -> list[Objection]:
    """Open objections (either subject) and upheld ones not yet acted on: the award waits for them."""
    return challenges.blocking(tender)[0]


def return_to_scoring(actor, tender: Tender, objection: Objection) -> None:
    """An upheld objection sends the tender back to the panel: results and submissions are cleared."""
    allow(actor, perms.can_manage_tenders(actor))
    verb = "revoke_award" if tender.status == S.AWARDED else "return_to_scoring"
    TENDER.check(verb, tender)
    challenges.check_objection_acts_on(objection, tender, ObjectionSubject.AWARD)
    if verb == "revoke_award":
        _refuse_standing_contract(tender, terminated_ok=False)
    # The rescoring answers every upheld objection to this round's award at once.
    for other in challenges.tender_objections(tender):
        if (other.subject == ObjectionSubject.AWARD and other.publicity_round == tender.publicity_round
                and other.upheld_in_effect and not other.resolution):
            other.resolution = "rescore"
    objection.resolution = "rescore"
    for bid in tender.bids:
        bid.technical_score = bid.price_score = bid.total_score = bid.rank = None
        if bid.valid is True:
            bid.valid = None
    for member in tender.experts:
        member.submitted_at = None
    tender.proposed_bid_id = None
    tender.scored_at = None
    tender.awarded_bid_id = tender.awarded_at = None
    TENDER.move(actor, tender, verb, objection=objection.id)


def award_contract_status(tender: Tender):
    """The status of the contract drawn up from this tender's award, or None."""
    from ..contracts.models import Contract

    return db.session.execute(sa.select(Contract.status).where(Contract.tender_id == tender.id)).scalar_one_or_none()


def _refuse_standing_contract(tender: Tender, *, terminated_ok: bool) -> None:
    """An award is revoked only before its contract is drawn up; a tender whose award led to a contract
    is cancelled only once that contract is terminated (财政部令第94号 art. 32)."""
    from ..contracts.models import ContractStatus

    status = award_contract_status(tender)
    if status is None or (terminated_ok and status == ContractStatus.TERMINATED):
        return
    if terminated_ok:
        raise DomainError(_("The award's contract stands: terminate it first (%(source)s), then cancel the tender "
                            "to procure again.", source="财政部令第94号第三十二条"))
    raise DomainError(_("A contract has been drawn up from this award: the panel cannot rank again. Terminate the "
                        "contract and cancel the tender to procure again (%(source)s).", source="财政部令第94号第三十二条"))


def confirm_award(actor, tender: Tender) -> None:
    allow(actor, perms.can_manage_tenders(actor))
    TENDER.check("confirm", tender)
    now = clock.now()
    if now < tender.publicity_ends_at:
        raise DomainError(_("The publicity period runs until %(t)s; the award can be confirmed after it.",
                            t=local_datetime(tender.publicity_ends_at)))
    challenges.check_award_may_proceed(tender)
    if not _proposal_still_eligible(actor, tender):
        return
    tender.awarded_bid_id = tender.proposed_bid_id
    tender.awarded_at = now
    TENDER.move(actor, tender, "confirm", awarded=tender.proposed_bid.organization.name)


from . import challenges  # noqa: E402  (it reads this module's state machines at call time)
