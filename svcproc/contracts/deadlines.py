"""The deadlines after the award, computed from the record: the award notice after the award
decision, the contract's signature after the award notice, the contract notice after signing, and
each payment after a milestone's acceptance. The bureau's reminders (home queues, the reminders
page, `svcproc remind`) and the red flags (monitoring/flags.py) both ask this module.

The moments they count from:
- award decision: `Tender.award_decided_at` (the winner proposed from the ranking);
- award notice (中标/成交结果公告): `Tender.publicity_starts_at` (the result is published and
  the publicity period opens);
- signature: `Contract.signed_on` (the date on the paper);
- contract notice (合同公告): `Contract.notice_published_at` (recording the signature publishes it);
- acceptance: `Milestone.reviewed_at` of an accepted milestone; payment: the `paid_on` of the
  payment that completes its tranche.

Working days are counted by core/workdays.py (the national arrangement and the bureau's local
days); the day a period starts on is not counted, its last day counts to its end.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..core import versions, workdays
from ..core.queues import ROWS, Row, fetch
from ..procurement import permissions as procurement_perms
from ..procurement.models import Tender, TenderStatus
from . import permissions as perms
from .models import Contract, ContractStatus, Milestone, MilestoneStatus

# Where each deadline comes from, as messages and flags cite it.
SOURCES = {
    "award_notice": "《政府采购法实施条例》第四十三条、财政部令第87号第六十九条",
    "signature": "《政府采购法》第四十六条",
    "contract_notice": "《政府采购法实施条例》第五十条",
    "payment": "《保障中小企业款项支付条例》第八条",
}
DEFAULTS = {"award_notice_working_days": 2, "signature_days": 30, "contract_notice_working_days": 2,
            "payment_days": 30, "payment_days_max": 60}
# Contracts on which a payment may be recorded (contracts/workflow.py, CONTRACT "pay").
PAYABLE = (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS, ContractStatus.COMPLETED)


def settings() -> dict:
    return {**DEFAULTS, **(current_app.config.get("PROCUREMENT_DEADLINES") or {})}


def payment_rule() -> str:
    s = settings()
    return _("%(n)d days unless the contract agrees otherwise; %(most)d at most (%(source)s).",
             n=int(s["payment_days"]), most=int(s["payment_days_max"]), source=SOURCES["payment"])


# --- each deadline from its moment ---------------------------------------------------------------


def award_notice_due(decided_at: datetime, calendar: workdays.Calendar | None = None) -> date:
    """The last day the award notice may be published after the award decision."""
    return workdays.add_working_days(workdays.local_date(decided_at), int(settings()["award_notice_working_days"]),
                                     calendar)


def signature_due(notice_at: datetime) -> date:
    """The last day the contract may be signed after the award notice."""
    return workdays.local_date(notice_at) + timedelta(days=int(settings()["signature_days"]))


def contract_notice_due(signed_on: date, calendar: workdays.Calendar | None = None) -> date:
    """The last day the contract notice may be published after signing."""
    return workdays.add_working_days(signed_on, int(settings()["contract_notice_working_days"]), calendar)


def calendar_for(days: list[date], kind: str, until: date | None = None) -> workdays.Calendar | None:
    """One calendar for the working-day deadlines counted from these days, reaching `until` too
    (a count of working days up to then): the local days read once. None: no days."""
    if not days:
        return None
    calendar = workdays.span(min(days), max(days), int(settings()[f"{kind}_working_days"]))
    if until is not None and until > calendar.last:
        calendar = workdays.Calendar(calendar.first, until)
    return calendar


def payment_due(accepted_at: datetime, payment_days: int) -> date:
    """The last day a milestone accepted at `accepted_at` may be paid under the contract's term."""
    return workdays.local_date(accepted_at) + timedelta(days=int(payment_days))


class payment_due_day(FunctionElement):  # noqa: N801  (reads as the SQL expression it renders)
    """payment_due in SQL: the Asia/Shanghai day of a naive-UTC acceptance plus the contract's days."""

    type = sa.Date()
    inherit_cache = True


@compiles(payment_due_day)
def _payment_due_sqlite(element, compiler, **kw):
    accepted, days = list(element.clauses)
    return "date(%s, '+8 hours', '+' || %s || ' days')" % (compiler.process(accepted, **kw),
                                                           compiler.process(days, **kw))


@compiles(payment_due_day, "postgresql")
def _payment_due_postgresql(element, compiler, **kw):
    accepted, days = list(element.clauses)
    return "(CAST((%s + INTERVAL '8 hours') AS DATE) + %s)" % (compiler.process(accepted, **kw),
                                                               compiler.process(days, **kw))


# --- what the bureau has to do by when -------------------------------------------------------------

KIND_LABELS = {
    "award_notice": _l("Award notice to publish"),
    "signature": _l("Contract to sign"),
    "payment": _l("Payment due"),
}
ACTIONS = {
    "award_notice": _l("Start publicity: it publishes the award notice"),
    "signature": _l("Sign, then record the signature within 2 working days: it publishes the contract notice"),
    "payment": _l("Record the payment"),
}


@dataclass
class Due:
    kind: str              # "award_notice", "signature" or "payment"
    label: str             # the record: a number and a title
    url: str
    due: date | None
    source: str

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def action(self):
        return ACTIONS[self.kind]

    def days_left(self, today: date) -> int | None:
        return None if self.due is None else (self.due - today).days

    def row(self) -> Row:
        return Row(label=self.label, url=self.url, action=self.action, due=self.due)


def award_notices_statement() -> sa.Select:
    """Tenders whose award is decided and whose notice is not yet published, the earliest decision first
    (a fixed number of working days after it: the earliest deadline first)."""
    return (sa.select(Tender.id, Tender.number, Tender.title, Tender.award_decided_at)
            .where(Tender.status == TenderStatus.AWARD_PROPOSED, Tender.award_decided_at.is_not(None))
            .order_by(Tender.award_decided_at, Tender.id))


def signatures_statement() -> sa.Select:
    """Awarded tenders whose contract is not yet signed (none drawn up, or a draft), the earliest
    award notice first."""
    return (sa.select(Tender.id, Tender.number, Tender.title, Tender.publicity_starts_at,
                      Contract.id.label("contract_id"), Contract.number.label("contract_number"))
            .outerjoin(Contract, Contract.tender_id == Tender.id)
            .where(Tender.status == TenderStatus.AWARDED,
                   sa.or_(Contract.id.is_(None), Contract.status == ContractStatus.DRAFT))
            # an award without a recorded notice (none made before the notice was kept) last
            .order_by(Tender.publicity_starts_at.is_(None), Tender.publicity_starts_at, Tender.id))


def payments_statement() -> sa.Select:
    """Accepted milestones not yet paid in full, the earliest payment deadline first."""
    due = payment_due_day(Milestone.reviewed_at, Contract.payment_days)
    return (sa.select(Milestone.id, Milestone.title.label("milestone"), Milestone.reviewed_at,
                      Contract.id.label("contract_id"), Contract.number, Contract.title, Contract.payment_days)
            .join(Contract, Contract.id == Milestone.contract_id)
            .where(Milestone.status == MilestoneStatus.ACCEPTED, Milestone.reviewed_at.is_not(None),
                   Contract.status.in_(PAYABLE))
            .order_by(due, Milestone.id))


def _award_notices(rows) -> list[Due]:
    calendar = calendar_for([workdays.local_date(r.award_decided_at) for r in rows], "award_notice")
    return [Due("award_notice", f"{r.number} {r.title}", url_for("procurement.tender", tender_id=r.id),
                award_notice_due(r.award_decided_at, calendar), SOURCES["award_notice"]) for r in rows]


def _signatures(rows) -> list[Due]:
    return [Due("signature", f"{r.contract_number or r.number} {r.title}",
                url_for("contracts.contract", contract_id=r.contract_id) if r.contract_id
                else url_for("contracts.contract_new", tender=r.id),
                signature_due(r.publicity_starts_at) if r.publicity_starts_at else None, SOURCES["signature"])
            for r in rows]


def _payments(rows) -> list[Due]:
    return [Due("payment", f"{r.number} {r.title} · {r.milestone}",
                url_for("contracts.contract", contract_id=r.contract_id) + f"#m{r.id}",
                payment_due(r.reviewed_at, r.payment_days), SOURCES["payment"]) for r in rows]


# Which deadlines a person is reminded of, by what they may do about them.
KINDS = {
    "award_notice": (procurement_perms.can_manage_tenders, award_notices_statement, _award_notices),
    "signature": (perms.can_manage_contracts, signatures_statement, _signatures),
    "payment": (perms.can_record_payments, payments_statement, _payments),
}


def kinds_for(user) -> list[str]:
    return [kind for kind, (may, _stmt, _make) in KINDS.items() if may(user)]


# Which rows each queue holds follows only from tenders (state, decision, notice, number, title),
# contracts (state, tender, number, title, payment term) and milestones (state, acceptance, title,
# contract): the rows are read once per version of those and kept (core/versions.py); the days
# they are due are counted from them at each page.
versions.watch("deadlines", Tender, "status", "award_decided_at", "publicity_starts_at", "number", "title")
versions.watch("deadlines", Contract, "status", "tender_id", "number", "title", "payment_days")
versions.watch("deadlines", Milestone, "status", "reviewed_at", "title", "contract_id")
_kept_rows = versions.Kept("deadlines", size=32)


def due_for(user, kind: str, limit: int = ROWS) -> tuple[list[Due], int]:
    """The first `limit` deadlines of one kind, the earliest first, and how many there are: one
    statement (two for working days: the bureau's local days of their span), none while the rows
    are kept. Nothing for a person who may not act on them."""
    may, statement, make = KINDS[kind]
    if not may(user):
        return [], 0
    rows, total = _kept_rows.get((kind, limit), lambda: fetch(statement(), limit))
    return make(rows), total


def all_due_for(user, limit: int = ROWS) -> dict[str, tuple[list[Due], int]]:
    """Every kind the person acts on: one statement each."""
    return {kind: due_for(user, kind, limit) for kind in kinds_for(user)}


def figures(**values: Any) -> dict:
    """Dates written as ISO days, for the flags' figures."""
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


@dataclass
class ContractDeadlines:
    """The deadlines the contract page shows: its signature (while a draft), its notice, and the
    payment of each accepted milestone."""
    signature_due: date | None
    notice_due: date | None
    notice_published: date | None
    payments_due: dict[int, date]
    payment_source: str = SOURCES["payment"]
    signature_source: str = SOURCES["signature"]
    notice_source: str = SOURCES["contract_notice"]


def of_contract(contract: Contract) -> ContractDeadlines:
    """From the contract as loaded (its tender and milestones); the local days of its signature's
    span are read once when it is signed."""
    notice_at = contract.tender.publicity_starts_at
    return ContractDeadlines(
        signature_due=signature_due(notice_at) if notice_at and contract.signed_on is None else None,
        notice_due=contract_notice_due(contract.signed_on) if contract.signed_on else None,
        notice_published=workdays.local_date(contract.notice_published_at) if contract.notice_published_at else None,
        payments_due={m.id: payment_due(m.reviewed_at, contract.payment_days) for m in contract.milestones
                      if m.status == MilestoneStatus.ACCEPTED and m.reviewed_at})
