"""Unified social credit codes (GB 32100-2015): the check, and the registration form refusing bad codes."""
from __future__ import annotations

import pytest

from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.registry import creditcode, services
from svcproc.registry.models import Organization
from tests.builders.accounts import UserFactory
from tests.builders.registry import OrganizationFactory, credit_code
from tests.helpers import audit_events, count, in_page, login

REAL_CODES = ["91350100M000100Y43", "91110000802100433B", "91310000775785552L"]
VALID = "91350100M000100Y43"


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert creditcode.validate(code) == code


def test_lower_case_and_spaces_are_normalised():
    assert creditcode.validate(" 91350100m000100y43 ") == VALID
    assert creditcode.validate("9135 0100 M000 100Y 43") == VALID


@pytest.mark.parametrize("n", [0, 1, 42, 9999])
def test_make_builds_valid_codes(n):
    code = credit_code(n)

    assert len(code) == 18
    assert creditcode.validate(code) == code


def _with(code: str, position: int, char: str) -> str:
    return code[:position] + char + code[position + 1:]


@pytest.mark.parametrize("code, reason", [
    pytest.param(_with(VALID, 17, "4"), "check", id="wrong-check-character"),
    pytest.param(_with("91110000802100433B", 17, "C"), "check", id="wrong-check-letter"),
    pytest.param(VALID[:17], "length", id="17-characters"),
    pytest.param(VALID + "0", "length", id="19-characters"),
    pytest.param("", "length", id="empty"),
    pytest.param(_with(VALID, 10, "I"), "charset", id="letter-I"),
    pytest.param(_with(VALID, 10, "O"), "charset", id="letter-O"),
    pytest.param(_with(VALID, 10, "S"), "charset", id="letter-S"),
    pytest.param(_with(VALID, 10, "V"), "charset", id="letter-V"),
    pytest.param(_with(VALID, 10, "Z"), "charset", id="letter-Z"),
    pytest.param(_with(VALID, 12, "-"), "charset", id="punctuation"),
    pytest.param(_with(VALID, 3, "A"), "division", id="letter-in-division-code"),
    pytest.param(_with(VALID, 9, "1"), "org_code", id="wrong-organization-code"),
])
def test_invalid_codes_are_refused_with_the_reason(code, reason):
    with pytest.raises(creditcode.CreditCodeError) as refused:
        creditcode.validate(code)

    assert refused.value.reason == reason


@pytest.mark.parametrize("code, reason", [
    (_with(VALID, 17, "4"), "check"),
    (VALID[:17], "length"),
    (_with(VALID, 10, "O"), "charset"),
    (_with(VALID, 3, "A"), "division"),
])
def test_the_service_refuses_with_a_message_for_the_person(code, reason):
    with pytest.raises(ValidationError) as refused:
        services.validate_credit_code(code)

    assert refused.value.field == "credit_code"
    assert refused.value.message == services.credit_code_message(reason)


def _org_form(code: str, name: str = "成都市武侯区测试社会工作服务中心") -> dict:
    return {"name": name, "credit_code": code, "kind": "service",
            "registration_type": "social_service_agency", "rating": "none", "area_id": ""}


@pytest.mark.parametrize("code, reason", [
    pytest.param(_with(VALID, 17, "4"), "check", id="check"),
    pytest.param(VALID + "0", "length", id="length"),
    pytest.param(_with(VALID, 10, "Z"), "charset", id="charset"),
    pytest.param(_with(VALID, 4, "X"), "division", id="division"),
])
def test_registration_form_refuses_a_wrong_code_and_creates_nothing(client, code, reason):
    login(client, UserFactory(role=Role.PROCUREMENT))
    orgs_before, events_before = count(Organization), len(audit_events())

    response = client.post("/registry/organizations/new", data=_org_form(code))

    assert response.status_code == 422
    assert in_page(lambda: services.credit_code_message(reason)) in response.get_data(as_text=True)
    assert count(Organization) == orgs_before
    assert len(audit_events()) == events_before


def test_registration_form_accepts_a_valid_code_typed_in_lower_case(client):
    login(client, UserFactory(role=Role.PROCUREMENT))

    response = client.post("/registry/organizations/new", data=_org_form(VALID.lower()))

    assert response.status_code == 303
    assert count(Organization, Organization.credit_code == VALID) == 1


def test_a_code_already_registered_is_refused(client):
    existing = OrganizationFactory()
    login(client, UserFactory(role=Role.ADMIN))
    before = count(Organization)

    response = client.post("/registry/organizations/new", data=_org_form(existing.credit_code, name="另一家机构"))

    assert response.status_code == 422
    assert count(Organization) == before
    assert audit_events("organization.created") == []


# --- the parts before the check character (GB 32100-2015 appendix A, GB/T 2260) -----------------


@pytest.mark.parametrize("prefix, division", [
    ("51", "510107"), ("52", "510107"), ("53", "110000"), ("59", "510100"), ("91", "350100"),
    ("93", "510107"), ("12", "100000"), ("N2", "510107"), ("Y1", "440305"), ("A1", "820000"),
    ("31", "650102"), ("72", "540000"),
])
def test_every_part_of_a_well_formed_code_is_accepted(prefix, division):
    code = creditcode.make(prefix, division, "MJ0K1A2B")

    assert creditcode.validate(code) == code


@pytest.mark.parametrize("code, reason", [
    pytest.param("0" * 18, "authority", id="eighteen-zeros"),
    pytest.param(creditcode.make("01", "510107", "MJ0K1A2B"), "authority", id="authority-0"),
    pytest.param(creditcode.make("B1", "510107", "MJ0K1A2B"), "authority", id="authority-B"),
    pytest.param(creditcode.make("X1", "510107", "MJ0K1A2B"), "authority", id="authority-X"),
    pytest.param(creditcode.make("54", "510107", "MJ0K1A2B"), "org_type", id="civil-affairs-4"),
    pytest.param(creditcode.make("50", "510107", "MJ0K1A2B"), "org_type", id="civil-affairs-0"),
    pytest.param(creditcode.make("94", "510107", "MJ0K1A2B"), "org_type", id="commerce-4"),
    pytest.param(creditcode.make("99", "510107", "MJ0K1A2B"), "org_type", id="commerce-9"),
    pytest.param(creditcode.make("Y2", "510107", "MJ0K1A2B"), "org_type", id="other-2"),
    pytest.param(creditcode.make("5A", "510107", "MJ0K1A2B"), "org_type", id="civil-affairs-letter"),
    pytest.param(creditcode.make("52", "000000", "MJ0K1A2B"), "division", id="division-zeros"),
    pytest.param(creditcode.make("52", "990101", "MJ0K1A2B"), "division", id="no-such-province"),
    pytest.param(creditcode.make("52", "390101", "MJ0K1A2B"), "division", id="province-39"),
    pytest.param(creditcode.make("52", "100101", "MJ0K1A2B"), "division", id="national-with-county"),
    pytest.param(creditcode.make("52", "510007", "MJ0K1A2B"), "division", id="county-without-city"),
])
def test_each_part_of_the_code_is_checked_not_only_the_check_character(code, reason):
    assert creditcode.check_character(code[:17]) == code[17]      # the check character alone would pass

    with pytest.raises(creditcode.CreditCodeError) as refused:
        creditcode.validate(code)

    assert refused.value.reason == reason


@pytest.mark.parametrize("code, reason", [
    pytest.param("0" * 18, "authority", id="authority"),
    pytest.param(creditcode.make("54", "510107", "MJ0K1A2B"), "org_type", id="org_type"),
    pytest.param(creditcode.make("52", "990101", "MJ0K1A2B"), "division", id="division"),
])
def test_registration_form_refuses_each_part_and_creates_nothing(client, code, reason):
    login(client, UserFactory(role=Role.PROCUREMENT))
    orgs_before, events_before = count(Organization), len(audit_events())

    response = client.post("/registry/organizations/new", data=_org_form(code))

    assert response.status_code == 422
    assert in_page(lambda: services.credit_code_message(reason)) in response.get_data(as_text=True)
    assert count(Organization) == orgs_before
    assert len(audit_events()) == events_before
