"""How long an organization's rating (1A-5A) holds: RATING_VALID_YEARS from the day it was given
(民政部令第39号); an expired rating is shown as expired and counts as no rating."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, has_app_context

from .models import Organization, OrgRating

DEFAULT_VALID_YEARS = 5


def valid_years() -> int:
    return int(current_app.config.get("RATING_VALID_YEARS", DEFAULT_VALID_YEARS)) if has_app_context() \
        else DEFAULT_VALID_YEARS


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def expires_on(org: Organization) -> date | None:
    """The first day the rating no longer holds (None: no rating, or a rating with no recorded date)."""
    if org.rating is OrgRating.NONE or org.rated_on is None:
        return None
    return add_years(org.rated_on, valid_years())


@dataclass(frozen=True)
class RatingState:
    rating: OrgRating          # the rating as recorded
    effective: OrgRating       # what it counts as on the day asked: NONE once expired
    rated_on: date | None
    expires_on: date | None

    @property
    def expired(self) -> bool:
        return self.rating is not OrgRating.NONE and self.effective is OrgRating.NONE


def rating_state(org: Organization, on: date | None = None) -> RatingState:
    if on is None:
        from ..core import clock

        on = clock.to_local(clock.now()).date()
    ends = expires_on(org)
    effective = OrgRating.NONE if ends is not None and on >= ends else org.rating
    return RatingState(org.rating, effective, org.rated_on, ends)


def effective_rating(org: Organization, on: date | None = None) -> OrgRating:
    return rating_state(org, on).effective
