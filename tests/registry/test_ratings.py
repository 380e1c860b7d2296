"""An organization's rating holds five years from the day it was given: shown as expired after, and
counted as no rating where a rating is required."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement.eligibility import eligibility_problems
from svcproc.registry import ratings, services
from svcproc.registry.models import Organization, OrgKind, OrgRating, RegistrationType
from tests.builders.accounts import UserFactory
from tests.builders.registry import OrganizationFactory, credit_code
from tests.helpers import audit_events, count, login

pytestmark = pytest.mark.usefixtures("shared_connection")

RATED_ON = date(2020, 6, 17)


def _at(clock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc))   # 10:00 in Shanghai


@pytest.mark.parametrize("day, expired", [
    (date(2025, 6, 16), False),    # the last day of the fifth year
    (date(2025, 6, 17), True),     # five years on: expired
    (date(2027, 1, 1), True),
], ids=["last-valid-day", "five-years-on", "later"])
def test_a_rating_expires_five_years_after_it_was_given(clock, day, expired):
    org = OrganizationFactory(rating=OrgRating.A4, rated_on=RATED_ON)

    state = ratings.rating_state(org, day)

    assert state.expires_on == date(2025, 6, 17)
    assert state.expired is expired
    assert state.effective == (OrgRating.NONE if expired else OrgRating.A4)
    assert state.rating == OrgRating.A4


def test_a_rating_given_on_29_february_expires_on_28_february():
    org = OrganizationFactory(rating=OrgRating.A3, rated_on=date(2020, 2, 29))

    assert ratings.expires_on(org) == date(2025, 2, 28)


def test_the_years_are_a_setting(app):
    org = OrganizationFactory(rating=OrgRating.A3, rated_on=RATED_ON)
    app.config["RATING_VALID_YEARS"] = 3
    try:
        assert ratings.expires_on(org) == date(2023, 6, 17)
    finally:
        app.config["RATING_VALID_YEARS"] = 5


@pytest.mark.parametrize("day, counted", [(date(2025, 6, 16), True), (date(2025, 6, 17), False)],
                         ids=["last-valid-day", "expired"])
def test_an_expired_rating_does_not_meet_a_tenders_minimum(clock, day, counted):
    org = OrganizationFactory(rating=OrgRating.A4, rated_on=RATED_ON)
    tender = SimpleNamespace(min_rating=OrgRating.A3, plan=SimpleNamespace(fiscal_year=2025))
    _at(clock, day)

    problems = eligibility_problems(org, tender)

    if counted:
        assert problems == []
    else:
        [problem] = problems
        assert "2025-06-17" in problem and "4A" in problem


def test_the_organization_page_shows_an_expired_rating_as_expired(client, clock):
    org = OrganizationFactory(rating=OrgRating.A4, rated_on=RATED_ON)
    login(client, UserFactory(role=Role.AUDITOR))
    _at(clock, date(2025, 6, 17))

    page = client.get(f"/registry/organizations/{org.id}").get_data(as_text=True)
    listed = client.get("/registry/organizations").get_data(as_text=True)

    assert "2025-06-17" in page and "2020-06-17" in page
    assert "badge-expired" in page and "badge-expired" in listed


def test_a_rating_cannot_be_dated_in_the_future(clock):
    before = (count(Organization), len(audit_events()))

    with pytest.raises(ValidationError) as refused:
        services.create_organization(UserFactory(role=Role.PROCUREMENT), name="未来评级社工中心",
                                     credit_code=credit_code(888_001), kind=OrgKind.SERVICE,
                                     registration_type=RegistrationType.SOCIAL_SERVICE_AGENCY,
                                     rating=OrgRating.A3, rated_on=date(2031, 1, 1))

    assert refused.value.field == "rated_on"
    assert (count(Organization), len(audit_events())) == before


def test_the_day_of_rating_is_recorded_and_audited(clock):
    org = services.create_organization(UserFactory(role=Role.PROCUREMENT), name="评级社工中心",
                                       credit_code=credit_code(888_002), kind=OrgKind.SERVICE,
                                       registration_type=RegistrationType.SOCIAL_SERVICE_AGENCY,
                                       rating=OrgRating.A3, rated_on=RATED_ON)

    assert org.rated_on == RATED_ON
    [event] = audit_events("organization.created", object_id=str(org.id))
    assert event.changes["rated_on"] == [None, "2020-06-17"]


def _form(org: Organization, **changes) -> dict:
    data = {"name": org.name, "credit_code": org.credit_code, "kind": org.kind.value,
            "registration_type": org.registration_type.value, "rating": org.rating.value, "area_id": "",
            "address": org.address, "contact_name": "", "contact_phone": "", "contact_email": "",
            "version": str(org.version)}
    data.update(changes)
    return data


def test_the_bureau_records_the_day_of_rating_through_the_form(client, clock):
    org = OrganizationFactory(rating=OrgRating.A3, rated_on=date(2019, 1, 10))
    login(client, UserFactory(role=Role.PROCUREMENT))

    response = client.post(f"/registry/organizations/{org.id}/edit",
                           data=_form(org, rating="4A", rated_on="2024-12-20"))

    assert response.status_code == 303
    db_org = db.session.get(Organization, org.id)
    db.session.refresh(db_org)
    assert (db_org.rating, db_org.rated_on) == (OrgRating.A4, date(2024, 12, 20))
    [event] = audit_events("organization.updated", object_id=str(org.id))
    assert event.changes["rated_on"] == ["2019-01-10", "2024-12-20"]


def test_an_organization_cannot_date_its_own_rating(client, clock):
    org = OrganizationFactory(rating=OrgRating.A3, rated_on=date(2019, 1, 10))
    login(client, UserFactory(role=Role.ORG_MANAGER, organization=org))

    response = client.post(f"/registry/organizations/{org.id}/edit",
                           data=_form(org, rating="5A", rated_on="2025-01-01", address="新地址"))

    assert response.status_code == 303
    db_org = db.session.get(Organization, org.id)
    db.session.refresh(db_org)
    assert (db_org.rating, db_org.rated_on, db_org.address) == (OrgRating.A3, date(2019, 1, 10), "新地址")
