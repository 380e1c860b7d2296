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
    """Final evaluation grades of the organization's earlier contracts, newest first.

    Evaluations arrive with the evaluation module; until an organization has a finished final
    evaluation the list is empty and the scoring page says so.
    """
    return []
