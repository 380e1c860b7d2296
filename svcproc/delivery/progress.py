"""Progress against a contract's targets, computed from its service logs.

Distinct people (人数) counts each registered person once (by keyed hash, so one person registered
twice still counts once); person-times (人次) counts every attendance, named or head-counted.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ..contracts.models import Contract
from ..extensions import db
from ..registry.models import Area
from .models import ActivityType, Beneficiary, ServiceActivity, activity_participant


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
