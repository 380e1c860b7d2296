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
    from ..core.formatting import points
    from ..evaluations.consequences import final_grades
    from ..evaluations.labels import GRADE_LABELS

    return [PastGrade(year, round_.contract.title, points(round_.total), str(GRADE_LABELS[round_.grade]))
            for round_, year in final_grades(org.id)]
