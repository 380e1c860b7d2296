"""Performance targets (绩效目标), set on a plan and carried to the contract and its evaluation."""
from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

TARGET_FIELDS = (
    "target_cases", "target_groups", "target_group_sessions", "target_events",
    "target_person_times", "target_people", "target_service_hours", "target_satisfaction",
)


class TargetsMixin:
    target_cases: Mapped[int] = mapped_column(default=0)            # case-work cases (个案)
    target_groups: Mapped[int] = mapped_column(default=0)           # groups (小组)
    target_group_sessions: Mapped[int] = mapped_column(default=0)   # group sessions in all
    target_events: Mapped[int] = mapped_column(default=0)           # community events (社区活动)
    target_person_times: Mapped[int] = mapped_column(default=0)     # person-times (人次)
    target_people: Mapped[int] = mapped_column(default=0)           # distinct people (人数)
    target_service_hours: Mapped[int] = mapped_column(default=0)
    target_satisfaction: Mapped[int] = mapped_column(default=0)     # percent satisfied

    def targets(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TARGET_FIELDS}
