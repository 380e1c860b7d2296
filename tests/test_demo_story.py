"""The demo tells a true story: after `svcproc demo` (loaded once for this module, through the CLI
runner as in test_cli.py, on the suite's frozen day) every contract's outputs are within reach of
its targets for the share of its term gone by, each project serves its own target group, and every
demo login finds something waiting for it, each as the query a home-page work queue would run."""
from __future__ import annotations

import contextvars
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from svcproc.accounts.models import User
from svcproc.contracts.models import Contract, Milestone, MilestoneStatus
from svcproc.core import clock
from svcproc.core.permissions import Role
from svcproc.delivery import progress
from svcproc.delivery.models import Beneficiary, RedFlag, ServiceActivity, activity_participant, activity_worker
from svcproc.demo import USERS
from svcproc.evaluations.models import EvaluationRound, RoundEvaluator, RoundStatus, TemplateVersion, VersionStatus
from svcproc.extensions import db
from svcproc.procurement import workflow as procurement_workflow
from svcproc.procurement.models import (Bid, BidStatus, CommunityNeed, NeedStatus, ProjectPlan, ServiceCategory, Tender,
                                        TenderExpert, TenderStatus)
from svcproc.registry.models import SocialWorker

# The tests read the demo on the day it was loaded.
pytestmark = pytest.mark.usefixtures("shared_connection", "clock")

DEMO_PASSWORD = "Demo-Passw0rd-9"
# How far ahead a deliverable counts as due.
DUE_SOON = timedelta(days=14)


@pytest.fixture(scope="module", autouse=True)
def demo(app, build_once):
    def load(_clock):
        result = contextvars.Context().run(app.test_cli_runner().invoke, args=["demo", "--password", DEMO_PASSWORD])
        assert result.exit_code == 0, result.output

    build_once(load)


def _today() -> date:
    return clock.to_local(clock.now()).date()


def _user(username: str) -> User:
    return db.session.execute(sa.select(User).where(User.username == username)).unique().scalar_one()


def _count(stmt) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()


def _contracts() -> list[Contract]:
    return db.session.execute(sa.select(Contract).order_by(Contract.id)).unique().scalars().all()


def elapsed(contract: Contract, today: date) -> float:
    """The share of the contract's term gone by today, from 0 (not started) to 1 (ended)."""
    days = (contract.end_date - contract.start_date).days
    return min(1.0, max(0.0, (today - contract.start_date).days / days))


def plausible(share: float) -> tuple[float, float]:
    """The range of a target an output may reach at this share of the term: from 10 points below
    the share to 20 points above it, at most 110 % (mid-term 40–70 %, at the end 90–110 %)."""
    return max(0.0, share - .1), min(share + .2, 1.1)


# --- outputs against targets ----------------------------------------------------------------------


def test_every_output_is_within_reach_of_its_target_for_the_term_gone_by():
    today = _today()
    shares = []
    for contract in _contracts():
        share = elapsed(contract, today)
        shares.append(share)
        low, high = plausible(share)
        for name, actual, target in progress.compute(contract.id).against(contract):
            if target:
                assert low * target <= actual <= high * target, (contract.number, name, actual, target, round(share, 2))
    # The story holds a project at its mid-term, one that has ended and one not yet started.
    assert any(.4 <= s <= .6 for s in shares) and 1.0 in shares and 0.0 in shares


# --- the people served ---------------------------------------------------------------------------


def _ages_served(category: ServiceCategory) -> list[int]:
    """Ages (by year of birth, as the register records them) of everyone named in the entries of
    the contracts of this category's projects."""
    year = _today().year
    A, P = ServiceActivity, activity_participant
    return list(db.session.execute(
        sa.select(year - Beneficiary.birth_year).distinct()
        .select_from(Beneficiary).join(P, P.c.beneficiary_id == Beneficiary.id).join(A, A.id == P.c.activity_id)
        .join(Contract, Contract.id == A.contract_id).join(Tender, Tender.id == Contract.tender_id)
        .join(ProjectPlan, ProjectPlan.id == Tender.plan_id).where(ProjectPlan.category == category)).scalars())


def test_childrens_projects_serve_children():
    ages = _ages_served(ServiceCategory.CHILDREN)

    assert ages and max(ages) < 18


def test_elderly_care_serves_people_of_60_and_over():
    ages = _ages_served(ServiceCategory.ELDERLY)

    assert ages and min(ages) >= 60


# --- what waits for each person ------------------------------------------------------------------


def _needs_to_answer():
    return sa.select(CommunityNeed.id).where(CommunityNeed.status == NeedStatus.SUBMITTED)


def _tenders_to_open():
    return sa.select(Tender.id).where(Tender.status.in_([TenderStatus.PUBLISHED, TenderStatus.BIDDING_CLOSED]),
                                      Tender.opening_at <= clock.now())


def _milestones(status: MilestoneStatus):
    return sa.select(Milestone.id).where(Milestone.status == status)


def _tenders_to_score(user: User):
    return (sa.select(TenderExpert.id).join(Tender, Tender.id == TenderExpert.tender_id)
            .where(TenderExpert.user_id == user.id, Tender.status == TenderStatus.OPENED,
                   TenderExpert.submitted_at.is_(None), TenderExpert.conflicted.is_not(True)))


def _tenders_open_for_bids(user: User):
    mine = sa.select(Bid.tender_id).where(Bid.organization_id == user.organization_id,
                                          Bid.status == BidStatus.SUBMITTED)
    return sa.select(Tender.id).where(Tender.status == TenderStatus.PUBLISHED, Tender.bid_deadline > clock.now(),
                                      Tender.id.not_in(mine))


def _deliverables_due(user: User):
    return (sa.select(Milestone.id).join(Contract, Contract.id == Milestone.contract_id)
            .where(Contract.organization_id == user.organization_id,
                   Milestone.status.in_([MilestoneStatus.PENDING, MilestoneStatus.RETURNED]),
                   Milestone.due_date <= _today() + DUE_SOON))


def _flags_to_explain(user: User):
    return (sa.select(RedFlag.id).join(Contract, Contract.id == RedFlag.contract_id)
            .where(Contract.organization_id == user.organization_id, RedFlag.active.is_(True),
                   RedFlag.explanation == ""))


def _my_entries_this_week(user: User):
    return (sa.select(ServiceActivity.id).join(activity_worker, activity_worker.c.activity_id == ServiceActivity.id)
            .join(SocialWorker, SocialWorker.id == activity_worker.c.social_worker_id)
            .where(SocialWorker.user_id == user.id, ServiceActivity.activity_date >= _today() - timedelta(days=6)))


def _rounds_to_score(user: User):
    return (sa.select(RoundEvaluator.id).join(EvaluationRound, EvaluationRound.id == RoundEvaluator.round_id)
            .where(RoundEvaluator.user_id == user.id, RoundEvaluator.submitted_at.is_(None),
                   RoundEvaluator.conflicted.is_not(True),
                   EvaluationRound.status.in_([RoundStatus.PLANNED, RoundStatus.SCORING])))


def _templates_in_draft():
    return sa.select(TemplateVersion.id).where(TemplateVersion.status == VersionStatus.DRAFT)


def _active_flags():
    return sa.select(RedFlag.id).where(RedFlag.active.is_(True))


QUEUES = {
    Role.ADMIN: lambda user: [_templates_in_draft()],
    Role.PROCUREMENT: lambda user: [_needs_to_answer(), _tenders_to_open(), _milestones(MilestoneStatus.SUBMITTED),
                                    _milestones(MilestoneStatus.ACCEPTED)],
    Role.EXPERT: lambda user: [_tenders_to_score(user)],
    Role.ORG_MANAGER: lambda user: [_tenders_open_for_bids(user), _deliverables_due(user), _flags_to_explain(user)],
    Role.SOCIAL_WORKER: lambda user: [_my_entries_this_week(user)],
    Role.EVALUATOR: lambda user: [_rounds_to_score(user)],
    Role.AUDITOR: lambda user: [_active_flags()],
}


@pytest.mark.parametrize("username", [username for username, *_rest in USERS])
def test_every_demo_login_finds_something_waiting(username):
    user = _user(username)

    waiting = [_count(query) for query in QUEUES[user.role](user)]

    assert sum(waiting) > 0


@pytest.mark.parametrize("username", ["procurement", "orgmanager"])
def test_the_main_logins_find_every_kind_of_work_waiting(username):
    """Procurement: a need to answer, a tender to open, a milestone to accept, a payment due.
    The organization's manager: a tender open for bids, a deliverable due, a red flag to explain."""
    user = _user(username)

    waiting = [_count(query) for query in QUEUES[user.role](user)]

    assert all(waiting), waiting


def test_a_tender_waits_for_the_experts_scores():
    expert = _user("expert")

    member = db.session.execute(_tenders_to_score(expert).with_only_columns(TenderExpert)).scalars().first()

    assert member is not None and member.tender.status == TenderStatus.OPENED
    assert procurement_workflow.missing_scores(member) > 0


def test_a_milestone_was_returned_for_more_work():
    milestone = db.session.execute(
        sa.select(Milestone).where(Milestone.status == MilestoneStatus.RETURNED)).scalars().first()

    assert milestone is not None and milestone.review_comment
