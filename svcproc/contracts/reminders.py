"""What is due soon or overdue, for each person: the reminders page, the menu badge and `svcproc remind`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, defer

from ..core import versions
from ..core.permissions import has_permission
from ..extensions import db
from .models import Contract, ContractStatus, Milestone, MilestoneStatus
from .permissions import can_list_contracts, contract_scope

WINDOW_DAYS = 7
ACTIVE = (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS)
# The statuses of the partial index ix_milestone_open: named in the queries so the index serves them.
OPEN = (MilestoneStatus.PENDING, MilestoneStatus.RETURNED, MilestoneStatus.SUBMITTED)


@dataclass(frozen=True)
class Reminder:
    milestone: Milestone
    kind: str          # "overdue", "due_soon" or "awaiting_review"
    days: int          # days until due (negative when overdue)


def _scope(user) -> sa.Select | None:
    if not can_list_contracts(user):
        return None
    # Of each contract, what a reminder names (its number and title): the whole contract would bring
    # its long texts (service content, quality, settlement…) into the join for every open milestone.
    return (sa.select(Milestone).join(Milestone.contract)
            .options(contains_eager(Milestone.contract).load_only(Contract.id, Contract.number, Contract.title,
                                                                  Contract.organization_id, Contract.status),
                     defer(Milestone.review_comment), defer(Milestone.required_deliverables))
            .where(Contract.status.in_(ACTIVE), contract_scope(user)))


def reminder_query(user, today: date, window: int = WINDOW_DAYS) -> sa.Select | None:
    """The person's reminders as one query, soonest first (None: this person has none)."""
    stmt = _scope(user)
    if stmt is None:
        return None
    horizon = today + timedelta(days=window)
    due = sa.and_(Milestone.status.in_([MilestoneStatus.PENDING, MilestoneStatus.RETURNED]),
                  Milestone.due_date <= horizon)
    # A submitted milestone waits for the bureau: the organization has done its part.
    wanted = sa.or_(due, Milestone.status == MilestoneStatus.SUBMITTED) if _reviews(user) else due
    return stmt.where(Milestone.status.in_(OPEN), wanted).order_by(Milestone.due_date, Milestone.id)


def _reviews(user) -> bool:
    return has_permission(user, "contracts.manage")


def reminder(user, milestone: Milestone, today: date) -> Reminder:
    """What a milestone the query found asks of the person."""
    days = (milestone.due_date - today).days
    if milestone.status == MilestoneStatus.SUBMITTED and _reviews(user):
        kind = "awaiting_review"
    elif days < 0:
        kind = "overdue"
    else:
        kind = "due_soon"
    return Reminder(milestone, kind, days)


def reminders_for(user, today: date, window: int = WINDOW_DAYS) -> list[Reminder]:
    stmt = reminder_query(user, today, window)
    if stmt is None:
        return []
    return [reminder(user, m, today) for m in db.session.execute(stmt).unique().scalars()]


def badge_count(user, today: date, window: int = WINDOW_DAYS) -> int:
    """How many reminders the person has, counted by the database (the menu shows it on every page)."""
    if not can_list_contracts(user):
        return 0
    reviewer = has_permission(user, "contracts.manage")
    horizon = today + timedelta(days=window)
    # Among the open milestones (pending, returned, submitted): due soon, or (for a reviewer) submitted.
    # Written without repeating the statuses, so PostgreSQL estimates the rows well and joins the
    # contracts by hash rather than one lookup per milestone.
    if reviewer:
        counted = sa.or_(Milestone.due_date <= horizon, Milestone.status == MilestoneStatus.SUBMITTED)
    else:
        counted = sa.and_(Milestone.status.in_([MilestoneStatus.PENDING, MilestoneStatus.RETURNED]),
                          Milestone.due_date <= horizon)
    stmt = (sa.select(sa.func.count()).select_from(Milestone).join(Contract, Contract.id == Milestone.contract_id)
            .where(Contract.status.in_(ACTIVE), Milestone.status.in_(OPEN), counted, contract_scope(user)))
    return db.session.execute(stmt).scalar_one()


# The badge changes only with milestones (added, removed, their state or due day) and contracts
# (their state or organization), or with the day: counted once per version of those and kept, for
# everyone who sees the same contracts (core/versions.py).
versions.watch("reminders", Milestone, "status", "due_date", "contract_id")
versions.watch("reminders", Contract, "status", "organization_id")
_kept_badges = versions.Kept("reminders")


def badge(user) -> int:
    """The menu's badge: milestones overdue, due within a week, or waiting for acceptance."""
    from flask import g

    from .workflow import today

    if "reminder_badge" not in g:
        day = today()
        if not can_list_contracts(user):
            g.reminder_badge = 0
        else:
            # Whom the count is for: who reviews, and which contracts they see (all, or one organization's).
            scope = "all" if has_permission(user, "procurement.read") else user.organization_id
            key = (has_permission(user, "contracts.manage"), scope, day)
            g.reminder_badge = _kept_badges.get(key, lambda: badge_count(user, day))
    return g.reminder_badge
