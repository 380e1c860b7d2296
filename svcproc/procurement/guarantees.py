"""Money guarantees and fairness in a tender: the bid deposit, the small and micro enterprise price
deduction and the abnormally low bid.

- Bid deposit (投标保证金): a tender may ask one of each bidder, at most BID_DEPOSIT_MAX_PERCENT of the
  project's budget (the tender's ceiling price); procurement staff record each bidder's deposit as
  received once the bids are opened (before, nobody may learn who bid), and its return: to the other
  bidders within BID_DEPOSIT_RETURN_WORKING_DAYS working days of the award notice, to the winner of
  the contract's signature, to all of the end of a cancelled or failed tender. A bid whose deposit is
  not recorded is not ranked: the ranking is refused naming it, until staff record the deposit or
  rule the bid invalid.
- Price deduction (价格扣除): a bid from an organization that declared itself a small or micro
  enterprise is evaluated at its price less the tender's deduction (SME_DEDUCTION_RANGE percent);
  that evaluated price makes the price score, and orders a lowest-price ranking. The contract is
  signed at the bid's own price.
- Abnormally low bid (异常低价): a price below ABNORMALLY_LOW_PERCENT_OF_MEAN percent of the mean price
  of the bids in the running must be explained in writing by the bidder, and the explanation
  accepted by the panel (or the bid ruled invalid), before the bids are ranked.

Each function checks who acts and the rule, records one audit event and flushes; the view commits.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _

from ..audit.services import record
from ..core import clock, files, workdays
from ..core.errors import DomainError, ValidationError
from ..core.formatting import money
from ..core.workflow import allow
from ..extensions import db
from ..registry.models import OrgScale
from . import permissions as perms
from .models import Bid, BidDeposit, BidStatus, DepositForm, Tender, TenderMethod, TenderStatus

DEPOSIT_SOURCE = "《政府采购法实施条例》第三十三条"
DEPOSIT_END_SOURCE = "财政部令第87号第二十九条"
SME_SOURCE = "财库〔2020〕46号第九条、财库〔2022〕19号"
LOW_BID_SOURCE = "财政部令第87号第六十条"
SME_SCALES = frozenset({OrgScale.SMALL, OrgScale.MICRO})
EXPLANATION_RULE = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES)


def today() -> date:
    return workdays.local_date(clock.now())


# --- the figures a tender sets -----------------------------------------------------------------


def deposit_problem(deposit_fen: int | None, ceiling_fen: int) -> str | None:
    """Why a tender may not ask this bid deposit, or None (None asks none)."""
    if deposit_fen is None:
        return None
    if deposit_fen <= 0:
        return _("The bid deposit must be more than zero, or left empty when none is asked.")
    percent = int(current_app.config["BID_DEPOSIT_MAX_PERCENT"])
    # In whole fen: the deposit may equal the percentage of the budget exactly, not one fen more.
    if deposit_fen * 100 > ceiling_fen * percent:
        return _("The bid deposit may be at most %(p)d %% of the budget (%(source)s): at most %(max)s for a "
                 "budget of %(budget)s.", p=percent, source=DEPOSIT_SOURCE,
                 max=money(ceiling_fen * percent // 100), budget=money(ceiling_fen))
    return None


def deduction_range() -> tuple[int, int]:
    low, high = current_app.config["SME_DEDUCTION_RANGE"]
    return int(low), int(high)


def deduction_problem(percent) -> str | None:
    low, high = deduction_range()
    if percent is None or isinstance(percent, bool) or int(percent) != percent or not low <= percent <= high:
        return _("The price deduction for small and micro enterprises is %(lo)d to %(hi)d %% of the price for "
                 "services (%(source)s).", lo=low, hi=high, source=SME_SOURCE)
    return None


# --- the evaluated price ----------------------------------------------------------------------


def deduction_for(tender: Tender, bid: Bid) -> int | None:
    """The percent deducted from this bid's price for its price score, or None."""
    if TenderMethod(tender.method) == TenderMethod.SINGLE_SOURCE:
        return None  # one supplier: no price to compare
    if bid.organization.scale in SME_SCALES:
        return int(tender.sme_deduction_percent)
    return None


def evaluated_price(price_fen: int, percent: int | None) -> int:
    """The price less `percent` per cent, to the fen (half a fen up)."""
    if not percent:
        return price_fen
    value = Decimal(price_fen) * (Decimal(100) - Decimal(percent)) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- what keeps the bids from being ranked ------------------------------------------------------


def abnormally_low(bids: list[Bid]) -> list[Bid]:
    """The bids priced below the threshold percentage of the mean price of `bids` (itself included).
    A price exactly at the threshold is not abnormally low."""
    priced = [b for b in bids if b.price_fen is not None]
    if len(priced) < 2:
        return []
    percent = int(current_app.config["ABNORMALLY_LOW_PERCENT_OF_MEAN"])
    total = sum(b.price_fen for b in priced)
    # price < percent/100 x total/n, in integers
    return [b for b in priced if b.price_fen * 100 * len(priced) < percent * total]


def awaiting_explanation(bids: list[Bid]) -> list[Bid]:
    """Abnormally low bids whose explanation the panel has not accepted yet."""
    return [b for b in abnormally_low(bids) if b.low_price_accepted_at is None]


def without_deposit(tender: Tender, bids: list[Bid]) -> list[Bid]:
    if tender.deposit_fen is None:
        return []
    return [b for b in bids if b.deposit is None]


def ranking_problems(tender: Tender, bids: list[Bid]) -> list[str]:
    """Why the bids in the running cannot be ranked yet: missing deposits, unexplained low prices."""
    problems = []
    missing = without_deposit(tender, bids)
    if missing:
        problems.append(_("The bid deposit of %(names)s is not recorded (%(source)s): record it, or rule the bid "
                          "invalid.", names=", ".join(b.organization.name for b in missing), source=DEPOSIT_SOURCE))
    waiting = awaiting_explanation(bids)
    if waiting:
        problems.append(_("Abnormally low bids need the bidder's written explanation, accepted by the panel, before "
                          "the bids are ranked (%(source)s): %(names)s.",
                          names=", ".join(b.organization.name for b in waiting), source=LOW_BID_SOURCE))
    return problems


def in_the_running(bid: Bid) -> bool:
    return bid.status == BidStatus.SUBMITTED and bid.digest_verified is not False and bid.valid is not False


# --- bid deposits -----------------------------------------------------------------------------


def _date(value, field: str) -> date:
    return clock.past_day(value, field)


def record_deposit(actor, bid: Bid, *, amount_fen: int | None, received_on, form) -> BidDeposit:
    """Procurement staff record a bidder's deposit as received (after the opening)."""
    allow(actor, perms.can_manage_tenders(actor))
    tender = bid.tender
    from .workflow import check_tender

    check_tender("score", tender)
    if tender.deposit_fen is None:
        raise DomainError(_("This tender asks no bid deposit."))
    if not in_the_running(bid):
        raise DomainError(_("This bid is not in the running."))
    if bid.deposit is not None:
        raise DomainError(_("The deposit of this bid is already recorded."))
    if amount_fen is None or amount_fen < tender.deposit_fen:
        raise ValidationError(_("The tender asks a deposit of %(d)s; a smaller amount does not count as paid.",
                                d=money(tender.deposit_fen)), "amount")
    try:
        form = DepositForm(form)
    except ValueError:
        raise ValidationError(_("Say how the deposit was paid."), "form") from None
    received_on = _date(received_on, "received_on")
    deadline = workdays.local_date(tender.bid_deadline)
    if received_on > deadline:
        raise ValidationError(_("The deposit had to arrive by the bid deadline (%(d)s).", d=deadline.isoformat()),
                              "received_on")
    deposit = BidDeposit(bid=bid, amount_fen=amount_fen, form=form, received_on=received_on,
                         recorded_at=clock.now(), recorded_by_id=getattr(actor, "id", None))
    db.session.add(deposit)
    db.session.flush()
    record("bid.deposit_recorded", actor=actor, obj=bid,
           changes={"amount_fen": [None, amount_fen], "form": [None, form.value],
                    "received_on": [None, received_on.isoformat()]})
    return deposit


def deposit_due(deposit: BidDeposit) -> tuple[date | None, str]:
    """When the deposit is to be returned at the latest, and why then; (None, why not yet)."""
    bid = deposit.bid
    tender = bid.tender
    days = int(current_app.config["BID_DEPOSIT_RETURN_WORKING_DAYS"])
    if tender.status in (TenderStatus.CANCELLED, TenderStatus.FAILED):
        return (workdays.add_working_days(workdays.local_date(tender.status_changed_at), days),
                _("%(n)d working days after the tender ended (%(source)s)", n=days, source=DEPOSIT_END_SOURCE))
    if tender.status != TenderStatus.AWARDED:
        return None, _("due after the award notice")
    if tender.awarded_bid_id == bid.id:
        signed_on = _contract_signed_on(tender)
        if signed_on is None:
            return None, _("due after the contract is signed")
        return (workdays.add_working_days(signed_on, days),
                _("%(n)d working days after the contract's signature (%(source)s)", n=days, source=DEPOSIT_SOURCE))
    return (workdays.add_working_days(workdays.local_date(tender.awarded_at), days),
            _("%(n)d working days after the award notice (%(source)s)", n=days, source=DEPOSIT_SOURCE))


def _contract_signed_on(tender: Tender) -> date | None:
    import sqlalchemy as sa

    from ..contracts.models import Contract

    return db.session.execute(sa.select(Contract.signed_on).where(Contract.tender_id == tender.id)).scalar()


def return_deposit(actor, deposit: BidDeposit, *, returned_on) -> None:
    """Procurement staff record the deposit returned, once its return is due."""
    allow(actor, perms.can_manage_tenders(actor))
    if deposit.returned_on is not None:
        raise DomainError(_("This deposit was already returned on %(d)s.", d=deposit.returned_on.isoformat()))
    due, why = deposit_due(deposit)
    if due is None:
        raise DomainError(_("The deposit is not to be returned yet: it is %(why)s.", why=why))
    returned_on = _date(returned_on, "returned_on")
    if returned_on < deposit.received_on:
        raise ValidationError(_("A deposit is returned after it was received (%(d)s).",
                                d=deposit.received_on.isoformat()), "returned_on")
    deposit.returned_on, deposit.returned_by_id = returned_on, getattr(actor, "id", None)
    db.session.flush()
    record("bid.deposit_returned", actor=actor, obj=deposit.bid,
           changes={"returned_on": [None, returned_on.isoformat()], "due_on": [None, due.isoformat()],
                    "late": [None, returned_on > due]})


# --- abnormally low bids ----------------------------------------------------------------------


def _scorable(tender: Tender) -> list[Bid]:
    from .workflow import scorable_bids

    return scorable_bids(tender)


def needs_explanation(bid: Bid) -> bool:
    """The bid is abnormally low among the bids in the running and its explanation is not accepted."""
    return bid in awaiting_explanation(_scorable(bid.tender))


def explain_low_bid(actor, bid: Bid, explanation: str, upload=None) -> None:
    """The bidder explains an abnormally low price in writing, with an optional document; it may write
    again until the panel has accepted it."""
    allow(actor, perms.is_bidder_manager(actor, bid.organization_id))
    from .workflow import check_tender

    check_tender("score", bid.tender)
    if not needs_explanation(bid):
        raise DomainError(_("No explanation of this bid's price is asked."))
    explanation = (explanation or "").strip()
    if len(explanation) < 10:
        raise ValidationError(_("Explain in writing how the price covers the service."), "explanation")
    before = bid.low_price_explanation or None
    if upload is not None and getattr(upload, "filename", ""):
        stored = files.store(upload, purpose="bid_explanation", rule=EXPLANATION_RULE, actor=actor)
        bid.low_price_file_id = stored.id
    bid.low_price_explanation, bid.low_price_explained_at = explanation, clock.now()
    db.session.flush()
    record("bid.low_price_explained", actor=actor, obj=bid,
           changes={"explanation": [before, explanation], "file_id": [None, bid.low_price_file_id]})


def _panel_or_staff(actor, tender: Tender) -> None:
    member = perms.panel_member(actor, tender) if actor is not None else None
    on_panel = member is not None and member.declared_at is not None and not member.conflicted
    allow(actor, perms.can_manage_tenders(actor) or on_panel)


def accept_low_bid_explanation(actor, bid: Bid) -> None:
    """The panel (or procurement staff for it) accepts the bidder's explanation: the bid may be ranked."""
    _panel_or_staff(actor, bid.tender)
    from .workflow import check_tender

    check_tender("score", bid.tender)
    if not needs_explanation(bid):
        raise DomainError(_("No explanation of this bid's price is awaited."))
    if bid.low_price_explained_at is None:
        raise DomainError(_("The bidder has not explained the price yet."))
    bid.low_price_accepted_at, bid.low_price_accepted_by_id = clock.now(), getattr(actor, "id", None)
    db.session.flush()
    record("bid.low_price_accepted", actor=actor, obj=bid, changes={"low_price_accepted": [None, True]})


def reject_low_bid(actor, bid: Bid, reason: str) -> None:
    """The panel (or procurement staff for it) finds the price not explained: the bid is invalid."""
    _panel_or_staff(actor, bid.tender)
    from .workflow import check_tender

    check_tender("score", bid.tender)
    if not needs_explanation(bid):
        raise DomainError(_("No explanation of this bid's price is awaited."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason the bid is invalid."), "reason")
    reason = _("Abnormally low price not explained (%(source)s): %(reason)s", source=LOW_BID_SOURCE, reason=reason)
    bid.valid, bid.invalid_reason = False, reason
    db.session.flush()
    record("bid.low_price_rejected", actor=actor, obj=bid, changes={"valid": [None, False], "reason": [None, reason]})
