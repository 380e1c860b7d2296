"""Contracts written as rows for the report tests: plan, tender, bid, contract, payments, entries
with named people and head-counts, groups, cases, evaluation rounds and red flags, varied by their
index so every figure of the portfolio and the history has something to count."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from svcproc.contracts.models import Contract, ContractStatus, Deliverable, DeliverableKind, Milestone, Payment
from svcproc.core.files import StoredFile
from svcproc.delivery.models import (ActivityType, Beneficiary, ConsentBy, ConsentMethod, Gender, RedFlag,
                                     RedFlagKind, ServiceActivity, ServiceCase, ServiceGroup)
from svcproc.evaluations import indicators
from svcproc.evaluations.models import EvaluationRound, RoundKind, RoundStatus
from svcproc.extensions import db
from svcproc.procurement.models import Bid, BidStatus, ProjectPlan, ServiceCategory, Tender, TenderMethod, TenderStatus
from svcproc.registry.models import Organization

AT = datetime(2025, 6, 1, 2, 0, tzinfo=timezone.utc)
CATEGORIES = (ServiceCategory.ELDERLY, ServiceCategory.CHILDREN, ServiceCategory.FAMILY)
STATUSES = (ContractStatus.IN_PROGRESS, ContractStatus.COMPLETED, ContractStatus.CLOSED, ContractStatus.SIGNED)
TYPES = tuple(ActivityType)


def add_people(org_ids: list[int], community_id: int) -> list[Beneficiary]:
    """Six people; two registers hold the same person (one key), and one person has no number."""
    rows = []
    for n, (org_id, key) in enumerate([(org_ids[0], "k-1"), (org_ids[1], "k-1"), (org_ids[0], "k-2"),
                                       (org_ids[0], None), (org_ids[1], "k-3"), (org_ids[1], None)]):
        rows.append(Beneficiary(organization_id=org_id, name=f"对象{n}", gender=(Gender.FEMALE, Gender.MALE)[n % 2],
                                birth_year=1940 + n, community_id=community_id, categories=[], id_match_key=key,
                                consent_by=ConsentBy.SELF, consent_method=ConsentMethod.WRITTEN,
                                consent_on=AT.date(), created_at=AT))
    db.session.add_all(rows)
    db.session.flush()
    return rows


def add_contracts(year: int, n: int, org: Organization, manager, community_id: int, people: list[Beneficiary],
                  mark: str) -> list[int]:
    """n contracts of `org` in fiscal year `year`, each with its own mix of figures."""
    template = indicators.default_version()
    ids = []
    for i in range(n):
        plan = ProjectPlan(fiscal_year=year, title=f"{mark}项目{i}", category=CATEGORIES[i % 3],
                           budget_fen=1_000_000 + i, created_at=AT)
        tender = Tender(plan=plan, number=f"{mark}-T{i}", title=plan.title, method=TenderMethod.SINGLE_SOURCE,
                        ceiling_fen=900_000, price_weight=Decimal("30"), clarification_deadline=AT, bid_deadline=AT,
                        opening_at=AT, status=TenderStatus.AWARDED, status_changed_at=AT, created_at=AT)
        bid = Bid(tender=tender, organization_id=org.id, status=BidStatus.SUBMITTED, status_changed_at=AT,
                  submitted_at=AT, submitted_by_id=manager.id, sealed=b"-", digest="0" * 64,
                  receipt_code=f"{mark}-R{i}", price_fen=800_000)
        db.session.add_all([plan, tender, bid])
        db.session.flush()
        contract = Contract(number=f"{mark}-C{n - i:02d}", tender_id=tender.id, bid_id=bid.id, organization_id=org.id,
                            title=plan.title, original_amount_fen=800_000, amount_fen=800_000 + 1000 * i,
                            start_date=date(year, 1 + i % 6, 1), end_date=date(year, 12, 31),
                            status=STATUSES[i % 4], status_changed_at=AT, created_at=AT,
                            target_cases=i, target_groups=1, target_group_sessions=4, target_events=i % 3,
                            target_person_times=30 + i, target_people=5, target_service_hours=20 * i)
        db.session.add(contract)
        db.session.flush()
        milestone = Milestone(contract_id=contract.id, title="中期", due_date=date(year, 6, 30),
                              tranche_percent=Decimal("50"), status_changed_at=AT)
        db.session.add(milestone)
        db.session.flush()
        for d in range(i % 3):
            file = StoredFile(purpose="deliverable", stored_name=f"{mark}f{i}x{d}", original_name=f"成果{d}.pdf",
                              kind="pdf", size=100, sha256="0" * 64, uploaded_at=AT)
            db.session.add(Deliverable(milestone_id=milestone.id, kind=DeliverableKind.REPORT, title=f"成果{d}",
                                       file=file, uploaded_at=AT))
        for p in range(i % 3):
            db.session.add(Payment(contract_id=contract.id, milestone_id=milestone.id, amount_fen=100_000 + p,
                                   voucher_number=f"{mark}-V{i}-{p}", paid_on=date(year, 7, 1), recorded_at=AT))
        group = ServiceGroup(contract_id=contract.id, name="小组", created_at=AT)
        case = ServiceCase(contract_id=contract.id, beneficiary_id=people[i % len(people)].id, opened_on=AT.date(),
                           created_at=AT)
        db.session.add_all([group, case])
        db.session.flush()
        for j in range(i + 1):
            kind = TYPES[(i + j) % len(TYPES)]
            activity = ServiceActivity(
                contract_id=contract.id, type=kind, activity_date=date(year, 3, 1) + timedelta(days=j),
                start_time=time(9, 0), end_time=time(10, 0), community_id=community_id,
                hours=Decimal("1.25") * (j % 3 + 1) + Decimal("0.1"), head_count=(i * j) % 4,
                group_id=group.id if kind == ActivityType.GROUP_SESSION and j % 2 == 0 else None,
                case_id=case.id if kind == ActivityType.CASE_WORK else None,
                fingerprint=f"{mark}-{i}-{j}", created_at=AT, updated_at=AT)
            activity.participants = [people[(i + j + k) % len(people)] for k in range(j % 4)]
            activity.participant_count = len(activity.participants)
            db.session.add(activity)
        # Rounds: a final and a mid-term, a mid-term alone, one still scoring, none.
        kinds = [[(RoundKind.MIDTERM, "78.50", "pass"), (RoundKind.FINAL, f"{80 + i}.25", "good")],
                 [(RoundKind.MIDTERM, f"{60 + i}.00", "pass")], [], []][i % 4]
        for k, (kind, total, grade) in enumerate(kinds):
            db.session.add(EvaluationRound(
                contract_id=contract.id, kind=kind, title=f"评估{k}", template_version_id=template.id,
                scheduled_start=AT.date(), scheduled_end=AT.date(), status=RoundStatus.FINALIZED,
                status_changed_at=AT, finalized_at=AT + timedelta(days=k), total=Decimal(total), grade=grade,
                created_at=AT))
        if i % 4 == 2:
            db.session.add(EvaluationRound(
                contract_id=contract.id, kind=RoundKind.FINAL, title="评估中", template_version_id=template.id,
                scheduled_start=AT.date(), scheduled_end=AT.date(), status=RoundStatus.SCORING,
                status_changed_at=AT, created_at=AT))
        for f in range(i % 4):
            db.session.add(RedFlag(kind=RedFlagKind.DUPLICATE, key=f"{mark}-{i}-{f}", contract_id=contract.id,
                                   found_at=AT, active=f != 2, explanation="已说明" if f == 1 else ""))
        ids.append(contract.id)
    db.session.flush()
    return ids
