"""Progress against a contract's targets, computed from its service logs.

Distinct people (人数) counts each registered person once (by keyed hash, so one person registered
twice still counts once); person-times (人次) counts every attendance, named or head-counted.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contracts.models import Contract
from ..core import atcommit
from ..core.versions import new_version
from ..extensions import db
from ..registry.models import Area
from .models import ActivityType, Beneficiary, ContractProgress, ServiceActivity, activity_participant


@dataclass
class Progress:
    cases: int = 0
    groups: int = 0
    group_sessions: int = 0
    events: int = 0
    deliberations: int = 0
    trainings: int = 0
    person_times: int = 0
    people: int = 0
    hours: Decimal = Decimal(0)
    activities: int = 0
    by_month: dict = field(default_factory=dict)       # "2026-03" -> {person_times, hours, activities}
    by_community: dict = field(default_factory=dict)   # name -> {person_times, hours, activities}

    def against(self, contract: Contract) -> list[tuple[str, float, int]]:
        """(target field, actual, target) for every performance target the logs can measure."""
        return [
            ("target_cases", self.cases, contract.target_cases),
            ("target_groups", self.groups, contract.target_groups),
            ("target_group_sessions", self.group_sessions, contract.target_group_sessions),
            ("target_events", self.events, contract.target_events),
            ("target_person_times", self.person_times, contract.target_person_times),
            ("target_people", self.people, contract.target_people),
            ("target_service_hours", float(self.hours), contract.target_service_hours),
        ]


def compute(contract_id: int) -> Progress:
    """A few grouped queries over this contract's entries (through the contract's index), whatever
    the size of the district: entries, hours and attendance (named and head-counted) by day, kind
    and community; distinct groups and cases; distinct people."""
    result = Progress()
    A, P = ServiceActivity, activity_participant
    mine = A.contract_id == contract_id
    names = {}
    months = defaultdict(lambda: {"person_times": 0, "hours": Decimal(0), "activities": 0})
    communities = defaultdict(lambda: {"person_times": 0, "hours": Decimal(0), "activities": 0})
    kinds = {ActivityType.GROUP_SESSION: "group_sessions", ActivityType.COMMUNITY_EVENT: "events",
             ActivityType.DELIBERATION: "deliberations", ActivityType.VOLUNTEER_TRAINING: "trainings"}
    rows = db.session.execute(
        sa.select(A.type, A.activity_date, A.community_id, sa.func.count(), sa.func.sum(A.hours),
                  sa.func.sum(A.head_count + A.participant_count))
        .where(mine).group_by(A.type, A.activity_date, A.community_id))
    community_ids = set()
    for type_, day, community_id, entries, hours, attendance in rows:
        type_ = ActivityType(getattr(type_, "value", type_))
        hours, attendance = Decimal(hours or 0), int(attendance or 0)
        result.activities += entries
        result.person_times += attendance
        result.hours += hours
        if type_ in kinds:
            setattr(result, kinds[type_], getattr(result, kinds[type_]) + entries)
        community_ids.add(community_id)
        for bucket in (months[(day.year, day.month)], communities[community_id]):
            bucket["person_times"] += attendance
            bucket["hours"] += hours
            bucket["activities"] += entries
    groups, cases = db.session.execute(
        sa.select(sa.func.count(sa.distinct(sa.case((A.type == ActivityType.GROUP_SESSION, A.group_id)))),
                  sa.func.count(sa.distinct(sa.case((A.type == ActivityType.CASE_WORK, A.case_id)))))
        .where(mine)).one()
    result.groups, result.cases = int(groups or 0), int(cases or 0)
    # Distinct people: each registered person once (by keyed hash where known); head-counts are
    # anonymous and cannot add distinct people.
    # The register entries first (a few hundred), then their keys by primary key: neither a key
    # lookup per attendance nor a scan of the register.
    served = sorted(db.session.execute(sa.select(P.c.beneficiary_id).join(A, A.id == P.c.activity_id)
                                       .where(mine).distinct()).scalars())
    result.people = db.session.execute(
        sa.select(sa.func.count(sa.distinct(sa.func.coalesce(Beneficiary.id_match_key,
                                                              sa.cast(Beneficiary.id, sa.String)))))
        .where(Beneficiary.id.in_(served))).scalar_one() if served else 0
    if community_ids:
        names = dict(db.session.execute(sa.select(Area.id, Area.name).where(Area.id.in_(sorted(community_ids)))).all())
    result.by_month = {f"{y:04d}-{m:02d}": v for (y, m), v in sorted(months.items())}
    by_name = defaultdict(lambda: {"person_times": 0, "hours": Decimal(0), "activities": 0})
    for community_id, bucket in communities.items():
        target = by_name[names.get(community_id, str(community_id))]
        for key, value in bucket.items():
            target[key] += value
    result.by_community = dict(sorted(by_name.items(), key=lambda kv: -kv[1]["person_times"]))
    return result


# --- kept figures ---------------------------------------------------------------------------------


def _as_json(result: Progress) -> dict:
    def bucket(b: dict) -> dict:
        return {"person_times": b["person_times"], "hours": str(b["hours"]), "activities": b["activities"]}

    data = {name: getattr(result, name) for name in ("cases", "groups", "group_sessions", "events", "deliberations",
                                                     "trainings", "person_times", "people", "activities")}
    data["hours"] = str(result.hours)
    data["by_month"] = [[k, bucket(v)] for k, v in result.by_month.items()]
    data["by_community"] = [[k, bucket(v)] for k, v in result.by_community.items()]
    return data


def _from_json(data: dict) -> Progress:
    def bucket(b: dict) -> dict:
        return {"person_times": b["person_times"], "hours": Decimal(b["hours"]), "activities": b["activities"]}

    result = Progress(**{k: v for k, v in data.items() if k not in ("hours", "by_month", "by_community")})
    result.hours = Decimal(data["hours"])
    result.by_month = {k: bucket(v) for k, v in data["by_month"]}
    result.by_community = {k: bucket(v) for k, v in data["by_community"]}
    return result


_LOG_LEFT = "svcproc_log_left"


def log_changed(contract_ids, at_commit: bool = False) -> None:
    """Entries of these contracts were recorded, corrected, deleted or imported, or a person they
    serve changed: their kept figures are out of date. One statement, whatever the contracts.

    `at_commit` (a write of one entry): the contract's log is moved on as the transaction commits,
    with its audit event (core/atcommit.py), so the row is held only for the commit; until then
    the transaction reads the version as it was."""
    ids = sorted(set(contract_ids))
    if not ids:
        return
    left = db.session.info.get(_LOG_LEFT)
    if at_commit and len(ids) == 1 and left in (None, ids[0]):
        db.session.info[_LOG_LEFT] = ids[0]
        return
    db.session.flush()  # what the rows refer to first, as a session statement would
    connection = db.session.connection()
    if len(ids) == 1:  # an entry written: the statement built once
        connection.execute(_log_one(connection.dialect.name), {"contract_id": ids[0], "log_version": new_version()})
        return
    connection.execute(_upsert(connection.dialect.name).values(
        [{"contract_id": i, "log_version": new_version()} for i in ids]))


def _upsert(dialect: str):
    """A contract's log given a new version: a random number (core/versions.py `new_version`), not a
    count, so a rolled-back change never leaves a number that later stands for other entries (pages
    keep figures under it: the progress, the service log's count)."""
    table = ContractProgress.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=[table.c.contract_id],
                                      set_={"log_version": stmt.excluded.log_version})


@functools.cache
def _log_one(dialect: str):
    return _upsert(dialect).values(contract_id=sa.bindparam("contract_id"), log_version=sa.bindparam("log_version"))


def _left_log(session) -> dict | None:
    contract_id = session.info.pop(_LOG_LEFT, None)
    if contract_id is None:
        return None
    return {"contract_progress_id": contract_id, "contract_progress_version": new_version()}


def _left_log_stmt(dialect: str):
    table = ContractProgress.__table__
    return (_upsert(dialect).values(contract_id=sa.bindparam("contract_progress_id"),
                                    log_version=sa.bindparam("contract_progress_version"))
            .returning(table.c.contract_id))


atcommit.register("contract_progress", _left_log_stmt, _left_log)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_left_log(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_LOG_LEFT, None)


def kept(contract_id: int) -> Progress:
    """The contract's progress: the kept figures when they are for the log as it is, else computed
    now and kept (unless the log changed meanwhile, so figures never outlive their version)."""
    row = db.session.execute(sa.select(ContractProgress.log_version, ContractProgress.figures_version,
                                       ContractProgress.figures)
                             .where(ContractProgress.contract_id == contract_id)).first()
    if row is not None and row.figures is not None and row.figures_version == row.log_version:
        return _from_json(row.figures)
    version = row.log_version if row is not None else 0
    result = compute(contract_id)
    table = ContractProgress.__table__
    if row is None:
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(table).values(contract_id=contract_id, log_version=0, figures_version=0,
                                                figures=_as_json(result)).on_conflict_do_nothing())
    else:
        db.session.execute(sa.update(table).where(table.c.contract_id == contract_id, table.c.log_version == version)
                           .values(figures_version=version, figures=_as_json(result)))
    return result


def with_kept(contracts: sa.Select) -> list[tuple[Contract, Progress]]:
    """The contracts `contracts` selects, each with its progress: the kept figures read in the same
    statement (outer-joined), only a contract whose figures are missing or out of date computed (and
    kept) on its own, as `kept` does."""
    P = ContractProgress
    rows = db.session.execute(contracts.add_columns(P.log_version, P.figures_version, P.figures)
                              .outerjoin(P, P.contract_id == Contract.id)).all()
    return [(row[0], _from_json(row.figures) if row.figures is not None and row.figures_version == row.log_version
             else kept(row[0].id)) for row in rows]


def profile(contract_id: int) -> dict:
    """Aggregates about the people served (no names, no numbers): gender, age bands, categories."""
    A = ServiceActivity
    served = (sa.select(activity_participant.c.beneficiary_id)
              .join(A, A.id == activity_participant.c.activity_id).where(A.contract_id == contract_id))
    people = db.session.execute(
        sa.select(Beneficiary.gender, Beneficiary.birth_year, Beneficiary.categories)
        .where(Beneficiary.id.in_(served))).all()
    gender, ages, categories = defaultdict(int), defaultdict(int), defaultdict(int)
    from ..contracts.workflow import today

    year = today().year
    for g, birth_year, cats in people:
        gender[g.value if hasattr(g, "value") else g] += 1
        age = year - birth_year
        band = "0-13" if age < 14 else "14-17" if age < 18 else "18-59" if age < 60 else "60-79" if age < 80 else "80+"
        ages[band] += 1
        for c in cats or []:
            categories[c] += 1
    return {"total": len(people), "gender": dict(gender), "ages": dict(ages), "categories": dict(categories)}
