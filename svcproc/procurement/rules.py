"""The rules of law a tender is held to, by procurement method, each answered with its source.

The figures come from the settings (config.py) where a locality may differ; the messages name the
rule's source so a refusal can be checked against the text of the law.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _

from ..core import workdays
from .models import TenderMethod

def format_date(value) -> str:
    return (workdays.local_date(value) if isinstance(value, datetime) else value).isoformat()


# Where each rule comes from, as the messages cite it.
BIDDING_PERIOD_SOURCES = {
    TenderMethod.PUBLIC_TENDER: "《政府采购法》第三十五条",
    TenderMethod.COMPETITIVE_CONSULTATION: "财库〔2014〕214号",
    TenderMethod.COMPETITIVE_NEGOTIATION: "财政部令第74号",
    TenderMethod.INQUIRY: "财政部令第74号",
}
PANEL_SOURCES = {
    TenderMethod.PUBLIC_TENDER: "财政部令第87号第四十七条",
    TenderMethod.COMPETITIVE_CONSULTATION: "财库〔2014〕214号",
    TenderMethod.COMPETITIVE_NEGOTIATION: "财政部令第74号",
    TenderMethod.INQUIRY: "财政部令第74号",
}
PUBLICITY_SOURCE = "《政府采购法实施条例》第四十三条"
LOWEST_PRICE_SOURCE = "财政部令第74号"
# Inquiry and negotiation award the lowest price among the compliant responses; technical points
# only decide whether a response complies, never the order.
LOWEST_PRICE_METHODS = frozenset({TenderMethod.INQUIRY, TenderMethod.COMPETITIVE_NEGOTIATION})


def min_bidding_period(method: TenderMethod) -> tuple[int, bool] | None:
    """(days, counted in working days) from the documents' issue to the bid deadline; None: no minimum."""
    value = current_app.config["PROCUREMENT_MIN_BIDDING_DAYS"].get(TenderMethod(method).value)
    if value is None:
        return None
    days, unit = value
    return int(days), unit == "working_days"


def earliest_bid_deadline(method: TenderMethod, issued_on: date) -> date | None:
    """The first local date the bid deadline may fall on when the documents are issued on `issued_on`
    (the day of issue is not counted)."""
    period = min_bidding_period(method)
    if period is None:
        return None
    days, working = period
    if working:
        return workdays.add_working_days(issued_on, days)
    return date.fromordinal(issued_on.toordinal() + days)


def bidding_period_problem(method: TenderMethod, issued: datetime, deadline: datetime) -> str | None:
    """Why a bid deadline is too close to the documents' issue, or None."""
    method = TenderMethod(method)
    earliest = earliest_bid_deadline(method, workdays.local_date(issued))
    if earliest is None or workdays.local_date(deadline) >= earliest:
        return None
    days, working = min_bidding_period(method)
    source = BIDDING_PERIOD_SOURCES.get(method, "")
    if working:
        return _("From the issue of the documents to the response deadline there must be at least %(n)d working "
                 "days (%(source)s): documents issued on %(issued)s allow a deadline on %(earliest)s or later.",
                 n=days, source=source, issued=format_date(issued), earliest=format_date(earliest))
    return _("From the issue of the documents to the bid deadline there must be at least %(n)d days (%(source)s): "
             "documents issued on %(issued)s allow a deadline on %(earliest)s or later.",
             n=days, source=source, issued=format_date(issued), earliest=format_date(earliest))


def panel_minimum(method: TenderMethod, budget_fen: int) -> int:
    config = current_app.config
    needed = int(config["MIN_EXPERTS"][TenderMethod(method).value])
    if TenderMethod(method) == TenderMethod.PUBLIC_TENDER and budget_fen >= int(config["LARGE_TENDER_FEN"]):
        needed = max(needed, int(config["LARGE_TENDER_MIN_EXPERTS"]))
    return needed


def panel_problem(method: TenderMethod, budget_fen: int, size: int) -> str | None:
    """Why a panel of `size` experts (without a conflict) cannot evaluate this tender, or None."""
    method = TenderMethod(method)
    needed = panel_minimum(method, budget_fen)
    if method == TenderMethod.SINGLE_SOURCE:
        if size < needed:
            return _("At least %(n)d expert must take part; the panel has %(m)d.", n=needed, m=size)
        return None
    if size >= needed and size % 2 == 1:
        return None
    return _("The evaluation panel must have an odd number of experts, at least %(n)d, for this tender "
             "(%(source)s); it has %(m)d.", n=needed, m=size, source=PANEL_SOURCES.get(method, ""))


def publicity_problem(days: int) -> str | None:
    minimum = int(current_app.config["MIN_PUBLICITY_WORKING_DAYS"])
    if days < minimum or days > 30:
        return _("The publicity period is %(lo)d to 30 working days (%(source)s).", lo=minimum,
                 source=PUBLICITY_SOURCE)
    return None


def lowest_price_wins(method: TenderMethod) -> bool:
    return TenderMethod(method) in LOWEST_PRICE_METHODS
