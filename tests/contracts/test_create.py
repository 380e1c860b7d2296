"""Drawing up a contract: only from a confirmed award, once per award, with the awarded price, the
plan's targets, and a term of a year (longer with a reason, never three years or more)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import Contract, ContractStatus
from svcproc.core.errors import PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.core.targets import TARGET_FIELDS
from svcproc.extensions import db
from svcproc.procurement.models import TenderStatus
from tests.builders.accounts import user_for_role
from tests.helpers import audit_events, count, login

from tests.builders.contracts import CONTENTS, local_today
from tests.builders.procurement import tender_in
from .conftest import refused

NOT_AWARDED = [s for s in TenderStatus if s != TenderStatus.AWARDED]


def _create(setup, start: date | None = None, end: date | None = None, reason: str = "", actor="staff", **content):
    start = start or local_today() + timedelta(days=7)
    end = end or start + timedelta(days=300)
    actor = setup.staff if actor == "staff" else actor
    return workflow.create_contract(actor, setup.tender, start_date=start, end_date=end, long_term_reason=reason,
                                    **{**CONTENTS, **content})


def test_the_award_fixture_went_through_the_whole_procurement(awarded):
    tender = awarded.tender

    assert tender.status == TenderStatus.AWARDED
    assert tender.awarded_bid.organization_id == awarded.orgs[0].id
    assert [e.action for e in audit_events() if e.object_type == "tender"][-1] == "tender.awarded"
    assert {e.action for e in audit_events()} >= {"tender.published", "bid.submitted", "tender.opened",
                                                  "tender.scored", "tender.publicity_started"}


def test_a_contract_is_drawn_up_from_the_award(clock, awarded):
    start = local_today() + timedelta(days=7)

    contract = _create(awarded, start, start + timedelta(days=364))

    winner = awarded.tender.awarded_bid
    assert contract.status == ContractStatus.DRAFT
    assert (contract.tender_id, contract.bid_id, contract.organization_id) == (awarded.tender.id, winner.id,
                                                                               awarded.orgs[0].id)
    assert contract.amount_fen == contract.original_amount_fen == winner.price_fen == awarded.prices[0]
    assert contract.number == "2025-HT-001"
    assert contract.title == awarded.tender.title
    assert {k: getattr(contract, k) for k in CONTENTS} == CONTENTS
    assert contract.created_at == contract.status_changed_at == clock.now
    assert contract.created_by_id == awarded.staff.id
    [event] = audit_events("contract.created")
    assert event.object_id == str(contract.id) and event.actor_id == awarded.staff.id
    assert event.changes["amount_fen"] == [None, winner.price_fen]


def test_the_targets_are_copied_from_the_plan(clock):
    targets = dict(target_cases=17, target_groups=3, target_group_sessions=19, target_events=5,
                   target_person_times=1234, target_people=321, target_service_hours=777, target_satisfaction=88)
    setup = tender_in(TenderStatus.AWARDED, clock, plan_targets=targets)

    contract = _create(setup)

    assert contract.targets() == targets == setup.plan.targets()
    assert set(targets) == set(TARGET_FIELDS)


def test_contract_numbers_count_up_within_the_fiscal_year(clock):
    first = tender_in(TenderStatus.AWARDED, clock)
    second = tender_in(TenderStatus.AWARDED, clock)

    numbers = [_create(first).number, _create(second).number]

    assert numbers == ["2025-HT-001", "2025-HT-002"]


@pytest.mark.parametrize("status", NOT_AWARDED, ids=lambda s: s.value)
def test_no_award_no_contract(clock, status):
    setup = tender_in(status, clock)
    assert setup.tender.status == status

    with refused("only be drawn up from a confirmed award"):
        _create(setup)

    assert count(Contract) == 0


def test_one_contract_per_award(awarded):
    first = _create(awarded)

    with refused("already has its contract"):
        _create(awarded)

    assert db.session.get(Contract, first.id).tender_id == awarded.tender.id
    assert count(Contract) == 1


@pytest.mark.parametrize("role", [r for r in Role if r != Role.PROCUREMENT], ids=lambda r: r.value)
def test_only_procurement_staff_draw_up_contracts(awarded, role):
    actor = user_for_role(role, awarded.orgs[0] if role in (Role.ORG_MANAGER, Role.SOCIAL_WORKER) else None)

    with refused(exc=PermissionDenied):
        _create(awarded, actor=actor)


# --- through the web ----------------------------------------------------------------------------


def _form(start: date, end: date, **changes) -> dict:
    data = {"title": "玉林街道独居老人关爱服务项目", "start_date": start.isoformat(), "end_date": end.isoformat(),
            "long_term_reason": "", **CONTENTS, **{k: "10" for k in TARGET_FIELDS}}
    data.update(changes)
    return data


def test_drawing_up_through_the_page(client, awarded):
    login(client, awarded.staff)
    start = local_today() + timedelta(days=7)

    response = client.post(f"/contracts/new?tender={awarded.tender.id}", data=_form(start, start + timedelta(days=300)))

    contract = db.session.execute(db.select(Contract)).unique().scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/contracts/{contract.id}/edit"
    assert contract.amount_fen == awarded.prices[0]
    assert contract.target_cases == 10  # as typed in the form, starting from the plan's values
    assert [e.action for e in audit_events() if e.object_type == "contract"] == ["contract.created", "contract.updated"]


def test_the_form_starts_from_the_plans_targets(client, awarded):
    login(client, awarded.staff)

    response = client.get(f"/contracts/new?tender={awarded.tender.id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'name="target_people" type="text" value="{awarded.plan.target_people}"' in html or \
        f'value="{awarded.plan.target_people}"' in html


@pytest.mark.parametrize("status", [TenderStatus.IN_PUBLICITY, TenderStatus.CANCELLED], ids=lambda s: s.value)
def test_the_page_refuses_a_tender_without_award(client, clock, status):
    setup = tender_in(status, clock)
    login(client, setup.staff)
    start = local_today() + timedelta(days=7)

    response = client.post(f"/contracts/new?tender={setup.tender.id}", data=_form(start, start + timedelta(days=30)))

    assert response.status_code == 409
    assert count(Contract) == 0


def test_the_page_refuses_a_second_contract(client, awarded):
    first = _create(awarded)
    login(client, awarded.staff)
    start = local_today() + timedelta(days=7)

    response = client.post(f"/contracts/new?tender={awarded.tender.id}", data=_form(start, start + timedelta(days=30)))

    assert response.status_code == 409
    assert [c.id for c in db.session.execute(db.select(Contract)).unique().scalars()] == [first.id]


# --- the term -----------------------------------------------------------------------------------

START = date(2025, 4, 1)


@pytest.mark.parametrize("start, end, reason", [
    pytest.param(START, START, "", id="one-day"),
    pytest.param(START, date(2026, 3, 31), "", id="exactly-one-year"),
    pytest.param(START, date(2026, 4, 1), "服务具有连续性，需跨年度稳定提供。", id="a-day-over-a-year-with-reason"),
    pytest.param(START, date(2028, 3, 31), "服务具有连续性，需跨年度稳定提供。", id="exactly-three-years-with-reason"),
    pytest.param(date(2024, 2, 29), date(2025, 2, 27), "", id="leap-day-start-one-year"),
    pytest.param(date(2024, 2, 29), date(2027, 2, 27), "长期稳定服务", id="leap-day-start-three-years"),
])
def test_terms_allowed(start, end, reason):
    workflow.check_term(start, end, reason)  # no refusal


@pytest.mark.parametrize("start, end, reason, message", [
    pytest.param(START, date(2026, 4, 1), "", "longer than one year needs a stated reason", id="over-a-year"),
    pytest.param(START, date(2026, 4, 1), "   ", "longer than one year needs a stated reason", id="blank-reason"),
    pytest.param(START, date(2027, 6, 30), "", "longer than one year needs a stated reason", id="two-years"),
    pytest.param(START, date(2028, 4, 1), "长期稳定服务", "three years at most", id="a-day-over-three-years"),
    pytest.param(START, date(2030, 1, 1), "长期稳定服务", "three years at most", id="five-years"),
    pytest.param(date(2024, 2, 29), date(2025, 2, 28), "", "longer than one year", id="leap-day-start-over-a-year"),
    pytest.param(date(2024, 2, 29), date(2027, 2, 28), "长期稳定服务", "three years at most",
                 id="leap-day-start-over-three-years"),
    pytest.param(START, date(2025, 3, 31), "", "ends before it starts", id="ends-before-start"),
    pytest.param(None, date(2025, 3, 31), "", "start and end dates", id="no-start"),
    pytest.param(START, None, "", "start and end dates", id="no-end"),
])
def test_terms_refused(start, end, reason, message):
    with pytest.raises(ValidationError, match=message):
        workflow.check_term(start, end, reason)


@pytest.mark.parametrize("end, reason, refusal", [
    pytest.param(date(2026, 4, 5), "", None, id="within-a-year"),
    pytest.param(date(2026, 4, 6), "", "one year needs a stated reason", id="over-a-year-without-reason"),
    pytest.param(date(2026, 4, 6), "居家养老服务需连续稳定提供", None, id="over-a-year-with-reason"),
    pytest.param(date(2028, 4, 5), "居家养老服务需连续稳定提供", None, id="three-years-with-reason"),
    pytest.param(date(2028, 4, 6), "居家养老服务需连续稳定提供", "three years at most", id="over-three-years"),
])
def test_create_applies_the_term_rules(awarded, end, reason, refusal):
    start = date(2025, 4, 6)
    if refusal is None:
        contract = _create(awarded, start, end, reason)
        assert (contract.start_date, contract.end_date, contract.long_term_reason) == (start, end, reason)
    else:
        with refused(refusal):
            _create(awarded, start, end, reason)
        assert count(Contract) == 0


def test_a_draft_cannot_be_edited_into_a_long_term_without_reason(build):
    setup = build(ContractStatus.DRAFT)
    contract = setup.contract

    with refused("needs a stated reason"):
        workflow.update_contract(setup.staff, contract, end_date=contract.start_date + timedelta(days=400))

    assert contract.end_date == contract.start_date + timedelta(days=364)


def test_a_draft_cannot_be_edited_beyond_three_years(build):
    setup = build(ContractStatus.DRAFT)
    contract = setup.contract

    with refused("three years at most"):
        workflow.update_contract(setup.staff, contract, end_date=contract.start_date + timedelta(days=3 * 366),
                                 long_term_reason="长期服务")


def test_only_a_draft_is_edited(build):
    setup = build(ContractStatus.SIGNED)

    with refused("Not possible while the contract is"):
        workflow.update_contract(setup.staff, setup.contract, title="改过的标题")


def test_an_edit_is_audited_with_before_and_after(build):
    setup = build(ContractStatus.DRAFT)
    contract = setup.contract
    old_end = contract.end_date

    workflow.update_contract(setup.staff, contract, end_date=old_end - timedelta(days=30), quality="更严格的质量要求")

    [event] = audit_events("contract.updated")
    assert event.changes == {"end_date": [old_end.isoformat(), (old_end - timedelta(days=30)).isoformat()],
                             "quality": [CONTENTS["quality"], "更严格的质量要求"]}


def test_an_edit_changing_nothing_writes_no_event(build):
    setup = build(ContractStatus.DRAFT)
    version = setup.contract.version

    workflow.update_contract(setup.staff, setup.contract, quality=" " + CONTENTS["quality"] + " ")

    assert audit_events("contract.updated") == []
    assert setup.contract.version == version


def test_negative_targets_are_refused(build):
    setup = build(ContractStatus.DRAFT)

    with refused("cannot be negative"):
        workflow.update_contract(setup.staff, setup.contract, target_cases=-1)


def test_awards_waiting_for_a_contract_are_listed_for_procurement(client, awarded):
    login(client, awarded.staff)

    page = client.get("/contracts").get_data(as_text=True)

    assert f'href="/contracts/new?tender={awarded.tender.id}"' in page
    assert awarded.orgs[0].name in page


def test_an_award_with_its_contract_is_no_longer_waiting(client, awarded):
    _create(awarded)
    login(client, awarded.staff)

    page = client.get("/contracts").get_data(as_text=True)

    assert f'href="/contracts/new?tender={awarded.tender.id}"' not in page


def test_the_waiting_awards_are_kept_until_a_contract_is_drawn_up(client, awarded, count_queries):
    """Read once per version of the procurement queues' data (core/versions.py): a second page of
    the list reads no tenders, and a contract drawn up shows on the next one."""
    login(client, awarded.staff)
    waiting = f'href="/contracts/new?tender={awarded.tender.id}"'
    assert waiting in client.get("/contracts").get_data(as_text=True)
    with count_queries() as again:
        page = client.get("/contracts").get_data(as_text=True)
    assert waiting in page and awarded.orgs[0].name in page
    assert not [s for s in again.statements if "FROM tender" in s], again.statements

    _create(awarded)

    assert waiting not in client.get("/contracts").get_data(as_text=True)
