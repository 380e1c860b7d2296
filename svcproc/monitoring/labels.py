"""Translatable names of the procurement red flags, the rule each applies (with its source), the
figures that raised one in words, and the states of a monitoring case."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.formatting import money
from .models import FlagKind as K
from .models import MonitoringStatus as S

FLAG_LABELS = {
    K.SINGLE_VALID_BID: _l("A single valid bid"),
    K.SHORT_BIDDING_PERIOD: _l("Bidding period short of the minimum"),
    K.AWARD_NEAR_CEILING: _l("Award close to the ceiling price"),
    K.IDENTICAL_PRICES: _l("Identical bid prices"),
    K.PRICES_PERCENT_APART: _l("Bids an exact percentage apart"),
    K.OTHERS_ALL_INVALID: _l("Every bid but the winner's ruled invalid"),
    K.LOWEST_INVALID: _l("The lowest bid ruled invalid"),
    K.REPEATED_SINGLE_SOURCE: _l("Repeated single-source awards"),
    K.LARGE_AWARD_SHARE: _l("A large share of the year's awards"),
    K.MANY_CATEGORIES: _l("Awards across many service categories"),
    K.SHARED_CONTACT: _l("Bidders sharing contact details"),
    K.LATE_AWARD_NOTICE: _l("Award notice published late"),
    K.LATE_SIGNATURE: _l("Contract signed late"),
    K.LATE_CONTRACT_NOTICE: _l("Contract notice published late"),
    K.SERVICE_BEFORE_SIGNATURE: _l("Services logged before signature"),
    K.UNPAID_MILESTONE: _l("Accepted milestone paid late or unpaid"),
    K.EARLY_AMENDMENT: _l("Amendment right after signing"),
    K.AMENDMENT_NEAR_CAP: _l("Amendments near the cap on added amounts"),
}

FLAG_RULES = {
    K.SINGLE_VALID_BID: _l("Competition needs several valid bids; a tender with one fails (Government Procurement "
                           "Law, art. 36)."),
    K.SHORT_BIDDING_PERIOD: _l("Documents issued to bid deadline: at least 20 days for a public tender (Government "
                               "Procurement Law, art. 35), 10 days for a consultation (Caiku [2014] No. 214), "
                               "3 working days for a negotiation or inquiry (MOF Order No. 74)."),
    K.AWARD_NEAR_CEILING: _l("An award at or above the set share of the ceiling price suggests the price was known "
                             "or not competed."),
    K.IDENTICAL_PRICES: _l("Independent bidders rarely quote the same price: a sign of collusion (Regulations "
                           "on the Implementation of the Government Procurement Law, art. 74)."),
    K.PRICES_PERCENT_APART: _l("Bids a whole percentage apart suggest prices worked out from one another "
                               "(Regulations on the Implementation of the Government Procurement Law, art. 74)."),
    K.OTHERS_ALL_INVALID: _l("When every competitor is ruled invalid the award went without competition: check the "
                             "reasons."),
    K.LOWEST_INVALID: _l("Ruling the lowest bid invalid raises the price paid: check the reason."),
    K.REPEATED_SINGLE_SOURCE: _l("Single source is the exception (Government Procurement Law, art. 31): repeated "
                                 "awards to one organization in a year need their reasons checked."),
    K.LARGE_AWARD_SHARE: _l("One organization winning a large share of a year's award amounts."),
    K.MANY_CATEGORIES: _l("One organization winning in many service categories in a year."),
    K.SHARED_CONTACT: _l("Bidders sharing an address, phone, e-mail or contact person may not be independent "
                         "(Regulations on the Implementation of the Government Procurement Law, art. 74)."),
    K.LATE_AWARD_NOTICE: _l("The award notice is published within 2 working days of the award decision "
                            "(Regulations on the Implementation of the Government Procurement Law, art. 43; MOF Order "
                            "No. 87, art. 69)."),
    K.LATE_SIGNATURE: _l("The contract is signed within 30 days of the award notice (Government Procurement Law, "
                         "art. 46)."),
    K.LATE_CONTRACT_NOTICE: _l("The contract notice is published within 2 working days of signing (Regulations on "
                               "the Implementation of the Government Procurement Law, art. 50)."),
    K.SERVICE_BEFORE_SIGNATURE: _l("Services logged before the contract was signed."),
    K.UNPAID_MILESTONE: _l("Payment within 30 days of acceptance, or the days the contract agrees, 60 at most "
                           "(Regulations on Ensuring Payments to Small and Medium-sized Enterprises, art. 8)."),
    K.EARLY_AMENDMENT: _l("An amendment right after signing may change what was competed for."),
    K.AMENDMENT_NEAR_CAP: _l("Added amounts may not exceed a tenth of the original amount (Government Procurement "
                             "Law, art. 49)."),
}

CASE_STATUS_LABELS = {
    S.OPEN: _l("Open"),
    S.AWAITING_ANSWER: _l("Awaiting the bureau's answer"),
    S.ANSWERED: _l("Answered"),
    S.CONCLUDED: _l("Concluded"),
}


def _bids(bids) -> str:
    return "; ".join(f"{b['organization']} {money(b['price_fen'])} ({b['reason'] or '—'})" for b in bids)


def _milestone_payment(m: dict, limit) -> str:
    if m.get("paid"):
        return _("%(title)s accepted %(day)s, paid %(paid)s: %(n)d days (limit %(l)d, due by %(due)s; %(amount)s)",
                 title=m["title"], day=m["accepted"], paid=m["paid"], n=m["days"], l=limit, due=m["due"],
                 amount=money(m["tranche_fen"]))
    if m.get("due"):
        return _("%(title)s accepted %(day)s, unpaid for %(n)d days (limit %(l)d, due by %(due)s; %(amount)s)",
                 title=m["title"], day=m["accepted"], n=m["days"], l=limit, due=m["due"],
                 amount=money(m["tranche_fen"]))
    return _("%(title)s accepted %(day)s, unpaid for %(n)d days (%(amount)s)", title=m["title"],
             day=m["accepted"], n=m["days"], amount=money(m["tranche_fen"]))


def figures_text(kind: K, figures: dict) -> str:
    """The figures that raised a flag, in a sentence (their values are the record's)."""
    f = figures or {}
    if kind == K.SINGLE_VALID_BID:
        return _("%(valid)d valid bid of %(bids)d.", valid=f["valid"], bids=f["bids"])
    if kind == K.SHORT_BIDDING_PERIOD:
        if f.get("working_days"):
            return _("Published %(p)s, deadline %(d)s: %(n)d working days, at least %(m)d required.",
                     p=f["published"], d=f["deadline"], n=f["days"], m=f["minimum"])
        return _("Published %(p)s, deadline %(d)s: %(n)d days, at least %(m)d required.",
                 p=f["published"], d=f["deadline"], n=f["days"], m=f["minimum"])
    if kind == K.AWARD_NEAR_CEILING:
        return _("Awarded at %(price)s of a %(ceiling)s ceiling: %(pct)s %% (threshold %(t)d %%).",
                 price=money(f["price_fen"]), ceiling=money(f["ceiling_fen"]), pct=f["percent"], t=f["threshold"])
    if kind == K.IDENTICAL_PRICES:
        return "; ".join(_("%(n)d bids at %(price)s", n=p["bids"], price=money(p["price_fen"])) for p in f["prices"])
    if kind == K.PRICES_PERCENT_APART:
        return "; ".join(_("%(high)s is %(pct)d %% above %(low)s", high=money(p["high_fen"]), low=money(p["low_fen"]),
                           pct=p["percent"]) for p in f["pairs"])
    if kind == K.OTHERS_ALL_INVALID:
        return _("%(invalid)d of the %(others)d other bids ruled invalid.", invalid=f["invalid"], others=f["others"])
    if kind == K.LOWEST_INVALID:
        return _("Lowest bid ruled invalid: %(bids)s.", bids=_bids(f["bids"]))
    if kind == K.REPEATED_SINGLE_SOURCE:
        return _("%(org)s: %(n)d single-source awards in the year (threshold %(t)d).", org=f["organization"],
                 n=f["single_source"], t=f["threshold"])
    if kind == K.LARGE_AWARD_SHARE:
        return _("%(org)s won %(amount)s of %(total)s (%(pct)s %%, threshold %(t)d %%): %(n)d of %(all)d awards.",
                 org=f["organization"], amount=money(f["amount_fen"]), total=money(f["year_amount_fen"]),
                 pct=f["percent"], t=f["threshold"], n=f["awards"], all=f["year_awards"])
    if kind == K.MANY_CATEGORIES:
        return _("%(org)s won in %(n)d service categories (threshold %(t)d).", org=f["organization"],
                 n=f["categories"], t=f["threshold"])
    if kind == K.SHARED_CONTACT:
        names = {"address": _("address"), "contact_phone": _("phone"), "contact_email": _("e-mail"),
                 "contact_name": _("contact person")}
        return "; ".join(_("%(a)s and %(b)s share %(what)s", a=p["organizations"][0], b=p["organizations"][1],
                           what=", ".join(f"{names[k]} {v}" for k, v in p["shared"].items())) for p in f["pairs"])
    if kind == K.LATE_AWARD_NOTICE:
        if f.get("published"):
            return _("Award decided %(d)s, notice published %(p)s: %(n)d working days (limit %(l)d, due by %(due)s).",
                     d=f["decided"], p=f["published"], n=f["working_days"], l=f["limit"], due=f["due"])
        return _("Award decided %(d)s, notice not published after %(n)d working days (limit %(l)d, due by %(due)s).",
                 d=f["decided"], n=f["working_days"], l=f["limit"], due=f["due"])
    if kind == K.LATE_SIGNATURE:
        # Flags found before the count started at the award notice name the award instead.
        if "noticed" not in f:
            if f.get("signed"):
                return _("Awarded %(a)s, signed %(s)s: %(n)d days (limit %(l)d).", a=f["awarded"], s=f["signed"],
                         n=f["days"], l=f["limit"])
            return _("Awarded %(a)s, not signed after %(n)d days (limit %(l)d).", a=f["awarded"], n=f["days"],
                     l=f["limit"])
        if f.get("signed"):
            return _("Award notice %(a)s, signed %(s)s: %(n)d days (limit %(l)d, due by %(due)s).", a=f["noticed"],
                     s=f["signed"], n=f["days"], l=f["limit"], due=f["due"])
        return _("Award notice %(a)s, not signed after %(n)d days (limit %(l)d, due by %(due)s).", a=f["noticed"],
                 n=f["days"], l=f["limit"], due=f["due"])
    if kind == K.LATE_CONTRACT_NOTICE:
        return _("Signed %(s)s, notice published %(p)s: %(n)d working days (limit %(l)d, due by %(due)s).",
                 s=f["signed"], p=f["published"], n=f["working_days"], l=f["limit"], due=f["due"])
    if kind == K.SERVICE_BEFORE_SIGNATURE:
        return _("%(n)d entries before signature, the first on %(first)s; signed %(s)s.", n=f["entries"],
                 first=f["first"], s=f["signed"] or _("not yet"))
    if kind == K.UNPAID_MILESTONE:
        return "; ".join(_milestone_payment(m, f.get("limit")) for m in f["milestones"])
    if kind == K.EARLY_AMENDMENT:
        return _("Signed %(s)s, amended %(a)s: %(n)d days later (within %(l)d).", s=f["signed"], a=f["amended"],
                 n=f["days"], l=f["limit"])
    if kind == K.AMENDMENT_NEAR_CAP:
        return _("%(added)s added to %(original)s: %(pct)s %% (near at %(near)d %%, cap %(cap)d %%).",
                 added=money(f["added_fen"]), original=money(f["original_fen"]), pct=f["percent"], near=f["near"],
                 cap=f["cap"])
    return ""
