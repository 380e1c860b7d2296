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
    result = Progress()
    A = ServiceActivity
    named = (sa.select(activity_participant.c.activity_id, sa.func.count().label("n"))
             .group_by(activity_participant.c.activity_id).subquery())
    rows = db.session.execute(
        sa.select(A.type, A.activity_date, Area.name, A.hours, A.head_count, sa.func.coalesce(named.c.n, 0),
                  A.group_id, A.case_id)
        .join(Area, Area.id == A.community_id).outerjoin(named, named.c.activity_id == A.id)
        .where(A.contract_id == contract_id))
    groups, cases = set(), set()
    months = defaultdict(lambda: {"person_times": 0, "hours": Decimal(0), "activities": 0})
    communities = defaultdict(lambda: {"person_times": 0, "hours": Decimal(0), "activities": 0})
    for type_, day, community, hours, head_count, named_count, group_id, case_id in rows:
        attendance = int(named_count) + int(head_count or 0)
        result.activities += 1
        result.person_times += attendance
        result.hours += Decimal(hours)
        if type_ == ActivityType.CASE_WORK and case_id:
            cases.add(case_id)
        elif type_ == ActivityType.GROUP_SESSION:
            result.group_sessions += 1
            if group_id:
                groups.add(group_id)
        elif type_ == ActivityType.COMMUNITY_EVENT:
            result.events += 1
        elif type_ == ActivityType.DELIBERATION:
            result.deliberations += 1
        else:
            result.trainings += 1
        for bucket in (months[day.strftime("%Y-%m")], communities[community]):
            bucket["person_times"] += attendance
            bucket["hours"] += Decimal(hours)
            bucket["activities"] += 1
    result.cases, result.groups = len(cases), len(groups)
    # Distinct people: each registered person once (by keyed hash where known); head-counts are
    # anonymous and cannot add distinct people.
    result.people = db.session.execute(
        sa.select(sa.func.count(sa.distinct(sa.func.coalesce(Beneficiary.id_match_key,
                                                              sa.cast(Beneficiary.id, sa.String)))))
        .select_from(activity_participant)
        .join(A, A.id == activity_participant.c.activity_id)
        .join(Beneficiary, Beneficiary.id == activity_participant.c.beneficiary_id)
        .where(A.contract_id == contract_id)).scalar_one()
    result.by_month = dict(sorted(months.items()))
    result.by_community = dict(sorted(communities.items(), key=lambda kv: -kv[1]["person_times"]))
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
