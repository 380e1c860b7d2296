"""Every tender transition is allowed from exactly its source status and refused from every other.

One tender in each status is built once for the module through the real workflow (a public tender
with three bidders and three experts); each test runs in a savepoint on top of them, moves the
clock to where the dates allow the transition, and tries it.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from svcproc.accounts.models import User
from svcproc.core.errors import DomainError, PermissionDenied
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import workflow
from svcproc.procurement.models import Tender, TenderStatus
from svcproc.procurement.workflow import status_label
from tests.builders.accounts import user_for_role
from tests.builders.procurement import DAY, score_all, tender_in
from tests.helpers import audit_events, login, unchanged

pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus


def _cancel(actor, tender):
    workflow.cancel_tender(actor, tender, "预算调整，项目暂停。")


# name: (function, the statuses it starts from, the status it leads to, its audit event)
TRANSITIONS = {
    "publish": (workflow.publish_tender, {S.DRAFT}, S.PUBLISHED, "tender.published"),
    "close": (workflow.close_bidding, {S.PUBLISHED}, S.BIDDING_CLOSED, "tender.bidding_closed"),
    "open": (workflow.open_bids, {S.PUBLISHED, S.BIDDING_CLOSED}, S.OPENED, "tender.opened"),
    "finish_scoring": (workflow.finish_scoring, {S.OPENED}, S.SCORED, "tender.scored"),
    "propose": (workflow.propose_award, {S.SCORED}, S.AWARD_PROPOSED, "tender.award_proposed"),
    "publicity": (workflow.start_publicity, {S.AWARD_PROPOSED}, S.IN_PUBLICITY, "tender.publicity_started"),
    "confirm": (workflow.confirm_award, {S.IN_PUBLICITY}, S.AWARDED, "tender.awarded"),
    "cancel": (_cancel, set(S) - {S.AWARDED, S.CANCELLED, S.FAILED}, S.CANCELLED, "tender.cancelled"),
}
ALLOWED = [(name, source) for name, (_f, sources, _t, _e) in TRANSITIONS.items() for source in sorted(sources)]
REFUSED = [(name, status) for name, (_f, sources, _t, _e) in TRANSITIONS.items() for status in S
           if status not in sources]


def _build(clock) -> dict:
    built = {}
    for status in S:
        setup = tender_in(status, clock)
        if status == S.OPENED:
            clock.set(setup.tender.opening_at + DAY)
            score_all(setup)  # every expert has submitted: only the status decides
        built[status] = {"tender_id": setup.tender.id, "staff_id": setup.staff.id}
        clock.advance(days=1)
    return built


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


def _moment_allowing(tender: Tender, name: str):
    """A time at which the dates allow the transition (so only the status can refuse it)."""
    if name == "publish":
        return tender.clarification_deadline - timedelta(hours=1)
    if name == "confirm" or tender.publicity_ends_at:
        return (tender.publicity_ends_at or tender.opening_at) + DAY
    return tender.opening_at + 2 * DAY


def _load(built, status):
    return (db.session.get(Tender, built[status]["tender_id"]), db.session.get(User, built[status]["staff_id"]))


@pytest.mark.parametrize("name, source", ALLOWED, ids=[f"{n}-from-{s.value}" for n, s in ALLOWED])
def test_a_transition_is_allowed_from_its_source_status(built, clock, name, source):
    tender, staff = _load(built, source)
    function, _sources, target, action = TRANSITIONS[name]
    clock.set(_moment_allowing(tender, name))

    function(staff, tender)

    assert tender.status == target
    assert tender.status_changed_at == clock.now
    [event] = [e for e in audit_events(action) if e.object_id == str(tender.id)]
    assert event.changes["status"] == [source.value, target.value]
    assert event.actor_id == staff.id


@pytest.mark.parametrize("name, status", REFUSED, ids=[f"{n}-from-{s.value}" for n, s in REFUSED])
def test_a_transition_is_refused_from_every_other_status(built, clock, name, status):
    tender, staff = _load(built, status)
    function = TRANSITIONS[name][0]
    clock.set(_moment_allowing(tender, name))

    with unchanged(tender), pytest.raises(DomainError) as refused:
        function(staff, tender)

    assert status_label(status) in refused.value.message
    assert tender.status == status


@pytest.mark.parametrize("status", [S.DRAFT, S.PUBLISHED, S.OPENED, S.IN_PUBLICITY])
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_only_tender_managers_move_a_tender(built, clock, name, status):
    tender, _staff = _load(built, status)
    clock.set(_moment_allowing(tender, name))
    someone = user_for_role(Role.ADMIN)

    with unchanged(tender), pytest.raises(PermissionDenied):
        TRANSITIONS[name][0](someone, tender)


@pytest.mark.parametrize("action, name", [("publish", "publish"), ("close", "close"), ("open", "open"),
                                          ("finish-scoring", "finish_scoring"), ("propose", "propose"),
                                          ("publicity", "publicity"), ("confirm", "confirm")])
def test_the_transition_buttons_post_to_the_same_rules(built, client, clock, action, name):
    """Through the web: allowed from the source status (303), refused with 409 from a status after it."""
    source = sorted(TRANSITIONS[name][1])[-1]
    later = {"publish": S.PUBLISHED, "close": S.OPENED, "open": S.SCORED, "finish_scoring": S.AWARDED,
             "propose": S.IN_PUBLICITY, "publicity": S.AWARDED, "confirm": S.DRAFT}[name]
    tender, staff = _load(built, source)
    other, other_staff = _load(built, later)
    clock.set(_moment_allowing(tender, name))
    login(client, staff)

    done = client.post(f"/procurement/tenders/{tender.id}/do/{action}")
    with unchanged(other):
        refused = client.post(f"/procurement/tenders/{other.id}/do/{action}")

    assert done.status_code == 303
    assert db.session.get(Tender, tender.id).status == TRANSITIONS[name][2]
    assert refused.status_code == 409
