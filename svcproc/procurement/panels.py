"""Procurement's boxes on the home page: the bureau's needs, tenders, objections and complaints waiting
for a step, the expert's declarations and scores, and the tenders an organization may bid on."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from ..contracts import deadlines
from ..contracts.models import Contract, ContractStatus
from ..core import clock, nav, versions
from ..core.permissions import Role, has_permission
from ..core.queues import Queue, Row, fetch, fetch_each
from ..extensions import db
from ..registry.models import Organization
from . import permissions as perms
from .models import (Bid, BidDeposit, BidStatus, CommunityNeed, Complaint, ComplaintStatus, NeedStatus, Objection,
                     ObjectionStatus, Tender, TenderExpert, TenderStatus)

S = TenderStatus

# The queues below are read from needs, tenders, their bids, deposits, experts, objections and
# complaints, the contracts signed from them and the bidders' names: each person's boxes are kept
# until one of those changes (core/versions.py), or the clock passes a minute (deadlines) or the
# bureau's calendar changes (the days a deposit is due).
QUEUES = "procurement_queues"
for _model in (CommunityNeed, Tender, Bid, BidDeposit, TenderExpert, Objection, Complaint):
    versions.watch(QUEUES, _model, versions.EVERY_COLUMN)
versions.watch(QUEUES, Contract, "tender_id", "signed_on", "bond_fen", "bond_returned_on", "status",
               "status_changed_at", "number", "title")
versions.watch(QUEUES, Organization, "name")

# What the bureau does next with a tender in each status (the steps on the tender's page).
NEXT_STEP = {
    S.DRAFT: _l("Publish"),
    S.PUBLISHED: _l("Close bidding"),
    S.BIDDING_CLOSED: _l("Open the bids"),
    S.OPENED: _l("Finish scoring"),
    S.SCORED: _l("Propose the award"),
    S.AWARD_PROPOSED: _l("Start publicity"),
    S.IN_PUBLICITY: _l("Confirm the award"),
}


def _tender_row(t) -> Row:
    return Row(label=f"{t.number} {t.title}", url=url_for("procurement.tender", tender_id=t.id),
               action=NEXT_STEP.get(t.status, ""))


def bureau_queues(user) -> dict:
    """Needs to answer, tenders at each step the bureau takes, publicity ending, objections."""
    now = clock.now()
    queues = []
    rows, total = fetch(sa.select(CommunityNeed.id, CommunityNeed.receipt_code, CommunityNeed.description,
                                  CommunityNeed.submitted_at)
                        .where(CommunityNeed.status == NeedStatus.SUBMITTED)
                        .order_by(CommunityNeed.submitted_at, CommunityNeed.id))
    queues.append(Queue("needs", _l("Needs to answer"), total=total, more_url=url_for("procurement.needs", status="submitted"),
                        rows=[Row(label=f"{r.receipt_code} {r.description[:40]}",
                                  url=url_for("procurement.need", need_id=r.id),
                                  since=r.submitted_at) for r in rows]))
    # The four steps' queues in one statement: each tender waits at one step at most, ranked there
    # by what it waits for (a deadline, or since its last step for "finish").
    stages = [
        ("publish", _l("Tenders to publish"), Tender.status == S.DRAFT, Tender.clarification_deadline, "draft"),
        ("open", _l("Tenders to close and open"),
         sa.or_(Tender.status == S.BIDDING_CLOSED, sa.and_(Tender.status == S.PUBLISHED, Tender.bid_deadline <= now)),
         Tender.opening_at, "bidding_closed"),
        # An award decided waits for its notice: the queue below, with the day it is due.
        ("finish", _l("Tenders to finish: scoring and award"),
         Tender.status.in_([S.OPENED, S.SCORED]), Tender.status_changed_at, "opened"),
        ("publicity", _l("Publicity ending"), Tender.status == S.IN_PUBLICITY, Tender.publicity_ends_at,
         "in_publicity"),
    ]
    stage = sa.case(*[(where, key) for key, _heading, where, _due, _status in stages])
    due = sa.case(*[(where, due) for _key, _heading, where, due, _status in stages])
    waiting = fetch_each(sa.select(Tender.id, Tender.number, Tender.title, Tender.status, due.label("due"))
                         .where(Tender.status.in_(list(NEXT_STEP))), stage, (due, Tender.id))
    for key, heading, _where, _due, status in stages:
        rows, total = waiting.get(key, ([], 0))
        dated = key != "finish"  # the others carry a deadline; "finish" waits since its last step
        queues.append(Queue(key, heading, total=total, more_url=url_for("procurement.tenders", status=status),
                            rows=[_with_due(_tender_row(r), r.due if dated else None) for r in rows]))
    notices, total = deadlines.due_for(user, "award_notice")
    queues.append(Queue("award-notice", _l("Award notices to publish"), total=total,
                        more_url=url_for("procurement.tenders", status="award_proposed"),
                        rows=[d.row() for d in notices]))
    # Each objection with the day its answer is due (财政部令第94号 art. 13), the most pressing first;
    # a row past that day shows as overdue.
    rows, total = fetch(sa.select(Objection.id, Objection.answer_due_at, Tender.id.label("tender_id"), Tender.number,
                                  Tender.title)
                        .join(Tender, Tender.id == Objection.tender_id)
                        .where(Objection.status == ObjectionStatus.OPEN)
                        .order_by(Objection.answer_due_at, Objection.id))
    queues.append(Queue("objections", _l("Objections to answer"), total=total,
                        rows=[Row(label=f"{r.number} {r.title}",
                                  url=url_for("procurement.tender", tender_id=r.tender_id, _anchor=f"objection-{r.id}"),
                                  action=_l("Answer the objection"), due=r.answer_due_at) for r in rows]))
    rows, total = fetch(sa.select(Complaint.id, Complaint.filed_at, Tender.id.label("tender_id"), Tender.number,
                                  Tender.title)
                        .join(Tender, Tender.id == Complaint.tender_id)
                        .where(Complaint.status == ComplaintStatus.OPEN)
                        .order_by(Complaint.filed_at, Complaint.id))
    queues.append(Queue("complaints", _l("Complaints before the finance department"), total=total,
                        rows=[Row(label=f"{r.number} {r.title}",
                                  url=url_for("procurement.tender", tender_id=r.tender_id, _anchor=f"complaint-{r.id}"),
                                  action=_l("Record the finance department's decision"), since=r.filed_at)
                              for r in rows]))
    queues.append(_deposits_queue())
    queues.append(_bonds_queue())
    return {"key": "procurement", "heading": _l("Procurement"), "queues": queues}


def _deposits_queue() -> Queue:
    """Bid deposits whose return is due (award notice, the winner's contract signed, or the tender
    ended) and not yet recorded as returned; each with its last day (guarantees.deposit_due)."""
    from . import guarantees

    winner_waits = sa.and_(Bid.id == Tender.awarded_bid_id, Contract.signed_on.is_(None))
    rows, total = fetch(sa.select(BidDeposit.id)
                        .join(Bid, Bid.id == BidDeposit.bid_id).join(Tender, Tender.id == Bid.tender_id)
                        .outerjoin(Contract, Contract.tender_id == Tender.id)
                        .where(BidDeposit.returned_on.is_(None),
                               Tender.status.in_([S.AWARDED, S.CANCELLED, S.FAILED]), sa.not_(winner_waits))
                        # The award (or the end) orders them; a winner's signature comes later still.
                        .order_by(Tender.status_changed_at, BidDeposit.id))
    deposits = db.session.execute(sa.select(BidDeposit).where(BidDeposit.id.in_([r.id for r in rows]))
                                  .options(joinedload(BidDeposit.bid).joinedload(Bid.organization),
                                           joinedload(BidDeposit.bid).joinedload(Bid.tender))).scalars().all()
    shown = []
    for deposit in deposits:
        due, _why = guarantees.deposit_due(deposit)
        shown.append(Row(label=f"{deposit.bid.tender.number} {deposit.bid.organization.name}",
                         url=url_for("procurement.tender", tender_id=deposit.bid.tender_id),
                         action=_l("Return the bid deposit"), due=due))
    shown.sort(key=lambda row: (row.due is None, row.due))
    return Queue("deposits", _l("Bid deposits to return"), total=total, rows=shown)


def _bonds_queue() -> Queue:
    """Performance bonds held on contracts completed (or closed): to be returned."""
    rows, total = fetch(sa.select(Contract.id, Contract.number, Contract.title, Contract.status_changed_at)
                        .where(Contract.bond_fen.is_not(None), Contract.bond_returned_on.is_(None),
                               Contract.status.in_([ContractStatus.COMPLETED, ContractStatus.CLOSED]))
                        .order_by(Contract.status_changed_at, Contract.id))
    return Queue("bonds", _l("Performance bonds to return"), total=total,
                 rows=[Row(label=f"{r.number} {r.title}", url=url_for("contracts.contract", contract_id=r.id),
                           action=_l("Return the performance bond"), since=r.status_changed_at) for r in rows])


def _with_due(row: Row, due) -> Row:
    row.due = due
    return row


def expert_queues(user) -> dict:
    """Tenders on whose panel the expert sits that wait for their declaration or their scores."""
    base = (sa.select(Tender.id, Tender.number, Tender.title, Tender.opened_at)
            .join(TenderExpert, TenderExpert.tender_id == Tender.id)
            .where(TenderExpert.user_id == user.id, Tender.status == S.OPENED)
            .order_by(Tender.opened_at, Tender.id))
    declare, declare_total = fetch(base.where(TenderExpert.declared_at.is_(None)))
    score, score_total = fetch(base.where(TenderExpert.declared_at.is_not(None), TenderExpert.conflicted.is_(False),
                                          TenderExpert.submitted_at.is_(None)))
    return {"key": "expert", "heading": _l("Tender evaluation"), "queues": [
        Queue("declare", _l("Tenders to declare on"), total=declare_total,
              rows=[Row(label=f"{r.number} {r.title}", url=url_for("procurement.declare", tender_id=r.id),
                        action=_l("Declare any conflict of interest"), since=r.opened_at) for r in declare]),
        Queue("score", _l("Tenders to score"), total=score_total,
              rows=[Row(label=f"{r.number} {r.title}", url=url_for("procurement.score", tender_id=r.id),
                        action=_l("Score the bids"), since=r.opened_at) for r in score]),
    ]}


def bidder_queues(user) -> dict:
    """Tenders open for bids now, with the organization's own bid where it has one."""
    now = clock.now()
    rows, total = fetch(
        sa.select(Tender.id, Tender.number, Tender.title, Tender.bid_deadline, Bid.id.label("bid_id"))
        .outerjoin(Bid, sa.and_(Bid.tender_id == Tender.id, Bid.organization_id == user.organization_id,
                                Bid.status == BidStatus.SUBMITTED))
        .where(Tender.status == S.PUBLISHED, Tender.bid_deadline > now)
        .order_by(Tender.bid_deadline, Tender.id))
    return {"key": "bids", "heading": _l("Tenders"), "queues": [
        _prices_to_explain(user),
        Queue("tenders-open", _l("Tenders open for bids"), total=total,
              more_url=url_for("procurement.tenders", status="published"),
              rows=[Row(label=f"{r.number} {r.title}", due=r.bid_deadline,
                        url=(url_for("procurement.bid_receipt", bid_id=r.bid_id) if r.bid_id
                             else url_for("procurement.bid_form", tender_id=r.id)),
                        action=_l("Your bid is in") if r.bid_id else _l("Submit a bid")) for r in rows]),
    ]}


def _prices_to_explain(user) -> Queue:
    """The organization's bids found abnormally low at an opening and not yet explained in writing."""
    from . import guarantees

    tenders = db.session.execute(
        sa.select(Tender).join(Bid, Bid.tender_id == Tender.id)
        .where(Tender.status == S.OPENED, Bid.organization_id == user.organization_id,
               Bid.status == BidStatus.SUBMITTED, Bid.low_price_explained_at.is_(None))
        .options(selectinload(Tender.bids)).order_by(Tender.opened_at, Tender.id)).scalars().all()
    rows = []
    for tender in tenders:
        scorable = [b for b in tender.bids if b.status == BidStatus.SUBMITTED and b.digest_verified
                    and b.valid is not False]
        for bid in guarantees.awaiting_explanation(scorable):
            if bid.organization_id == user.organization_id and bid.low_price_explained_at is None:
                rows.append(Row(label=f"{tender.number} {tender.title}",
                                url=url_for("procurement.tender", tender_id=tender.id),
                                action=_l("Explain your price"), since=tender.opened_at))
    return Queue("prices-to-explain", _l("Prices to explain"), total=len(rows), rows=rows[:5])


def _is_expert(user) -> bool:
    return user.role == Role.EXPERT and has_permission(user, "tenders.score")


nav.panel("procurement", "procurement/_panel_queue.html", order=10, visible=perms.can_manage_tenders,
          context=bureau_queues, kept=(QUEUES, "deadlines", "calendar"), clock="minute")
nav.panel("expert", "procurement/_panel_queue.html", order=11, visible=_is_expert, context=expert_queues,
          kept=(QUEUES,))
nav.panel("bids", "procurement/_panel_queue.html", order=25, visible=lambda user: perms.can_bid(user),
          context=bidder_queues, kept=(QUEUES,), clock="minute")
