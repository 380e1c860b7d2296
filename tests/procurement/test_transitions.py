"""Every tender transition is allowed from exactly its source status and refused from every other.

One tender in each status is built once for the module through the real workflow (a public tender
with three bidders and three experts); each test runs in a savepoint on top of them, moves the
clock to where the dates allow the transition, and tries it.
"""
from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

from svcproc.accounts.models import User
from svcproc.core.errors import DomainError, PermissionDenied
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement import permissions as perms
from svcproc.procurement import workflow
from svcproc.procurement.models import Bid, BidStatus, CommunityNeed, Objection, ObjectionStatus, Tender, TenderStatus
from svcproc.procurement.views.tenders import TRANSITIONS as TENDER_BUTTONS
from svcproc.procurement.workflow import status_label
from tests.builders.accounts import user_for_role
from tests.builders.procurement import DAY, score_all, submit_need, tender_in
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
        built[status] = {"tender_id": setup.tender.id, "staff_id": setup.staff.id,
                         "manager_id": setup.managers[0].id, "expert_id": setup.experts[0].id}
        clock.advance(days=1)
    return built


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(_build)


def _moment_allowing(tender: Tender, name: str):
    """A time at which the dates allow the transition (so only the status can refuse it)."""
    if name == "publish":
        return tender.created_at + timedelta(hours=1)
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


@pytest.mark.parametrize("who", ["staff_id", "manager_id", "expert_id"])
@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_the_tender_page_offers_what_the_predicates_allow(built, client, clock, status, who):
    """A button shows only where its predicate allows it (the dates may hide it further)."""
    tender, _staff = _load(built, status)
    person = db.session.get(User, built[status][who])
    login(client, person)

    response = client.get(f"/procurement/tenders/{tender.id}")

    html = response.get_data(as_text=True)
    if who != "staff_id" and status == S.DRAFT:  # not public, and the panel is named on publication
        assert response.status_code == 403
        return
    assert response.status_code == 200
    for action, (_function, verb, _message) in TENDER_BUTTONS.items():
        shown = f"/procurement/tenders/{tender.id}/do/{action}" in html
        assert not shown or perms.can_move_tender(person, tender, verb), (action, status.value)
    cancel = f"/procurement/tenders/{tender.id}/cancel" in html
    assert cancel == perms.can_cancel_tender(person, tender)


# --- the state machines' tables ---------------------------------------------------------------

MACHINES = (workflow.TENDER, workflow.BID, workflow.OBJECTION, need_services.NEED)
MACHINE_REFUSALS = [(machine.name, verb, status) for machine in MACHINES
                    for verb, step in machine.transitions.items()
                    for status in type(step.target) if status not in step.sources]


def test_the_tender_machine_declares_the_transitions_this_module_walks():
    verbs = {"finish_scoring": "finish_scoring"}
    for name, (_function, sources, target, event) in TRANSITIONS.items():
        step = workflow.TENDER.transitions[verbs.get(name, name)]
        assert (set(step.sources), step.target, step.event) == (sources, target, event)


def _build_others(clock) -> dict:
    """A bid in each status, an objection in each status and a need in each status."""
    published = tender_in(S.PUBLISHED, clock)
    workflow.withdraw_bid(published.managers[0], published.bids[0])
    publicity = tender_in(S.IN_PUBLICITY, clock)
    clock.advance(hours=1)
    objections = [workflow.file_objection(m, publicity.tender, "评分过程不公正，请复核专家评分。", [])
                  for m in publicity.managers]
    workflow.answer_objection(publicity.staff, objections[1], upheld=True, answer="经复核，异议成立。")
    workflow.answer_objection(publicity.staff, objections[2], upheld=False, answer="经复核，评分无误。")
    needs = [submit_need(description=f"第{i}条：独居老人希望有人定期上门探访。") for i in range(5)]
    staff = publicity.staff
    need_services.adopt_need(staff, needs[1])
    need_services.decline_need(staff, needs[2], "不属于社会工作服务范围。")
    need_services.address_need(staff, needs[3], "已由社区居委会解决。")
    need_services.merge_need(staff, needs[4], needs[0])
    return {
        "bid": {BidStatus.WITHDRAWN: published.bids[0].id, BidStatus.SUBMITTED: published.bids[1].id},
        "objection": {ObjectionStatus.OPEN: objections[0].id, ObjectionStatus.UPHELD: objections[1].id,
                      ObjectionStatus.DISMISSED: objections[2].id},
        "need": {n.status: n.id for n in needs},
    }


@pytest.fixture(scope="module")
def others(build_once):
    return build_once(_build_others)


MODELS = {"bid": Bid, "objection": Objection, "need": CommunityNeed}


@pytest.mark.parametrize("machine_name, verb, status", MACHINE_REFUSALS,
                         ids=[f"{m}-{v}-from-{s.value}" for m, v, s in MACHINE_REFUSALS])
def test_the_door_refuses_every_transition_from_a_status_outside_its_table(built, others, machine_name, verb,
                                                                           status):
    """Even for the system (no person to refuse), a transition from another status changes nothing."""
    machine = next(m for m in MACHINES if m.name == machine_name)
    if machine_name == "tender":
        obj = db.session.get(Tender, built[status]["tender_id"])
    else:
        obj = db.session.get(MODELS[machine_name], others[machine_name][status])

    with unchanged(obj), pytest.raises(DomainError):
        machine.move(None, obj, verb)

    assert obj.status == status


def test_no_status_is_written_outside_the_door():
    """Only core.workflow's door assigns a status in procurement (a constructor's first status aside)."""
    package = Path(workflow.__file__).parent
    writes = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == "status":
                        writes.append(f"{path.name}:{node.lineno}")
    assert writes == []


TEMPLATE_DIRS = ("procurement", "public")
STATUS_COMPARISON = re.compile(r"status(\.value)?\s*(==|!=|\bin\b|\bnot in\b)|\bst\s*(==|!=|\bin\b)")


def test_templates_ask_predicates_instead_of_comparing_statuses(app):
    root = Path(app.root_path).parent / "templates"
    found = [f"{path.relative_to(root)}:{number}" for folder in TEMPLATE_DIRS
             for path in sorted((root / folder).glob("*.html"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if STATUS_COMPARISON.search(line)]
    assert found == []
