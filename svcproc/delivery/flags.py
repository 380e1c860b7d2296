"""Red flags an auditor looks for, found by queries over the service logs.

Findings carry a stable key, so a flag explained once stays explained when the logs are
re-examined; a finding that disappears (the entry was corrected) is kept but marked inactive.

A write re-examines only what it touches, whatever the size of the district: the days of the
entry's workers (overlaps, hours per day), its copies (duplicates), its date (outside the period)
and its people in other contracts (counted twice), as the entry was before and as it is now. Every
query starts from those rows through an index. Re-examining a whole contract (after an import, or
when its term changes) works the same way from all of the contract's entries.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from itertools import combinations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from ..audit.services import record
from ..contracts.models import Contract
from ..core import clock, versions
from ..core.errors import ValidationError
from ..core.permissions import is_system, require
from ..extensions import db
from . import permissions as perms
from .models import (ActivityType, Beneficiary, RedFlag, RedFlagKind, ServiceActivity, activity_participant,
                     activity_worker, red_flag_contract)

MAX_HOURS_PER_DAY = Decimal(12)
# A key list longer than this is looked up in pieces (SQLite's limit on bound parameters).
IN_CHUNK = 5000


@dataclass(frozen=True)
class EntryState:
    """What the checks need of one entry, as it is or as it was before a change or deletion."""
    id: int
    contract_id: int
    day: date
    start: time
    end: time
    type: str
    fingerprint: str
    workers: tuple[int, ...]
    people: tuple[int, ...]


def state_of(activity: ServiceActivity, workers=None, people=None) -> EntryState:
    """The entry as it stands in the session (workers and participants as assigned), or with these
    workers and people (ids) when the caller has them."""
    if workers is None:
        workers = [w.id for w in activity.workers]
    if people is None:
        people = [p.id for p in activity.participants]
    return EntryState(activity.id, activity.contract_id, activity.activity_date, activity.start_time,
                      activity.end_time, getattr(activity.type, "value", activity.type), activity.fingerprint,
                      tuple(sorted(workers)), tuple(sorted(people)))


def _value(type_) -> str:
    return getattr(type_, "value", type_)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class _Examination:
    """The findings within a set of subjects, and every key those subjects could carry."""

    def __init__(self, contract_ids: set[int]):
        self.contract_ids = contract_ids     # contracts re-examined (or the touched entries' contracts)
        self.found: dict[str, dict] = {}
        self.candidates: set[str] = set()
        self.day_contracts: dict[str, set[int]] = {}   # hours flags: the contracts of that day's entries

    # One worker's entries of one day: overlapping pairs and the day's hours.
    def worker_days(self, entries: dict[tuple[int, date], dict[int, tuple]], extra_ids: dict,
                    only_touching: bool = False) -> None:
        """`extra_ids`: the entries touched on each worker-day. `only_touching`: the findings stood
        before one entry's write, so only the pairs with a touched entry can change (a pair of two
        other entries keeps its times): the others are neither candidates nor examined, and a busy
        worker's day costs as many pairs as it has entries, not their square."""
        for (worker, day), rows in entries.items():
            touched = extra_ids.get((worker, day), set())
            ids = sorted(set(rows) | touched)
            if only_touching:
                pairs = sorted({(min(t, other), max(t, other)) for t in touched for other in ids if other != t})
            else:
                pairs = list(combinations(ids, 2))
            for a1, a2 in pairs:
                self.candidates.add(f"overlap:{worker}:{a1}:{a2}")
            self.candidates.add(f"hours:{worker}:{day.isoformat()}")
            for a1, a2 in pairs:
                if a1 not in rows or a2 not in rows:
                    continue
                r1, r2 = rows[a1], rows[a2]
                _c1, s1, e1, fp1, _h1 = r1
                _c2, s2, e2, fp2, _h2 = r2
                if fp1 != fp2 and s1 < e2 and s2 < e1:
                    self.found[f"overlap:{worker}:{a1}:{a2}"] = dict(
                        kind=RedFlagKind.WORKER_OVERLAP, contract_id=r1[0], activity_ids=[a1, a2],
                        detail={"worker_id": worker, "date": day.isoformat()}, contracts={r1[0], r2[0]})
            hours = sum((Decimal(r[4]) for r in rows.values()), Decimal(0))
            if hours > MAX_HOURS_PER_DAY:
                contracts = {r[0] for r in rows.values()}
                self.day_contracts[f"hours:{worker}:{day.isoformat()}"] = contracts
                # Filed under one of the contracts examined, so re-examining that contract can clear it.
                self.found[f"hours:{worker}:{day.isoformat()}"] = dict(
                    kind=RedFlagKind.WORKER_HOURS, contract_id=min(contracts & self.contract_ids or contracts),
                    activity_ids=sorted(rows), detail={"worker_id": worker, "date": day.isoformat(),
                                                       "hours": str(hours)}, contracts=contracts)

    def duplicates(self, groups: dict[tuple[int, str], list[int]], keys: set[tuple[int, str]]) -> None:
        for contract_id, fp in keys:
            self.candidates.add(f"dup:{contract_id}:{fp[:40]}")
        for (contract_id, fp), ids in groups.items():
            if len(ids) > 1:
                self.found[f"dup:{contract_id}:{fp[:40]}"] = dict(
                    kind=RedFlagKind.DUPLICATE, contract_id=contract_id, activity_ids=[min(ids), max(ids)],
                    detail={"count": len(ids)}, contracts={contract_id})

    def outside_period(self, entries: list[tuple[int, int, date]], periods: dict, today: date,
                       examined_ids: set[int]) -> None:
        for activity_id in examined_ids:
            self.candidates.add(f"period:{activity_id}")
        for activity_id, contract_id, day in entries:
            start, end = periods[contract_id]
            if day < start or day > end or day > today:
                self.found[f"period:{activity_id}"] = dict(
                    kind=RedFlagKind.OUTSIDE_PERIOD, contract_id=contract_id, activity_ids=[activity_id],
                    detail={"date": day.isoformat()}, contracts={contract_id})

    def counted_twice(self, uses: list[tuple], periods: dict, touched: set[tuple[str, int, int, str]]) -> None:
        """uses: (match key, register entry, contract, type, first entry) of the touched people in
        every contract; touched: (match key, register entry, contract, type) that changed, present
        or not any more. Pairs of contracts with overlapping periods serving one person the same
        kind of service are found; every pair a touched side could form is a candidate."""
        by_person: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for key, beneficiary, contract_id, type_, first in uses:
            by_person[(key, type_)].append((contract_id, beneficiary, first))
        for key, b1, c1, type_ in touched:
            for c2, b2, _first in by_person.get((key, type_), ()):
                if c2 != c1:
                    low, high = sorted(((c1, b1), (c2, b2)))
                    self.candidates.add(f"double:{low[0]}:{high[0]}:{type_}:{low[1]}:{high[1]}")
        sides = {(key, c, type_) for key, _b, c, type_ in touched}
        for (key, type_), rows in by_person.items():
            rows.sort()
            for (c1, b1, a1), (c2, b2, a2) in combinations(rows, 2):
                if c1 >= c2 or ((key, c1, type_) not in sides and (key, c2, type_) not in sides):
                    continue
                flag_key = f"double:{c1}:{c2}:{type_}:{b1}:{b2}"
                self.candidates.add(flag_key)
                (s1, e1), (s2, e2) = periods[c1], periods[c2]
                if s1 <= e2 and s2 <= e1:
                    self.found[flag_key] = dict(
                        kind=RedFlagKind.DOUBLE_COUNTED, contract_id=c1, activity_ids=[a1, a2],
                        detail={"other_contract_id": c2, "type": type_, "beneficiary_ids": [b1, b2]},
                        contracts={c1, c2})


# --- reading the logs ---------------------------------------------------------------------------


def _worker_day_entries(workers: set[int], days: set[date] | None = None,
                        between: tuple[date, date] | None = None) -> dict[tuple[int, date], dict[int, tuple]]:
    """(worker, day) -> {entry id: (contract, start, end, fingerprint, hours)} for these workers on
    these days (or in this period), from the worker index."""
    if not workers:
        return {}
    if days is not None:
        params = {"workers": sorted(workers), "days": sorted(days)}
    else:
        params = {"workers": sorted(workers), "first": between[0], "last": between[1]}
    found: dict[tuple[int, date], dict[int, tuple]] = defaultdict(dict)
    for worker, day, activity_id, contract_id, start, end, fp, hours in db.session.connection().execute(
            _WORKER_DAYS.get(days is not None), params):
        found[(worker, _day(day))][activity_id] = (contract_id, start, end, fp, hours)
    return found


def _worker_days_and_copies(workers: set[int], days: set[date], fingerprints: set[str], uses_of=None
                            ) -> tuple[dict[tuple[int, date], dict[int, tuple]], list[tuple[int, str, int]],
                                       list[tuple] | None]:
    """`_worker_day_entries` of these workers and days, and the (contract, fingerprint, entry) of
    every entry with one of these fingerprints, in one statement: the entries of the fingerprints
    come as rows without a worker. `uses_of`: (kinds, parameters) of `_changed_uses_stmt`, whose
    rows (the people's uses) come in the same statement, returned third (None when not asked)."""
    connection = db.session.connection()
    if not workers:
        copies = [tuple(row) for row in connection.execute(_COPIES.get(), {"fingerprints": sorted(fingerprints)})]
        uses = connection.execute(_CHANGED_USES.get(uses_of[0]), uses_of[1]).all() if uses_of else None
        return {}, copies, uses
    found: dict[tuple[int, date], dict[int, tuple]] = defaultdict(dict)
    copies, uses = [], [] if uses_of else None
    params = {"workers": sorted(workers), "days": sorted(days), "fingerprints": sorted(fingerprints)}
    if uses_of:
        params.update(uses_of[1])
    for (worker, day, activity_id, contract_id, start, end, fp, hours, person, type_, term_end,
         part) in connection.execute(_WORKER_DAYS_AND_COPIES.get(uses_of[0] if uses_of else 0), params):
        if part == "u":   # a use: (match key, person, contract, type, first entry, term)
            uses.append((fp, person, contract_id, type_, activity_id, day, term_end))
        elif worker is None:
            copies.append((contract_id, fp, activity_id))
        else:
            found[(worker, _day(day))][activity_id] = (contract_id, start, end, fp, hours)
    return found, copies, uses


class _Statements:
    """Statements a write runs every time, built once (building one costs more than running it)."""

    def __init__(self, build):
        self.build, self.built = build, {}

    def get(self, *variant):
        if variant not in self.built:
            self.built[variant] = self.build(*variant)
        return self.built[variant]


def _worker_days_stmt(by_days: bool) -> sa.Select:
    A, W = ServiceActivity, activity_worker
    # The entries first, from two indexes alone (the workers' entries, the days' entries), then only
    # those rows: a busy worker's history or a busy day's district is never read from the table.
    day, worker = aliased(ServiceActivity), activity_worker.alias("mine")
    wanted = (sa.select(day.id).join(worker, worker.c.activity_id == day.id)
              .where(worker.c.social_worker_id.in_(sa.bindparam("workers", expanding=True))))
    if by_days:
        wanted = wanted.where(day.activity_date.in_(sa.bindparam("days", expanding=True)))
    else:
        wanted = wanted.where(day.activity_date.between(sa.bindparam("first"), sa.bindparam("last")))
    return (sa.select(W.c.social_worker_id, A.activity_date, A.id, A.contract_id, A.start_time, A.end_time,
                      A.fingerprint, A.hours)
            .join(A, A.id == W.c.activity_id)
            .where(W.c.social_worker_id.in_(sa.bindparam("workers", expanding=True)), A.id.in_(wanted)))


_WORKER_DAYS = _Statements(_worker_days_stmt)


def _in_session(model, ids: set[int], attributes: tuple[str, ...]) -> dict[int, object]:
    """The objects of these ids the session already holds with these attributes loaded (flushed, so
    as the database has them in this transaction): no statement is needed for them."""
    held = {}
    for id_ in ids:
        obj = db.session.identity_map.get(sa.orm.Session.identity_key(model, id_))
        if obj is not None and not (set(attributes) & sa.inspect(obj).unloaded):
            held[id_] = obj
    return held


def _periods(contract_ids: set[int], known: dict[int, tuple[date, date]] | None = None
             ) -> dict[int, tuple[date, date]]:
    """Each contract's term: from `known` (read with the people's uses) or the session where they
    have it, from the database for the rest."""
    periods = {cid: known[cid] for cid in contract_ids if known and cid in known}
    held = _in_session(Contract, set(contract_ids) - set(periods), ("start_date", "end_date"))
    periods.update({cid: (_day(c.start_date), _day(c.end_date)) for cid, c in held.items()})
    missing = set(contract_ids) - set(periods)
    if missing:
        periods.update({cid: (_day(s), _day(e)) for cid, s, e in db.session.connection().execute(
            _PERIODS.get(), {"ids": sorted(missing)})})
    return periods


def _uses(match_keys: set[str]) -> tuple[list[tuple], dict[int, tuple[date, date]]]:
    """Every (match key, register entry, contract, type, first entry) of these people, and the terms
    of the contracts they appear in (read in the same statement)."""
    if not match_keys:
        return [], {}
    rows = []
    keys = sorted(match_keys)
    connection = db.session.connection()
    for i in range(0, len(keys), IN_CHUNK):
        rows += connection.execute(_USES.get(), {"keys": keys[i:i + IN_CHUNK]}).all()
    periods = {row[2]: (_day(row[5]), _day(row[6])) for row in rows}
    return ([(key, beneficiary, contract_id, _value(type_), first)
             for key, beneficiary, contract_id, type_, first, _start, _end in rows], periods)


def _match_keys(people: set[int], known: dict[int, str | None] | None = None) -> dict[int, str]:
    """Each person's match key: `known` (read by the caller with the entry's people), from the
    session where it holds them (the entry's participants), else from the database."""
    if not people:
        return {}
    known = {pid: key for pid, key in (known or {}).items() if pid in people}
    held = _in_session(Beneficiary, set(people) - set(known), ("id_match_key",))
    keys: dict[int, str] = {pid: key for pid, key in known.items() if key is not None}
    keys.update({pid: person.id_match_key for pid, person in held.items() if person.id_match_key is not None})
    ids = sorted(set(people) - set(held) - set(known))
    for i in range(0, len(ids), IN_CHUNK):
        keys.update(db.session.execute(_MATCH_KEYS.get(), {"ids": ids[i:i + IN_CHUNK]}).all())
    return keys


def _uses_stmt() -> sa.Select:
    A, P, B = ServiceActivity, activity_participant, Beneficiary
    return (sa.select(B.id_match_key, B.id, A.contract_id, A.type, sa.func.min(A.id), Contract.start_date,
                      Contract.end_date)
            .select_from(B).join(P, P.c.beneficiary_id == B.id).join(A, A.id == P.c.activity_id)
            .join(Contract, Contract.id == A.contract_id)
            .where(B.id_match_key.in_(sa.bindparam("keys", expanding=True)))
            .group_by(B.id_match_key, B.id, A.contract_id, A.type, Contract.start_date, Contract.end_date))


_USES = _Statements(_uses_stmt)


def _worker_days_and_copies_stmt(kinds: int) -> sa.CompoundSelect:
    """The worker-days, the copies and (`kinds` > 0) the people's changed uses as one row shape:
    (worker, day, entry, contract, start, end, fingerprint, hours, person, type, term end, part). A
    use's match key comes as the fingerprint, its first entry as the entry, its contract's term as
    the day and the term end."""
    A = ServiceActivity
    none = lambda type_: sa.cast(sa.null(), type_)  # noqa: E731
    worker_days = _worker_days_stmt(True).add_columns(none(sa.Integer), none(A.type.type), none(sa.Date),
                                                        sa.literal("w"))
    copies = sa.select(none(sa.Integer), none(sa.Date), A.id, A.contract_id, none(sa.Time), none(sa.Time),
                       A.fingerprint, none(A.hours.type), none(sa.Integer), none(A.type.type), none(sa.Date),
                       sa.literal("c")).where(A.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))
    if not kinds:
        return sa.union_all(worker_days, copies)
    key, person, contract, type_, first, term_start, term_end = _changed_uses_stmt(kinds).selected_columns
    uses = _changed_uses_stmt(kinds).with_only_columns(
        none(sa.Integer), term_start, first, contract, none(sa.Time), none(sa.Time), key, none(A.hours.type), person,
        type_, term_end, sa.literal("u"), maintain_column_froms=True)
    return sa.union_all(worker_days, copies, uses)


_WORKER_DAYS_AND_COPIES = _Statements(_worker_days_and_copies_stmt)
_MATCH_KEYS = _Statements(lambda: sa.select(Beneficiary.id, Beneficiary.id_match_key).where(
    Beneficiary.id.in_(sa.bindparam("ids", expanding=True)), Beneficiary.id_match_key.is_not(None)))
_PERIODS = _Statements(lambda: sa.select(Contract.id, Contract.start_date, Contract.end_date).where(
    Contract.id.in_(sa.bindparam("ids", expanding=True))))
_COPIES = _Statements(lambda: sa.select(ServiceActivity.contract_id, ServiceActivity.fingerprint, ServiceActivity.id)
                      .where(ServiceActivity.fingerprint.in_(sa.bindparam("fingerprints", expanding=True))))


# --- examining entries or a contract -------------------------------------------------------------


def refresh_entries(states: list[EntryState], now: list[EntryState] | None = None,
                    match_keys: dict[int, str | None] | None = None, settled: bool = False) -> None:
    """Re-examine what these entries touch, as they were (`states`) and as they are now: `now` when
    the caller has them at hand, else read from the database (an entry no longer there was deleted).
    `match_keys`: the people's match keys (None for a person without one), when the caller read them.
    `settled`: one entry was just written and the findings stood right before (a write's own
    re-examination): a person's counting in a contract is then re-examined only where the write can
    change it (see `_changed_sides`)."""
    if not states and not now:
        return
    db.session.flush()
    ids = {s.id for s in states} | {s.id for s in now or ()}
    current = {s.id: s for s in (now if now is not None else _current_states(ids))}
    contracts = {s.contract_id for s in states} | {s.contract_id for s in current.values()}
    exam = _Examination(contracts)
    today = clock.to_local(clock.now()).date()
    # Worker-days, old and new: every pair in them and their hours.
    pairs: set[tuple[int, date]] = {(w, s.day) for s in states for w in s.workers}
    pairs |= {(w, s.day) for s in current.values() for w in s.workers}
    # People, old and new, in every contract they appear in: after one entry's write, only the sides
    # whose counting may change, their uses read with the worker-days and copies.
    people = {p for s in states for p in s.people} | {p for s in current.values() for p in s.people}
    keys = _match_keys(people, match_keys)
    touched = {(keys[p], p, s.contract_id, s.type) for s in list(states) + list(current.values())
               for p in s.people if p in keys}
    sides = _changed_sides(states, list(current.values()), touched) if settled else None
    # Copies, old and new fingerprints: read with the worker-days (one statement).
    groups_wanted = {(s.contract_id, s.fingerprint) for s in states} | {(s.contract_id, s.fingerprint)
                                                                        for s in current.values()}
    entries, copies, use_rows = _worker_days_and_copies(
        {w for w, _d in pairs}, {d for _w, d in pairs}, {fp for _c, fp in groups_wanted},
        uses_of=(sides[1], sides[2]) if sides is not None and sides[1] else None)
    entries = {k: v for k, v in entries.items() if k in pairs}
    for pair in pairs:
        entries.setdefault(pair, {})
    touched_ids = defaultdict(set)
    for s in list(states) + list(current.values()):
        for w in s.workers:
            touched_ids[(w, s.day)].add(s.id)
    exam.worker_days(entries, touched_ids, only_touching=settled)
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for contract_id, fp, activity_id in copies:
        if (contract_id, fp) in groups_wanted:
            groups[(contract_id, fp)].append(activity_id)
    exam.duplicates(groups, groups_wanted)
    if sides is None:
        uses, known = _uses(set(keys.values()))
    elif use_rows is None:
        touched, uses, known = set(), [], {}
    else:
        touched, uses, known = _changed_uses(sides[0], use_rows)
    periods = _periods(contracts | {u[2] for u in uses}, known)
    exam.counted_twice(uses, periods, touched)
    exam.outside_period([(s.id, s.contract_id, s.day) for s in current.values()], periods, today, ids)
    _apply(exam)


def _changed_sides(states: list[EntryState], now: list[EntryState], touched: set[tuple]
                   ) -> tuple[set[tuple], int, dict] | None:
    """For one entry's write: of the sides it touches (match key, person, contract, kind of service),
    those whose counting may change, with the number of (contract, kind) pairs among them and the
    parameters of `_changed_uses_stmt`, which reads their people's uses (None when the states are
    not of one entry; no pairs when no side may change).

    Findings of counting twice depend only on which contracts serve a person with a kind of service,
    their terms, and the first entry of each (its id). A side the entry has before and after the
    write is unchanged, and so is one the person has through an earlier entry of the same contract
    and kind (its first entry stays first): the statement looks for such an earlier entry through
    the person index, stopping at the first found, and reads the uses of the other people only."""
    ids = {s.id for s in states} | {s.id for s in now}
    if len(ids) != 1:
        return None
    entry = ids.pop()
    kept = {(p, s.contract_id, s.type) for s in states for p in s.people} & {
        (p, s.contract_id, s.type) for s in now for p in s.people}
    changed = {side for side in touched if side[1:] not in kept}
    by_kind: dict[tuple[int, str], set[int]] = defaultdict(set)
    for _key, person, contract_id, type_ in changed:
        by_kind[(contract_id, type_)].add(person)
    params = {"entry": entry}
    for i, ((contract_id, type_), people) in enumerate(sorted(by_kind.items())):
        params.update({f"people_{i}": sorted(people), f"contract_{i}": contract_id, f"type_{i}": ActivityType(type_)})
    return changed, len(by_kind), params


def _changed_uses(changed: set[tuple], rows: list[tuple]
                  ) -> tuple[set[tuple], list[tuple], dict[int, tuple[date, date]]]:
    """The sides re-examined (those of the people whose uses were read), the uses as `_uses` gives
    them, and the terms of their contracts, from the rows of `_changed_uses_stmt`."""
    periods = {row[2]: (_day(row[5]), _day(row[6])) for row in rows}
    uses = [(key, beneficiary, contract_id, _value(type_), first)
            for key, beneficiary, contract_id, type_, first, _start, _end in rows]
    examined = {u[0] for u in uses}
    return {side for side in changed if side[0] in examined}, uses, periods


def _changed_uses_stmt(kinds: int) -> sa.Select:
    A, P, B = ServiceActivity, activity_participant, Beneficiary
    person, link, other = aliased(Beneficiary), activity_participant.alias("earlier_link"), aliased(ServiceActivity)
    unsettled = []
    for i in range(kinds):
        earlier = (sa.select(sa.literal(1)).select_from(link).join(other, other.id == link.c.activity_id)
                   .where(link.c.beneficiary_id == person.id, other.contract_id == sa.bindparam(f"contract_{i}"),
                          other.type == sa.bindparam(f"type_{i}", type_=A.type.type),
                          link.c.activity_id < sa.bindparam("entry")))
        unsettled.append(sa.and_(person.id.in_(sa.bindparam(f"people_{i}", expanding=True)), ~earlier.exists()))
    keys = sa.select(person.id_match_key).where(sa.or_(*unsettled), person.id_match_key.is_not(None))
    return (sa.select(B.id_match_key, B.id, A.contract_id, A.type, sa.func.min(A.id), Contract.start_date,
                      Contract.end_date)
            .select_from(B).join(P, P.c.beneficiary_id == B.id).join(A, A.id == P.c.activity_id)
            .join(Contract, Contract.id == A.contract_id)
            .where(B.id_match_key.in_(keys))
            .group_by(B.id_match_key, B.id, A.contract_id, A.type, Contract.start_date, Contract.end_date))


_CHANGED_USES = _Statements(_changed_uses_stmt)


def refresh_contract(contract_id: int) -> None:
    """Re-examine all of one contract's entries (after an import, or a change to its term)."""
    db.session.flush()
    A, W = ServiceActivity, activity_worker
    exam = _Examination({contract_id})
    today = clock.to_local(clock.now()).date()
    span = db.session.execute(sa.select(sa.func.min(A.activity_date), sa.func.max(A.activity_date))
                              .where(A.contract_id == contract_id)).one()
    if span[0] is not None:
        pairs = {(w, _day(d)) for w, d in db.session.execute(
            sa.select(W.c.social_worker_id, A.activity_date).join(A, A.id == W.c.activity_id)
            .where(A.contract_id == contract_id).distinct())}
        entries = _worker_day_entries({w for w, _d in pairs}, between=(_day(span[0]), _day(span[1])))
        exam.worker_days({k: v for k, v in entries.items() if k in pairs}, {})
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    dup_fps = (sa.select(A.fingerprint).where(A.contract_id == contract_id).group_by(A.fingerprint)
               .having(sa.func.count() > 1))
    for fp, activity_id in db.session.execute(sa.select(A.fingerprint, A.id).where(
            A.contract_id == contract_id, A.fingerprint.in_(dup_fps))):
        groups[(contract_id, fp)].append(activity_id)
    exam.duplicates(groups, set(groups))
    # The contract's people with the kinds of service they had, then the same people elsewhere.
    served = db.session.execute(
        sa.select(Beneficiary.id_match_key, Beneficiary.id, A.type).select_from(activity_participant)
        .join(A, A.id == activity_participant.c.activity_id)
        .join(Beneficiary, Beneficiary.id == activity_participant.c.beneficiary_id)
        .where(A.contract_id == contract_id, Beneficiary.id_match_key.is_not(None)).distinct()).all()
    touched = {(key, beneficiary, contract_id, _value(type_)) for key, beneficiary, type_ in served}
    uses, known = _uses({key for key, _b, _t in served})
    periods = _periods({contract_id} | {u[2] for u in uses}, known)
    exam.counted_twice(uses, periods, touched)
    contract = periods.get(contract_id) or _periods({contract_id}).get(contract_id)
    if contract is not None:
        start, end = contract
        outside = db.session.execute(sa.select(A.id, A.contract_id, A.activity_date).where(
            A.contract_id == contract_id,
            sa.or_(A.activity_date < start, A.activity_date > end, A.activity_date > today))).all()
        exam.outside_period([(a, c, _day(d)) for a, c, d in outside], {contract_id: contract}, today,
                            {a for a, _c, _d in outside})
    _apply(exam, filed_under=contract_id)


def refresh_people(person_ids: set[int], former_keys: set[str] = frozenset()) -> None:
    """Re-examine what a change to these people's identity touches: the contracts counting them twice,
    under the match keys they had (`former_keys`) and have now. Their entries themselves did not
    change, so only these findings can: a bounded number of queries through the participant and
    match-key indexes, however many entries the people have."""
    if not person_ids:
        return
    db.session.flush()
    A, P = ServiceActivity, activity_participant
    ids = sorted(person_ids)
    served = db.session.execute(sa.select(P.c.beneficiary_id, A.contract_id, A.type).join(A, A.id == P.c.activity_id)
                                .where(P.c.beneficiary_id.in_(ids)).distinct()).all()
    keys = _match_keys(set(ids))
    exam = _Examination({contract_id for _p, contract_id, _t in served})
    touched = set()
    for person, contract_id, type_ in served:
        for key in ({keys[person]} if person in keys else set()) | set(former_keys):
            touched.add((key, person, contract_id, _value(type_)))
    uses, known = _uses(set(keys.values()) | set(former_keys))
    periods = _periods(exam.contract_ids | {u[2] for u in uses}, known)
    exam.counted_twice(uses, periods, touched)
    _apply(exam)


def _current_states(ids: set[int]) -> list[EntryState]:
    """The entries as stored now (deleted ones are simply absent)."""
    A = ServiceActivity
    rows = db.session.execute(sa.select(A.id, A.contract_id, A.activity_date, A.start_time, A.end_time, A.type,
                                        A.fingerprint).where(A.id.in_(sorted(ids)))).all()
    if not rows:
        return []
    workers, people = defaultdict(list), defaultdict(list)
    for activity_id, worker in db.session.execute(sa.select(activity_worker.c.activity_id,
                                                            activity_worker.c.social_worker_id)
                                                  .where(activity_worker.c.activity_id.in_(sorted(ids)))):
        workers[activity_id].append(worker)
    for activity_id, person in db.session.execute(sa.select(activity_participant.c.activity_id,
                                                            activity_participant.c.beneficiary_id)
                                                  .where(activity_participant.c.activity_id.in_(sorted(ids)))):
        people[activity_id].append(person)
    return [EntryState(a, c, _day(d), s, e, _value(t), fp, tuple(sorted(workers[a])), tuple(sorted(people[a])))
            for a, c, d, s, e, t, fp in rows]


_FLAG = RedFlag.__table__
_FLAG_COLUMNS = (_FLAG.c.id, _FLAG.c.key, _FLAG.c.kind, _FLAG.c.contract_id, _FLAG.c.activity_ids, _FLAG.c.detail,
                 _FLAG.c.active)
_FLAG_ROWS = _Statements(lambda: sa.select(*_FLAG_COLUMNS).where(_FLAG.c.key.in_(sa.bindparam("keys", expanding=True))))
_FLAGS_FILED = _Statements(lambda: sa.select(*_FLAG_COLUMNS).where(_FLAG.c.contract_id == sa.bindparam("contract")))
def _add_flags_stmt(dialect: str):
    """New findings inserted, returning their ids. A finding another write inserted meanwhile (two
    entries of one worker's day recorded at the same moment both find the day long) is not an error:
    its row takes this examination's view, as a finding already there would (its explanation kept)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = (postgresql if dialect == "postgresql" else sqlite).insert(_FLAG)
    excluded = insert.excluded
    return (insert.on_conflict_do_update(index_elements=[_FLAG.c.key], set_={
        "active": sa.true(), "activity_ids": excluded.activity_ids, "detail": excluded.detail,
        "contract_id": excluded.contract_id}).returning(_FLAG.c.id, _FLAG.c.key))


_ADD_FLAGS = _Statements(_add_flags_stmt)
# A flag's changing columns written whole, the flags of one examination in one executemany.
_UPDATE_FLAG = _Statements(lambda: sa.update(_FLAG).where(_FLAG.c.id == sa.bindparam("flag")).values(
    active=sa.bindparam("set_active"), activity_ids=sa.bindparam("set_activity_ids", type_=_FLAG.c.activity_ids.type),
    detail=sa.bindparam("set_detail", type_=_FLAG.c.detail.type), contract_id=sa.bindparam("set_contract")))


def _apply(exam: _Examination, filed_under: int | None = None) -> None:
    """Write the examination: new findings added, known ones kept (with their explanation) and
    updated, findings within the examined subjects that are gone marked inactive. `filed_under`:
    a whole contract was examined, so every flag filed under it is within the examination.

    The flags are read as the columns compared, and written as rows: the new ones in one insert, the
    changed ones in one executemany (not a flag object and an update statement each)."""
    keys = sorted(exam.candidates | set(exam.found))
    connection = db.session.connection()
    existing: dict[str, dict] = {}
    for i in range(0, len(keys), IN_CHUNK):
        for row in connection.execute(_FLAG_ROWS.get(), {"keys": keys[i:i + IN_CHUNK]}).mappings():
            existing[row["key"]] = dict(row)
    if filed_under is not None:
        for row in connection.execute(_FLAGS_FILED.get(), {"contract": filed_under}).mappings():
            # A long day is about a worker's day, which may still be long on another contract's entries.
            if row["kind"] != RedFlagKind.WORKER_HOURS or row["key"] in exam.candidates:
                existing[row["key"]] = dict(row)
    now = clock.now()
    concerned = {key: data.pop("contracts") for key, data in exam.found.items()}
    added, changed = [], {}
    for key, data in exam.found.items():
        flag = existing.get(key)
        if flag is None:
            added.append({"kind": data["kind"], "key": key, "contract_id": data["contract_id"],
                          "activity_ids": data["activity_ids"], "detail": data["detail"], "found_at": now,
                          "active": True, "explanation": "", "explained_at": None, "explained_by_id": None})
            continue
        was = (flag["active"], list(flag["activity_ids"] or []), dict(flag["detail"] or {}), flag["contract_id"])
        flag["active"], flag["activity_ids"], flag["detail"] = True, data["activity_ids"], data["detail"]
        if key in exam.day_contracts and flag["contract_id"] not in exam.day_contracts[key]:
            flag["contract_id"] = data["contract_id"]   # none of that day's entries is on it any more
        if was != (True, data["activity_ids"], data["detail"], flag["contract_id"]):
            changed[flag["id"]] = flag
    for key, flag in existing.items():
        if key not in exam.found and flag["active"]:
            flag["active"] = False
            changed[flag["id"]] = flag
    # The other contracts of the findings that have some, or whose contracts may have changed (a day's
    # hours spread over the contracts of that day's entries); for most findings there is nothing to do.
    filed = {a["key"]: a["contract_id"] for a in added}
    filed.update({key: flag["contract_id"] for key, flag in existing.items()})
    others = {key: contracts - {filed[key]} for key, contracts in concerned.items()
              if len(contracts) > 1 or exam.found[key]["kind"] == RedFlagKind.WORKER_HOURS}
    if connection.dialect.name == "postgresql":
        if added or changed or others:
            _write_in_one(connection, added, changed, others, existing, now)
    else:
        _write(connection, added, changed, others, existing)
    for flag_id in changed:   # a flag the session holds is read again when next used
        held = db.session.identity_map.get(sa.orm.Session.identity_key(RedFlag, flag_id))
        if held is not None:
            db.session.expire(held)
    if added or changed:
        versions.rows_changed(db.session, RedFlag)


def _write(connection, added: list[dict], changed: dict[int, dict], others: dict[str, set[int]],
           existing: dict[str, dict]) -> None:
    """The new findings in one insert, the changed ones in one executemany, then their links."""
    if added:
        for flag_id, key in connection.execute(_ADD_FLAGS.get(connection.dialect.name), added):
            existing[key] = {"id": flag_id}
    if changed:
        connection.execute(_UPDATE_FLAG.get(), [
            {"flag": f["id"], "set_active": f["active"], "set_activity_ids": f["activity_ids"],
             "set_detail": f["detail"], "set_contract": f["contract_id"]} for f in changed.values()])
    _link_contracts({existing[key]["id"]: contracts for key, contracts in others.items()})


def _write_in_one(connection, added: list[dict], changed: dict[int, dict], others: dict[str, set[int]],
                  existing: dict[str, dict], now) -> None:
    """PostgreSQL: what `_write` does in one statement (data-modifying WITHs): the new findings
    inserted, the changed ones updated, and the links of `others` made what is wanted. A new
    finding's links name it by its key, so they are made in the same statement as it."""
    known = [{"id": flag["id"], "key": key} for key, flag in existing.items() if key in others]
    connection.execute(_WRITE_IN_ONE.get(), {
        "added": json.dumps([{"kind": RedFlagKind(a["kind"]).value, "key": a["key"], "contract_id": a["contract_id"],
                              "activity_ids": a["activity_ids"], "detail": a["detail"]} for a in added], default=str),
        "changed": json.dumps([{"id": f["id"], "active": f["active"], "activity_ids": f["activity_ids"],
                                "detail": f["detail"], "contract_id": f["contract_id"]} for f in changed.values()],
                              default=str),
        "known": json.dumps(known),
        "links": json.dumps([{"key": key, "contract_id": c} for key, contracts in sorted(others.items())
                             for c in sorted(contracts)]),
        "synced": sorted(others), "now": now})


def _write_in_one_stmt() -> sa.TextClause:
    """The rows come as JSON arrays of records. A finding another write inserted meanwhile takes this
    examination's view, as in `_add_flags_stmt`. The sub-statements see one snapshot: the links
    deleted are those of findings already there (a new one has none), and no wanted link is deleted."""
    from sqlalchemy.dialects.postgresql import ARRAY

    return sa.text("""
        WITH added AS (
            INSERT INTO red_flag (kind, key, contract_id, activity_ids, detail, found_at, active, explanation)
            SELECT x.kind, x.key, x.contract_id, x.activity_ids, x.detail, :now, true, ''
            FROM json_to_recordset(CAST(:added AS json))
                 AS x(kind varchar, key varchar, contract_id integer, activity_ids json, detail json)
            ORDER BY x.key
            ON CONFLICT (key) DO UPDATE SET active = true, activity_ids = excluded.activity_ids,
                detail = excluded.detail, contract_id = excluded.contract_id
            RETURNING red_flag.id, red_flag.key),
        changed AS (
            UPDATE red_flag SET active = x.active, activity_ids = x.activity_ids, detail = x.detail,
                contract_id = x.contract_id
            FROM json_to_recordset(CAST(:changed AS json))
                 AS x(id integer, active boolean, activity_ids json, detail json, contract_id integer)
            WHERE red_flag.id = x.id
            RETURNING red_flag.id),
        flags AS (
            SELECT id, key FROM added
            UNION ALL
            SELECT x.id, x.key FROM json_to_recordset(CAST(:known AS json)) AS x(id integer, key varchar)),
        wanted AS (
            SELECT flags.id AS red_flag_id, w.contract_id
            FROM json_to_recordset(CAST(:links AS json)) AS w(key varchar, contract_id integer)
            JOIN flags ON flags.key = w.key),
        gone AS (
            DELETE FROM red_flag_contract
            USING flags
            WHERE red_flag_contract.red_flag_id = flags.id AND flags.key = ANY(:synced)
              AND NOT EXISTS (SELECT 1 FROM wanted WHERE wanted.red_flag_id = red_flag_contract.red_flag_id
                                                     AND wanted.contract_id = red_flag_contract.contract_id))
        INSERT INTO red_flag_contract (red_flag_id, contract_id)
        SELECT red_flag_id, contract_id FROM wanted ORDER BY red_flag_id, contract_id
        ON CONFLICT DO NOTHING
    """).bindparams(sa.bindparam("now", type_=_FLAG.c.found_at.type),
                      sa.bindparam("synced", type_=ARRAY(sa.String)))


_WRITE_IN_ONE = _Statements(_write_in_one_stmt)


def _link_contracts(concerned: dict[int, set[int]]) -> None:
    """Each standing finding listed under the other contracts it concerns (their flags pages and
    reports); PostgreSQL does this in `_write_in_one`."""
    if not concerned:
        return
    L = red_flag_contract
    ids = sorted(concerned)
    wanted = {(flag_id, contract_id) for flag_id, contracts in concerned.items() for contract_id in contracts}
    linked: set[tuple[int, int]] = set()
    for i in range(0, len(ids), IN_CHUNK):
        linked.update(tuple(row) for row in db.session.execute(
            sa.select(L.c.red_flag_id, L.c.contract_id).where(L.c.red_flag_id.in_(ids[i:i + IN_CHUNK]))))
    if wanted - linked:
        db.session.execute(sa.insert(L), [{"red_flag_id": f, "contract_id": c} for f, c in sorted(wanted - linked)])
    stale = sorted(linked - wanted)  # a finding that no longer concerns a contract
    for i in range(0, len(stale), IN_CHUNK):
        db.session.execute(sa.delete(L).where(sa.tuple_(L.c.red_flag_id, L.c.contract_id).in_(stale[i:i + IN_CHUNK])))


def refresh_flags(contract_ids: list[int], activity_ids: list[int] | None = None) -> None:
    """Re-examine these entries (as they stand), or, without entries, these whole contracts."""
    if activity_ids:
        refresh_entries(_current_states(set(activity_ids)))
        return
    for contract_id in sorted(set(contract_ids)):
        refresh_contract(contract_id)


def explain_flag(actor, flag: RedFlag, note: str) -> None:
    if not is_system(actor):
        require(perms.can_explain_flag(actor, flag))
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Write the explanation."), "note")
    before = flag.explanation or None
    flag.explanation, flag.explained_at, flag.explained_by_id = note, clock.now(), getattr(actor, "id", None)
    db.session.flush()
    record("red_flag.explained", actor=actor, obj=flag, changes={"explanation": [None, note]})
