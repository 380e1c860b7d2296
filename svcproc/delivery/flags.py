"""Red flags an auditor looks for, found by queries over the service logs.

Findings carry a stable key, so a flag explained once stays explained when the logs are
re-examined; a finding that disappears (the entry was corrected) is kept but marked inactive.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from ..audit.services import record
from ..contracts.models import Contract
from ..core import clock
from ..core.errors import ValidationError
from ..core.permissions import is_system, require
from ..extensions import db
from . import permissions as perms
from .models import (Beneficiary, RedFlag, RedFlagKind, ServiceActivity, activity_participant, activity_worker)

MAX_HOURS_PER_DAY = Decimal(12)


def _findings(contract_ids: list[int], activity_ids: list[int] | None = None) -> dict[str, dict]:
    """key -> {kind, contract_id, activity_ids, detail} for everything wrong in these contracts
    (or, with activity_ids, everything that involves those entries)."""
    found: dict[str, dict] = {}
    A1, A2 = aliased(ServiceActivity), aliased(ServiceActivity)
    W1, W2 = activity_worker.alias("w1"), activity_worker.alias("w2")
    today = clock.to_local(clock.now()).date()
    if activity_ids:
        in_scope = sa.or_(A1.id.in_(activity_ids), A2.id.in_(activity_ids))
    else:
        in_scope = sa.or_(A1.contract_id.in_(contract_ids), A2.contract_id.in_(contract_ids))

    # One social worker in two activities at overlapping times: pairs on the same day first, then
    # the shared worker, so the search grows with a day's entries rather than a worker's history.
    rows = db.session.execute(
        sa.select(W1.c.social_worker_id, A1.id, A2.id, A1.contract_id, A1.activity_date)
        .select_from(A1)
        .join(A2, sa.and_(A2.activity_date == A1.activity_date, A1.id < A2.id, A1.start_time < A2.end_time,
                          A2.start_time < A1.end_time))
        .join(W1, W1.c.activity_id == A1.id)
        .join(W2, sa.and_(W2.c.activity_id == A2.id, W2.c.social_worker_id == W1.c.social_worker_id))
        .where(A1.fingerprint != A2.fingerprint, in_scope))
    for worker_id, a1, a2, contract_id, day in rows:
        found[f"overlap:{worker_id}:{a1}:{a2}"] = dict(
            kind=RedFlagKind.WORKER_OVERLAP, contract_id=contract_id, activity_ids=[a1, a2],
            detail={"worker_id": worker_id, "date": day.isoformat()})

    # More than 12 service hours by one worker in a day, whichever contracts the hours were for: the
    # days these contracts' workers served, then all of those workers' entries of those days.
    worker_day = sa.tuple_(activity_worker.c.social_worker_id, ServiceActivity.activity_date)
    days = (sa.select(activity_worker.c.social_worker_id, ServiceActivity.activity_date)
            .join(ServiceActivity, ServiceActivity.id == activity_worker.c.activity_id)
            .where(ServiceActivity.contract_id.in_(contract_ids)).distinct())
    rows = db.session.execute(
        sa.select(activity_worker.c.social_worker_id, ServiceActivity.activity_date,
                  sa.func.sum(ServiceActivity.hours))
        .join(ServiceActivity, ServiceActivity.id == activity_worker.c.activity_id)
        .where(worker_day.in_(days))
        .group_by(activity_worker.c.social_worker_id, ServiceActivity.activity_date)
        .having(sa.func.sum(ServiceActivity.hours) > MAX_HOURS_PER_DAY))
    over = list(rows)
    if over:
        ids, contracts = defaultdict(list), defaultdict(set)
        for worker_id, day, activity_id, contract_id in db.session.execute(
                sa.select(activity_worker.c.social_worker_id, ServiceActivity.activity_date, ServiceActivity.id,
                          ServiceActivity.contract_id)
                .join(ServiceActivity, ServiceActivity.id == activity_worker.c.activity_id)
                .where(worker_day.in_([(w, d) for w, d, _h in over]))):
            ids[(worker_id, day)].append(activity_id)
            contracts[(worker_id, day)].add(contract_id)
        for worker_id, day, hours in over:
            # Filed under one of the contracts examined, so re-examining that contract can clear it.
            contract_id = min(contracts[(worker_id, day)] & set(contract_ids) or contracts[(worker_id, day)])
            found[f"hours:{worker_id}:{day.isoformat()}"] = dict(
                kind=RedFlagKind.WORKER_HOURS, contract_id=contract_id, activity_ids=sorted(ids[(worker_id, day)]),
                detail={"worker_id": worker_id, "date": day.isoformat(), "hours": str(hours)})

    # Outside the contract period, or in the future.
    rows = db.session.execute(
        sa.select(ServiceActivity.id, ServiceActivity.contract_id, ServiceActivity.activity_date)
        .join(Contract, Contract.id == ServiceActivity.contract_id)
        .where(ServiceActivity.contract_id.in_(contract_ids),
               sa.or_(ServiceActivity.activity_date < Contract.start_date,
                      ServiceActivity.activity_date > Contract.end_date, ServiceActivity.activity_date > today)))
    for activity_id, contract_id, day in rows:
        found[f"period:{activity_id}"] = dict(kind=RedFlagKind.OUTSIDE_PERIOD, contract_id=contract_id,
                                              activity_ids=[activity_id], detail={"date": day.isoformat()})

    # The same entry twice.
    rows = db.session.execute(
        sa.select(ServiceActivity.contract_id, ServiceActivity.fingerprint,
                  sa.func.min(ServiceActivity.id), sa.func.max(ServiceActivity.id), sa.func.count())
        .where(ServiceActivity.contract_id.in_(contract_ids))
        .group_by(ServiceActivity.contract_id, ServiceActivity.fingerprint).having(sa.func.count() > 1))
    for contract_id, fp, first, last, count in rows:
        found[f"dup:{contract_id}:{fp[:40]}"] = dict(kind=RedFlagKind.DUPLICATE, contract_id=contract_id,
                                                     activity_ids=[first, last], detail={"count": count})

    # The same person (by keyed hash) counted by two contracts for the same service in overlapping
    # periods. First the few people who appear under more than one contract at all, then their entries.
    P1, P2 = activity_participant.alias("p1"), activity_participant.alias("p2")
    B1, B2 = aliased(Beneficiary), aliased(Beneficiary)
    C1, C2 = aliased(Contract), aliased(Contract)
    P, B, A = activity_participant.alias("p"), aliased(Beneficiary), aliased(ServiceActivity)
    touched = (sa.select(B.id_match_key).select_from(P).join(B, B.id == P.c.beneficiary_id)
               .join(A, A.id == P.c.activity_id).where(A.contract_id.in_(contract_ids), B.id_match_key.is_not(None)))
    shared = list(db.session.execute(
        sa.select(B.id_match_key).select_from(P).join(B, B.id == P.c.beneficiary_id)
        .join(A, A.id == P.c.activity_id).where(B.id_match_key.in_(touched.distinct()))
        .group_by(B.id_match_key).having(sa.func.count(sa.distinct(A.contract_id)) > 1)).scalars())
    rows = [] if not shared else db.session.execute(
        sa.select(A1.contract_id, A2.contract_id, A1.type, sa.func.min(A1.id), sa.func.min(A2.id), B1.id, B2.id)
        .select_from(P1)
        .join(B1, B1.id == P1.c.beneficiary_id).join(B2, B2.id_match_key == B1.id_match_key)
        .join(P2, P2.c.beneficiary_id == B2.id)
        .join(A1, A1.id == P1.c.activity_id).join(A2, A2.id == P2.c.activity_id)
        .join(C1, C1.id == A1.contract_id).join(C2, C2.id == A2.contract_id)
        .where(B1.id_match_key.in_(shared), A1.contract_id < A2.contract_id, A1.type == A2.type,
               C1.start_date <= C2.end_date, C2.start_date <= C1.end_date, in_scope)
        .group_by(A1.contract_id, A2.contract_id, A1.type, B1.id, B2.id))
    for c1, c2, type_, a1, a2, b1, b2 in rows:
        type_value = type_.value if hasattr(type_, "value") else type_
        found[f"double:{c1}:{c2}:{type_value}:{b1}:{b2}"] = dict(
            kind=RedFlagKind.DOUBLE_COUNTED, contract_id=c1, activity_ids=[a1, a2],
            detail={"other_contract_id": c2, "type": type_value, "beneficiary_ids": [b1, b2]})
    return found


def refresh_flags(contract_ids: list[int], activity_ids: list[int] | None = None) -> None:
    """Re-examine these contracts' logs (or only what involves the given entries); keep
    explanations; mark findings that have gone away inactive."""
    contract_ids = sorted(set(contract_ids))
    if not contract_ids:
        return
    db.session.flush()
    found = _findings(contract_ids, activity_ids)
    wanted = set(activity_ids or [])
    known = [RedFlag.contract_id.in_(contract_ids), RedFlag.key.in_(list(found) or [""])]
    if wanted and len(wanted) <= 100:
        # Active findings naming a corrected entry, whichever contract they are filed under (a text
        # match on the stored list, sifted exactly below).
        listed = sa.cast(RedFlag.activity_ids, sa.String)
        known.append(sa.and_(RedFlag.active.is_(True), sa.or_(*[listed.like(f"%{i}%") for i in sorted(wanted)])))
    existing = {f.key: f for f in db.session.execute(sa.select(RedFlag).where(sa.or_(*known))).unique().scalars()}
    if activity_ids:
        existing = {k: f for k, f in existing.items() if k in found or wanted & set(f.activity_ids or [])}
    now = clock.now()
    for key, data in found.items():
        flag = existing.get(key)
        if flag is None:
            db.session.add(RedFlag(key=key, found_at=now, active=True, **data))
        else:
            flag.active = True
            flag.activity_ids, flag.detail = data["activity_ids"], data["detail"]
    for key, flag in existing.items():
        # A finding involving a corrected entry may be filed under another contract (hours over two).
        if key not in found and (flag.contract_id in contract_ids or wanted & set(flag.activity_ids or [])):
            flag.active = False
    db.session.flush()


def explain_flag(actor, flag: RedFlag, note: str) -> None:
    if not is_system(actor):
        require(perms.can_explain_flag(actor, flag))
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Write the explanation."), "note")
    before = flag.explanation or None
    flag.explanation, flag.explained_at, flag.explained_by_id = note, clock.now(), getattr(actor, "id", None)
    db.session.flush()
    record("red_flag.explained", actor=actor, obj=flag, changes={"explanation": [before, note]})
