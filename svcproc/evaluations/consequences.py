"""What a finalized final evaluation means later: a failed one bars the organization from the next
fiscal year's tenders; every grade is shown to the experts who score the organization's bids."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, defer

from ..contracts.models import Contract
from ..core import versions
from ..extensions import db
from ..procurement.models import ProjectPlan, Tender
from .models import EvaluationRound, RoundKind, RoundStatus


def _final_rounds(*org_ids: int):
    return (sa.select(EvaluationRound, ProjectPlan.fiscal_year)
            .join(Contract, Contract.id == EvaluationRound.contract_id)
            .join(Tender, Tender.id == Contract.tender_id)
            .join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
            .where(Contract.organization_id.in_(org_ids), EvaluationRound.kind == RoundKind.FINAL,
                   EvaluationRound.status == RoundStatus.FINALIZED)
            .options(contains_eager(EvaluationRound.contract),
                     # The frozen figures and results are large and not needed here.
                     defer(EvaluationRound.computed), defer(EvaluationRound.result)))


def failed_final_rounds(org_id: int, fiscal_year: int) -> list[EvaluationRound]:
    """Failed final evaluations of projects of the fiscal year before `fiscal_year`."""
    return list(db.session.execute(
        _final_rounds(org_id).where(EvaluationRound.grade == "fail", ProjectPlan.fiscal_year == fiscal_year - 1)
        .order_by(EvaluationRound.finalized_at)).scalars())


# The ranking changes only with final rounds (their state, grade, score, moment, contract),
# contracts' organization, tender and title, tenders' plan and plans' year: ranked once per version
# of those, per organization, and kept (core/versions.py).
versions.watch("grades", EvaluationRound, "kind", "status", "grade", "total", "finalized_at", "contract_id")
versions.watch("grades", Contract, "organization_id", "tender_id", "title")
versions.watch("grades", Tender, "plan_id")
versions.watch("grades", ProjectPlan, "fiscal_year")
_kept_ranks = versions.Kept("grades", size=256)


def organization_grades(org_id: int, limit: int) -> tuple[list[sa.Row], int, list[tuple[int, str, Any]]]:
    """What the organization's page shows, in one statement whatever its history, and none while
    the final rounds stand as they were: its newest `limit` finalized final evaluations, newest
    first, as rows (`id`, `fiscal_year`, `grade`, `points`, `title` of the contract); how many there
    are in all; and its bidding bars (fiscal year whose tenders refuse its bids, with the title of
    the project whose final round failed and its score). The rounds are ranked by narrow columns,
    which are all the page shows of them, and kept."""
    rank = sa.func.row_number().over(order_by=(ProjectPlan.fiscal_year.desc(), EvaluationRound.finalized_at.desc(),
                                               EvaluationRound.id.desc()))
    ranked = (sa.select(EvaluationRound.id, ProjectPlan.fiscal_year, EvaluationRound.grade,
                        EvaluationRound.total.label("points"), Contract.title, rank.label("n"),
                        sa.func.count().over().label("total"))
              .join(Contract, Contract.id == EvaluationRound.contract_id)
              .join(Tender, Tender.id == Contract.tender_id)
              .join(ProjectPlan, ProjectPlan.id == Tender.plan_id)
              .where(Contract.organization_id == org_id, EvaluationRound.kind == RoundKind.FINAL,
                     EvaluationRound.status == RoundStatus.FINALIZED)).subquery()
    rows = _kept_ranks.get((org_id, limit), lambda: db.session.execute(
        sa.select(ranked).where(sa.or_(ranked.c.n <= limit, ranked.c.grade == "fail")).order_by(ranked.c.n)).all())
    if not rows:
        return [], 0, []
    grades = [row for row in rows if row.n <= limit]
    bars = [(row.fiscal_year + 1, row.title, row.points) for row in rows if row.grade == "fail"]
    return grades, rows[0].total, bars


def final_grades_of(org_ids) -> dict[int, list[tuple[EvaluationRound, int]]]:
    """(round, fiscal year) of every finalized final evaluation of several organizations, newest
    first, in one query (the experts' scoring page)."""
    by_org: dict[int, list[tuple[EvaluationRound, int]]] = {org_id: [] for org_id in org_ids}
    if by_org:
        rows = db.session.execute(_final_rounds(*by_org).order_by(
            ProjectPlan.fiscal_year.desc(), EvaluationRound.finalized_at.desc())).all()
        for round_, year in rows:
            by_org[round_.contract.organization_id].append((round_, year))
    return by_org


