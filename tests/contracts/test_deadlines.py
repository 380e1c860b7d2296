"""The deadlines after the award: each counted from its moment in the record (working days over the
national holiday arrangement and its adjusted working Saturdays, calendar days for the signature
and payment), the contract's payment term refused past 60 days, the red flags raised the day after
a deadline and not on it, and the reminders shown only to the people who act on them."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from svcproc.audit.models import AuditEvent
from svcproc.contracts import deadlines, workflow
from svcproc.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus, Payment
from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.core.workdays import LocalCalendarDay, LocalDayKind
from svcproc.extensions import db
from svcproc.monitoring import flags
from svcproc.monitoring.models import FlagKind
from svcproc.procurement import workflow as procurement
from svcproc.procurement.models import TenderStatus
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.contracts import contract_in, draft_contract, local_today
from tests.builders.procurement import tender_in
from tests.helpers import login
from tests.monitoring.builders import Planted, _contract, _tender, _valid

C = ContractStatus


def local(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Shanghai on `day`, as a UTC moment."""
    return datetime.combine(day, time(hour), tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


# --- the deadlines counted ---------------------------------------------------------------------

# 2026: the Spring Festival holiday runs 15-23 February, Saturday 14 and Saturday 28 February are
# working days; the May Day holiday runs 1-5 May and Saturday 9 May is a working day.
@pytest.mark.parametrize("decided, due", [
    (date(2026, 2, 11), date(2026, 2, 13)),   # Wednesday: Thursday, Friday
    (date(2026, 2, 12), date(2026, 2, 14)),   # Thursday: Friday, then the adjusted working Saturday
    (date(2026, 2, 13), date(2026, 2, 24)),   # Friday: Saturday 14, then across the holiday to Tuesday 24
    (date(2026, 4, 30), date(2026, 5, 7)),    # Thursday before May Day: Wednesday 6, Thursday 7
    (date(2026, 5, 7), date(2026, 5, 9)),     # Thursday: Friday, then the adjusted working Saturday 9
    (date(2026, 6, 18), date(2026, 6, 23)),   # Thursday before the Dragon Boat Festival (Friday 19)
], ids=["plain-week", "onto-a-working-saturday", "across-the-spring-festival", "across-may-day",
        "onto-saturday-9-may", "across-dragon-boat"])
def test_the_award_notice_is_due_on_the_second_working_day(db_session, decided, due):
    assert deadlines.award_notice_due(local(decided)) == due
    # late evening in Shanghai is still that day (stored in UTC, the day before at 15:00 or later)
    assert deadlines.award_notice_due(local(decided, 23)) == due


@pytest.mark.parametrize("signed, due", [
    (date(2026, 2, 12), date(2026, 2, 14)),
    (date(2026, 2, 13), date(2026, 2, 24)),
    (date(2026, 9, 30), date(2026, 10, 9)),   # National Day: 1-7 October off, Friday 9 the second day after 8
], ids=["onto-a-working-saturday", "across-the-spring-festival", "across-national-day"])
def test_the_contract_notice_is_due_on_the_second_working_day_after_signing(db_session, signed, due):
    assert deadlines.contract_notice_due(signed) == due


def test_a_year_the_national_calendar_does_not_know_counts_monday_to_friday(db_session):
    # The installed arrangement ends with 2026; 2027 counts weekdays (and the bureau's local days).
    assert deadlines.award_notice_due(local(date(2027, 1, 7))) == date(2027, 1, 11)   # Thu -> Fri, Mon


def test_a_local_day_off_moves_the_deadline(db_session):
    db.session.add(LocalCalendarDay(day=date(2026, 3, 13), kind=LocalDayKind.DAY_OFF, name="区级活动日",
                                    created_at=local(date(2026, 3, 1))))
    db.session.flush()

    assert deadlines.award_notice_due(local(date(2026, 3, 12))) == date(2026, 3, 17)   # Fri off: Mon, Tue


def test_the_contract_is_due_signed_on_the_thirtieth_day_after_the_award_notice(db_session):
    assert deadlines.signature_due(local(date(2026, 2, 24))) == date(2026, 3, 26)


@pytest.mark.parametrize("days, due", [(30, date(2026, 4, 1)), (45, date(2026, 4, 16)), (60, date(2026, 5, 1))])
def test_payment_is_due_by_the_contracts_own_term(db_session, days, due):
    assert deadlines.payment_due(local(date(2026, 3, 2)), days) == due


# --- the moments recorded -----------------------------------------------------------------------


def test_proposing_the_award_records_the_decision_and_publicity_the_notice(clock):
    setup = tender_in(TenderStatus.SCORED, clock)
    tender = setup.tender

    procurement.propose_award(setup.staff, tender)
    decided = tender.award_decided_at
    clock.advance(days=1)
    procurement.start_publicity(setup.staff, tender)

    assert decided is not None and decided < tender.publicity_starts_at == clock.now


def test_recording_the_signature_records_the_contract_notice(clock):
    setup = draft_contract(clock)
    clock.advance(days=3)

    workflow.sign_contract(setup.staff, setup.contract, local_today() - timedelta(days=3))

    assert setup.contract.notice_published_at == clock.now


def test_a_new_contract_takes_the_bureaus_payment_term(app, clock):
    saved = app.config["PROCUREMENT_DEADLINES"]
    app.config["PROCUREMENT_DEADLINES"] = {**saved, "payment_days": 20}
    try:
        setup = draft_contract(clock)
    finally:
        app.config["PROCUREMENT_DEADLINES"] = saved

    assert setup.contract.payment_days == 20


@pytest.mark.parametrize("days", [1, 45, 60])
def test_the_contract_may_agree_up_to_sixty_days(clock, days):
    setup = draft_contract(clock)

    workflow.update_contract(setup.staff, setup.contract, payment_days=days)

    assert setup.contract.payment_days == days


@pytest.mark.parametrize("days", [61, 0, -5, 90])
def test_a_payment_term_past_sixty_days_is_refused_and_nothing_changes(clock, days):
    setup = draft_contract(clock)
    contract = setup.contract
    before = (contract.payment_days, contract.version, contract.title)
    events = db.session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()

    with pytest.raises(ValidationError) as refused:
        workflow.update_contract(setup.staff, contract, title="改了名字的合同", payment_days=days)

    assert "《保障中小企业款项支付条例》第八条" in refused.value.message and refused.value.field == "payment_days"
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert (contract.payment_days, contract.version, contract.title) == before
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one() == events


def test_the_form_refuses_sixty_one_days_and_shows_the_rule(client, clock):
    setup = draft_contract(clock)
    login(client, setup.staff)
    page = client.get(f"/contracts/{setup.contract.id}/edit").get_data(as_text=True)
    assert 'name="payment_days"' in page

    response = client.post(f"/contracts/{setup.contract.id}/edit", data={
        **_form_of(setup.contract), "payment_days": "61"})

    assert response.status_code == 422
    assert "保障中小企业款项支付条例" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contract, setup.contract.id).payment_days == 30


def test_the_contract_page_shows_the_payment_term(client, clock):
    setup = draft_contract(clock)
    workflow.update_contract(setup.staff, setup.contract, payment_days=45)
    login(client, setup.staff)

    page = client.get(f"/contracts/{setup.contract.id}").get_data(as_text=True)

    assert 'data-payment-days="45"' in page and "《保障中小企业款项支付条例》第八条" in page


def _form_of(contract: Contract) -> dict:
    from svcproc.core.formatting import points

    data = {name: getattr(contract, name) or "" for name in workflow.ART23_FIELDS + ("title", "long_term_reason")}
    data.update(start_date=contract.start_date.isoformat(), end_date=contract.end_date.isoformat(),
                version=str(contract.version))
    data.update({name: str(getattr(contract, name)) for name in workflow.TARGET_FIELDS})
    data.update(milestone_title=[m.title for m in contract.milestones],
                milestone_due=[m.due_date.isoformat() for m in contract.milestones],
                milestone_required=[m.required_deliverables for m in contract.milestones],
                milestone_percent=[points(m.tranche_percent) for m in contract.milestones])
    return data


# --- the red flags at the boundaries ------------------------------------------------------------


def _found(kind: FlagKind, **ids) -> list:
    return [f for f in flags.compute() if f.kind == kind
            and all(getattr(f, name) == value for name, value in ids.items())]


@pytest.mark.parametrize("decided, published, late", [
    (date(2026, 2, 13), date(2026, 2, 24), False),    # the second working day, across the Spring Festival
    (date(2026, 2, 13), date(2026, 2, 25), True),
    (date(2026, 2, 12), date(2026, 2, 14), False),    # on the adjusted working Saturday
    (date(2026, 2, 12), date(2026, 2, 16), True),     # the Monday after it is a holiday, and late
], ids=["on-the-day", "a-day-late", "on-the-working-saturday", "after-the-working-saturday"])
def test_a_late_award_notice_is_flagged(clock, decided, published, late):
    clock.set(local(date(2026, 3, 2)))
    staff = UserFactory(role=Role.PROCUREMENT)
    tender = _tender(Planted(), "公告时限", _valid(), submitter=staff,
                     moments=(local(decided), local(published), local(published) + timedelta(days=7)))

    found = _found(FlagKind.LATE_AWARD_NOTICE, tender_id=tender.id)

    assert bool(found) is late
    if late:
        assert found[0].figures["due"] == deadlines.award_notice_due(local(decided)).isoformat()
        assert found[0].figures["published"] == published.isoformat()


@pytest.mark.parametrize("today, late", [(date(2026, 2, 24), False), (date(2026, 2, 25), True)])
def test_an_award_notice_not_yet_published_is_flagged_after_its_day(clock, today, late):
    setup = tender_in(TenderStatus.AWARD_PROPOSED, clock)
    setup.tender.award_decided_at = local(date(2026, 2, 13))
    db.session.flush()
    clock.set(local(today))

    found = _found(FlagKind.LATE_AWARD_NOTICE, tender_id=setup.tender.id)

    assert bool(found) is late
    if late:
        assert found[0].figures["published"] is None and found[0].figures["working_days"] == 3


@pytest.mark.parametrize("signed, late", [(date(2026, 3, 26), False), (date(2026, 3, 27), True)],
                         ids=["thirtieth-day", "thirty-first-day"])
def test_the_signature_is_counted_from_the_award_notice(clock, signed, late):
    clock.set(local(date(2026, 6, 1)))
    staff = UserFactory(role=Role.PROCUREMENT)
    world = Planted()
    contract = _contract(world, "签约时限", staff, signed_on=signed)
    tender = contract.tender
    # decided 12 February, noticed 24 February (after the holiday), confirmed 3 March
    tender.award_decided_at, tender.publicity_starts_at = local(date(2026, 2, 12)), local(date(2026, 2, 24))
    tender.awarded_at = local(date(2026, 3, 3))
    db.session.flush()

    found = _found(FlagKind.LATE_SIGNATURE, contract_id=contract.id)

    assert bool(found) is late
    if late:
        assert found[0].figures == {"noticed": "2026-02-24", "due": "2026-03-26", "signed": "2026-03-27",
                                    "days": 31, "limit": 30}


@pytest.mark.parametrize("today, late", [(date(2026, 3, 26), False), (date(2026, 3, 27), True)])
def test_an_award_without_a_contract_is_flagged_after_the_thirtieth_day(clock, today, late):
    setup = tender_in(TenderStatus.AWARDED, clock)
    setup.tender.publicity_starts_at = local(date(2026, 2, 24))
    db.session.flush()
    clock.set(local(today))

    found = _found(FlagKind.LATE_SIGNATURE, tender_id=setup.tender.id)

    assert bool(found) is late
    if late:
        assert found[0].contract_id is None and found[0].figures["signed"] is None


@pytest.mark.parametrize("published, late", [(date(2026, 2, 24), False), (date(2026, 2, 25), True)])
def test_a_late_contract_notice_is_flagged(clock, published, late):
    clock.set(local(date(2026, 3, 30)))
    staff = UserFactory(role=Role.PROCUREMENT)
    contract = _contract(Planted(), "合同公告时限", staff, signed_on=date(2026, 2, 13), published=local(published))

    found = _found(FlagKind.LATE_CONTRACT_NOTICE, contract_id=contract.id)

    assert bool(found) is late
    if late:
        assert found[0].figures == {"signed": "2026-02-13", "due": "2026-02-24", "published": "2026-02-25",
                                    "working_days": 3, "limit": 2}


def _accepted(contract: Contract, accepted: datetime) -> Milestone:
    milestone = Milestone(contract_id=contract.id, title="中期", due_date=date(2026, 2, 27),
                          tranche_percent=Decimal("50"), status=MilestoneStatus.ACCEPTED,
                          status_changed_at=accepted, reviewed_at=accepted)
    db.session.add(milestone)
    db.session.flush()
    return milestone


@pytest.mark.parametrize("days, today, late", [
    (30, date(2026, 4, 1), False), (30, date(2026, 4, 2), True),
    (45, date(2026, 4, 2), False), (45, date(2026, 4, 16), False), (45, date(2026, 4, 17), True),
    (60, date(2026, 5, 1), False), (60, date(2026, 5, 2), True),
])
def test_an_unpaid_milestone_is_flagged_after_the_contracts_own_term(clock, days, today, late):
    clock.set(local(today))
    staff = UserFactory(role=Role.PROCUREMENT)
    contract = _contract(Planted(), "付款时限", staff, signed_on=date(2026, 2, 2))
    contract.payment_days = days
    _accepted(contract, local(date(2026, 3, 2)))

    found = _found(FlagKind.UNPAID_MILESTONE, contract_id=contract.id)

    assert bool(found) is late
    if late:
        assert found[0].figures["limit"] == days
        assert found[0].figures["milestones"][0]["due"] == deadlines.payment_due(local(date(2026, 3, 2)), days).isoformat()


@pytest.mark.parametrize("paid_on, late", [(date(2026, 4, 16), False), (date(2026, 4, 17), True)])
def test_a_milestone_paid_after_the_term_is_flagged_as_paid_late(clock, paid_on, late):
    clock.set(local(date(2026, 6, 1)))
    staff = UserFactory(role=Role.PROCUREMENT)
    contract = _contract(Planted(), "迟付款", staff, signed_on=date(2026, 2, 2))
    contract.payment_days = 45
    milestone = _accepted(contract, local(date(2026, 3, 2)))
    milestone.status = MilestoneStatus.PAID
    db.session.add(Payment(contract_id=contract.id, milestone_id=milestone.id, amount_fen=45_000_000,
                           voucher_number="PZ-T1", paid_on=paid_on, recorded_at=local(paid_on)))
    db.session.flush()

    found = _found(FlagKind.UNPAID_MILESTONE, contract_id=contract.id)

    assert bool(found) is late
    if late:
        assert found[0].figures["milestones"][0] | {"tranche_fen": 0} == {
            "title": "中期", "accepted": "2026-03-02", "due": "2026-04-16", "paid": "2026-04-17", "days": 46,
            "tranche_fen": 0}


def test_the_flag_words_name_the_figures(app, clock):
    from svcproc.monitoring.labels import FLAG_LABELS, FLAG_RULES, figures_text

    with app.test_request_context():
        text = figures_text(FlagKind.LATE_CONTRACT_NOTICE, {"signed": "2026-02-13", "due": "2026-02-24",
                                                            "published": "2026-02-25", "working_days": 3, "limit": 2})
        old = figures_text(FlagKind.LATE_SIGNATURE, {"awarded": "2025-04-10", "signed": "2025-05-11", "days": 31,
                                                     "limit": 30})
        rules = [str(FLAG_RULES[k]) for k in (FlagKind.LATE_AWARD_NOTICE, FlagKind.LATE_CONTRACT_NOTICE)]
        labels = [str(FLAG_LABELS[k]) for k in (FlagKind.LATE_AWARD_NOTICE, FlagKind.LATE_CONTRACT_NOTICE)]

    assert "2026-02-13" in text and "2026-02-25" in text and "2026-02-24" in text
    assert "2025-04-10" in old                 # a flag stored before the count began at the notice
    assert "art. 43" in rules[0] or "第四十三条" in rules[0]
    assert "art. 50" in rules[1] or "第五十条" in rules[1]
    assert all(labels)


# --- the reminders -------------------------------------------------------------------------------


@pytest.fixture
def due_world(clock):
    """An award decided (its notice to publish), an award without a signed contract, an accepted
    milestone owed."""
    proposed = tender_in(TenderStatus.AWARD_PROPOSED, clock)
    awarded = tender_in(TenderStatus.AWARDED, clock)
    running = contract_in(C.IN_PROGRESS, clock)
    milestone = running.milestones[0]
    from tests.builders.contracts import deliver

    deliver(running, milestone)
    workflow.accept_milestone(running.staff, milestone)
    return {"proposed": proposed.tender, "awarded": awarded.tender, "milestone": milestone,
            "staff": running.staff, "contract": running.contract}


SEES = {Role.PROCUREMENT}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_procurement_staff_are_reminded_of_the_deadlines(app, due_world, role):
    user = user_for_role(role)

    with app.test_request_context():
        due = deadlines.all_due_for(user)

    if role in SEES:
        assert {kind: [d.url for d in items] for kind, (items, _total) in due.items()} == {
            "award_notice": [f"/procurement/tenders/{due_world['proposed'].id}"],
            "signature": [f"/contracts/new?tender={due_world['awarded'].id}"],
            "payment": [f"/contracts/{due_world['contract'].id}#m{due_world['milestone'].id}"]}
    else:
        assert due == {}


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.ORG_MANAGER, Role.AUDITOR, Role.ADMIN],
                         ids=lambda r: r.value)
def test_the_home_page_and_the_reminders_page_show_the_deadlines_to_procurement_staff_only(client, due_world, role):
    user = due_world["staff"] if role == Role.PROCUREMENT else user_for_role(role)
    login(client, user)

    home = client.get("/").get_data(as_text=True)
    reminders = client.get("/reminders")

    shown = role in SEES
    assert ('id="queue-award-notice-h"' in home) is shown
    assert (f"/contracts/new?tender={due_world['awarded'].id}" in home) is shown
    if reminders.status_code == 200:
        page = reminders.get_data(as_text=True)
        assert ('id="due-payment"' in page) is shown and ('id="due-award_notice"' in page) is shown
    else:
        assert not shown and reminders.status_code == 403


def test_the_reminders_give_the_day_each_is_due(app, due_world, clock):
    proposed, milestone = due_world["proposed"], due_world["milestone"]

    with app.test_request_context():
        due = deadlines.all_due_for(due_world["staff"])

    assert due["award_notice"][0][0].due == deadlines.award_notice_due(proposed.award_decided_at)
    assert due["signature"][0][0].due == deadlines.signature_due(due_world["awarded"].publicity_starts_at)
    assert due["payment"][0][0].due == deadlines.payment_due(milestone.reviewed_at, 30)


def test_the_remind_command_lists_the_deadlines_due_soon(cli, due_world, clock):
    clock.set(local(deadlines.payment_due(due_world["milestone"].reviewed_at, 30) - timedelta(days=2)))

    result = cli("remind")

    assert result.exit_code == 0, result.output
    assert f"| payment | due " in result.output and due_world["contract"].number in result.output


def test_the_deadline_queues_and_page_take_as_many_statements_for_many_as_for_few(client, clock, count_queries):
    def grow():
        tender_in(TenderStatus.AWARD_PROPOSED, clock)
        tender_in(TenderStatus.AWARDED, clock)
        setup = contract_in(C.IN_PROGRESS, clock)
        from tests.builders.contracts import deliver

        deliver(setup, setup.milestones[0])
        workflow.accept_milestone(setup.staff, setup.milestones[0])
        return setup.staff

    staff = grow()
    login(client, staff)
    counts = []
    for n in (0, 6):
        for _ in range(n):
            grow()
        client.get("/")
        with count_queries() as home:
            assert client.get("/").status_code == 200
        with count_queries() as page:
            assert client.get("/reminders").status_code == 200
        counts.append((home.count, page.count))

    assert counts[0] == counts[1], counts


def test_the_deadline_queues_are_read_once_per_version_and_follow_each_change(client, due_world, clock,
                                                                             count_queries):
    """Their rows are kept between changes (core/versions.py): a second page reads none of them;
    the award notice published and the milestone paid leave the next page's queues at once."""
    def section(page, kind):
        if f'id="due-{kind}"' not in page:
            return ""
        return page.split(f'id="due-{kind}"', 1)[1].split("</section>", 1)[0]

    login(client, due_world["staff"])
    proposed, milestone = due_world["proposed"], due_world["milestone"]
    page = client.get("/reminders").get_data(as_text=True)
    assert f"/procurement/tenders/{proposed.id}" in section(page, "award_notice")
    assert f"#m{milestone.id}" in section(page, "payment")
    with count_queries() as counted:
        client.get("/reminders")
    assert not [s for s in counted.statements if "queue_total" in s]

    procurement.start_publicity(due_world["staff"], proposed)
    workflow.record_payment(due_world["staff"], milestone, voucher_number="PZ-9", paid_on=local_today(),
                            amount_fen=workflow.tranche_amounts(milestone.contract)[milestone.id])

    page = client.get("/reminders").get_data(as_text=True)
    assert f"/procurement/tenders/{proposed.id}" not in section(page, "award_notice")
    assert f"#m{milestone.id}" not in section(page, "payment")
