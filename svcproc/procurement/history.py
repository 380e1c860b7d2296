"""An organization's record from earlier projects, shown to experts while they score its bid."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PastGrade:
    fiscal_year: int
    project: str
    score: str
    grade: str


def past_grades(org) -> list[PastGrade]:
    """Final evaluation grades of the organization's earlier contracts, newest first."""
    return past_grades_of([org.id])[org.id]


def past_grades_of(org_ids) -> dict[int, list[PastGrade]]:
    """past_grades of several organizations in one query."""
    from ..core.formatting import points
    from ..evaluations.consequences import final_grades_of
    from ..evaluations.labels import GRADE_LABELS

    return {org_id: [PastGrade(year, round_.contract.title, points(round_.total), str(GRADE_LABELS[round_.grade]))
                     for round_, year in rounds]
            for org_id, rounds in final_grades_of(set(org_ids)).items()}
