"""Milestones: the organization delivers and submits, the bureau accepts or returns with comments;
pending → submitted → accepted | returned (→ submitted again) → paid; overdue = past due, not accepted."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from svcproc.contracts import workflow
from svcproc.contracts.models import ContractStatus, DeliverableKind, MilestoneStatus
from svcproc.core.errors import PermissionDenied
from svcproc.core.permissions import Role
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.registry import OrganizationFactory
from tests.helpers import audit_events, login

from tests.builders.contracts import at_local, in_progress_with_milestone
from tests.builders.files import pdf_upload
from .conftest import db_state, refused

C = ContractStatus
M = MilestoneStatus
MILESTONE_STATUSES = [s.value for s in M]


def _deliverable(setup, milestone, actor=None):
    return workflow.add_deliverable(actor or setup.manager, milestone, pdf_upload("季度报告.pdf"), DeliverableKind.REPORT)


# --- the organization delivers --------------------------------------------------------------------


def test_the_manager_uploads_and_submits(clock):
    setup, milestone = in_progress_with_milestone(clock, "pending")

    item = _deliverable(setup, milestone)
    workflow.submit_milestone(setup.manager, milestone)

    assert milestone.status == M.SUBMITTED
    assert milestone.submitted_at == milestone.status_changed_at == clock.now
    assert [d.id for d in milestone.deliverables] == [item.id]
    assert (item.kind, item.title, item.file.original_name) == (DeliverableKind.REPORT, "季度报告.pdf", "季度报告.pdf")
    assert [e.action for e in audit_events() if e.object_type == "milestone"][-2:] == [
        "milestone.deliverable_added", "milestone.submitted"]


def test_submitting_needs_deliverables(clock):
    setup, milestone = in_progress_with_milestone(clock, "pending")

    with refused("Upload the required deliverables"):
        workflow.submit_milestone(setup.manager, milestone)

    assert milestone.status == M.PENDING


@pytest.mark.parametrize("status", MILESTONE_STATUSES)
def test_submitting_from_pending_or_returned_only(clock, status):
    setup, milestone = in_progress_with_milestone(clock, status)
    if status in ("pending", "returned"):
        _deliverable(setup, milestone)
        workflow.submit_milestone(setup.manager, milestone)
        assert milestone.status == M.SUBMITTED
    else:
        with refused("already been submitted"):
            workflow.submit_milestone(setup.manager, milestone)


@pytest.mark.parametrize("status", MILESTONE_STATUSES)
def test_deliverables_are_added_while_pending_or_returned_only(clock, status):
    setup, milestone = in_progress_with_milestone(clock, status)
    if status in ("pending", "returned"):
        _deliverable(setup, milestone)
    else:
        with refused("Deliverables are added before the milestone is submitted"):
            _deliverable(setup, milestone)


@pytest.mark.parametrize("status", [C.DRAFT, C.COMPLETED, C.CLOSED, C.TERMINATED], ids=lambda s: s.value)
def test_nothing_is_delivered_on_a_contract_not_running(build, status):
    setup = build(status)
    milestone = setup.milestones[-1]

    with refused("Not possible while the contract is"):
        _deliverable(setup, milestone)


def _other_manager(setup):
    return UserFactory(role=Role.ORG_MANAGER, organization=OrganizationFactory())


ACTORS = {
    "other-org-manager": _other_manager,
    "own-social-worker": lambda s: user_for_role(Role.SOCIAL_WORKER, s.org),
    "procurement": lambda s: s.staff,
    "admin": lambda s: user_for_role(Role.ADMIN),
    "auditor": lambda s: user_for_role(Role.AUDITOR),
    "own-manager-deactivated": lambda s: UserFactory(role=Role.ORG_MANAGER, organization=s.org, active=False),
}


@pytest.mark.parametrize("who", list(ACTORS))
def test_only_the_contracts_own_manager_uploads(clock, who):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    actor = ACTORS[who](setup)

    with refused(exc=PermissionDenied):
        _deliverable(setup, milestone, actor)


@pytest.mark.parametrize("who", list(ACTORS))
def test_only_the_contracts_own_manager_submits(clock, who):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    _deliverable(setup, milestone)
    actor = ACTORS[who](setup)

    with refused(exc=PermissionDenied):
        workflow.submit_milestone(actor, milestone)


# --- the bureau reviews ---------------------------------------------------------------------------


def test_procurement_accepts(clock):
    setup, milestone = in_progress_with_milestone(clock, "submitted")

    workflow.accept_milestone(setup.staff, milestone, " 成果齐全 ")

    assert (milestone.status, milestone.review_comment, milestone.reviewed_by_id, milestone.reviewed_at) == (
        M.ACCEPTED, "成果齐全", setup.staff.id, clock.now)
    assert audit_events("milestone.accepted")[-1].changes["status"] == ["submitted", "accepted"]


def test_procurement_returns_with_comments(clock):
    setup, milestone = in_progress_with_milestone(clock, "submitted")

    workflow.return_milestone(setup.staff, milestone, "签到表缺少服务对象签名。")

    assert (milestone.status, milestone.review_comment) == (M.RETURNED, "签到表缺少服务对象签名。")
    assert audit_events("milestone.returned")[-1].changes["comment"] == [None, "签到表缺少服务对象签名。"]


@pytest.mark.parametrize("comment", ["", "  "], ids=["empty", "whitespace"])
def test_returning_needs_a_comment(clock, comment):
    setup, milestone = in_progress_with_milestone(clock, "submitted")

    with refused("Say what must be fixed"):
        workflow.return_milestone(setup.staff, milestone, comment)


@pytest.mark.parametrize("decision", ["accept", "return"])
@pytest.mark.parametrize("status", [s for s in MILESTONE_STATUSES if s != "submitted"])
def test_only_a_submitted_milestone_is_reviewed(clock, decision, status):
    setup, milestone = in_progress_with_milestone(clock, status)

    with refused("Only a submitted milestone can be"):
        if decision == "accept":
            workflow.accept_milestone(setup.staff, milestone)
        else:
            workflow.return_milestone(setup.staff, milestone, "请补充。")


@pytest.mark.parametrize("decision", ["accept", "return"])
@pytest.mark.parametrize("who", ["own-manager", "admin", "auditor", "own-social-worker"])
def test_only_procurement_reviews(clock, decision, who):
    setup, milestone = in_progress_with_milestone(clock, "submitted")
    actor = setup.manager if who == "own-manager" else ACTORS[who](setup)

    with refused(exc=PermissionDenied):
        if decision == "accept":
            workflow.accept_milestone(actor, milestone)
        else:
            workflow.return_milestone(actor, milestone, "请补充。")


def test_a_returned_milestone_is_resubmitted_and_accepted(clock):
    setup, milestone = in_progress_with_milestone(clock, "returned")
    clock.advance(days=2)

    _deliverable(setup, milestone)
    workflow.submit_milestone(setup.manager, milestone)
    workflow.accept_milestone(setup.staff, milestone, "补充材料齐全。")

    assert milestone.status == M.ACCEPTED
    assert len(milestone.deliverables) == 2
    assert [e.changes["status"] for e in audit_events() if e.object_type == "milestone" and "status" in e.changes] == [
        ["pending", "submitted"], ["submitted", "returned"], ["returned", "submitted"], ["submitted", "accepted"]]


# --- overdue ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, overdue", [("pending", True), ("submitted", True), ("returned", True),
                                             ("accepted", False), ("paid", False)])
def test_overdue_is_past_due_and_not_accepted(clock, status, overdue):
    setup, milestone = in_progress_with_milestone(clock, status)
    due = milestone.due_date

    assert workflow.is_overdue(milestone, due) is False                       # due today
    assert workflow.is_overdue(milestone, due + timedelta(days=1)) is overdue  # a day late
    assert workflow.is_overdue(milestone, due - timedelta(days=30)) is False


def test_overdue_follows_the_local_calendar_day(clock):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    clock.set(at_local(milestone.due_date + timedelta(days=1), 0))  # 00:00 in Shanghai, still the due day in UTC

    assert workflow.is_overdue(milestone) is True


@pytest.mark.parametrize("status, shown", [("pending", True), ("returned", True), ("accepted", False)])
def test_the_contract_page_marks_overdue_milestones(client, clock, status, shown):
    setup, milestone = in_progress_with_milestone(clock, status)
    clock.set(at_local(milestone.due_date + timedelta(days=1)))
    login(client, setup.manager)

    page = client.get(f"/contracts/{setup.contract.id}").get_data(as_text=True)

    item = re.search(rf'<li class="tl-milestone([^"]*)" id="m{milestone.id}">', page)
    assert item is not None
    assert ("overdue" in item.group(1)) is shown
    later = setup.milestones[1]
    assert re.search(rf'<li class="tl-milestone" id="m{later.id}">', page)  # not yet due


# --- through the web ----------------------------------------------------------------------------


def test_submitting_through_the_page(client, clock):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    _deliverable(setup, milestone)
    login(client, setup.manager)

    response = client.post(f"/milestones/{milestone.id}/submit")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/contracts/{setup.contract.id}#m{milestone.id}"


def test_submitting_without_deliverables_through_the_page_changes_nothing(client, clock):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    login(client, setup.manager)
    before = db_state()

    response = client.post(f"/milestones/{milestone.id}/submit")

    assert response.status_code == 409
    assert db_state() == before


@pytest.mark.parametrize("decision, comment, status", [("accept", "", 303), ("return", "请补充照片。", 303),
                                                       ("return", "", 422)])
def test_reviewing_through_the_page(client, clock, decision, comment, status):
    setup, milestone = in_progress_with_milestone(clock, "submitted")
    login(client, setup.staff)
    before = db_state()

    response = client.post(f"/milestones/{milestone.id}/review", data={"decision": decision, "comment": comment})

    assert response.status_code == status
    if status == 422:
        assert db_state() == before


def test_the_manager_cannot_review_through_the_page(client, clock):
    setup, milestone = in_progress_with_milestone(clock, "submitted")
    login(client, setup.manager)
    before = db_state()

    response = client.post(f"/milestones/{milestone.id}/review", data={"decision": "accept", "comment": ""})

    assert response.status_code == 403
    assert db_state() == before



# --- acceptance says what is missing; tranches say why they are not a plain percentage ------------


def test_acceptance_lists_required_deliverables_no_file_answers(client, clock):
    setup, milestone = in_progress_with_milestone(clock, "submitted")  # required: 阶段报告、签到表; a report uploaded
    assert workflow.missing_deliverables(milestone) == ["签到表"]
    login(client, setup.staff)

    html = client.get(f"/contracts/{setup.contract.id}").get_data(as_text=True)

    form_at = html.index(f'/milestones/{milestone.id}/review"')
    assert "签到表" in html[form_at - 600:form_at + 400]  # the warning above the form and the confirmation's words
    workflow.accept_milestone(setup.staff, milestone)
    [event] = [e for e in audit_events() if e.action == "milestone.accepted"]
    assert event.changes["missing_deliverables"] == [None, ["签到表"]]


@pytest.mark.parametrize("kind, title, required, missing", [
    (DeliverableKind.SIGN_IN_SHEET, "3月签到.pdf", "阶段报告、签到表", []),
    (DeliverableKind.PHOTO, "活动.pdf", "季度报告、签到表、活动照片", ["签到表"]),
    (DeliverableKind.OTHER, "服务台账.pdf", "中期报告，台账", []),
    (DeliverableKind.OTHER, "其他.pdf", "中期报告；台账", ["台账"]),
])
def test_a_required_deliverable_is_answered_by_its_kind_or_title(clock, kind, title, required, missing):
    setup, milestone = in_progress_with_milestone(clock, "submitted")
    milestone.required_deliverables = required
    _attach(milestone, kind, title)  # beside the report the organization uploaded

    assert workflow.missing_deliverables(milestone) == missing


def _attach(milestone, kind, title):
    from svcproc.contracts.models import Deliverable
    from svcproc.core import clock as app_clock
    from svcproc.extensions import db

    item = Deliverable(kind=kind, title=title, file=milestone.deliverables[0].file, uploaded_at=app_clock.now())
    milestone.deliverables.append(item)
    db.session.flush()


def test_tranches_explain_rounding_and_an_amendment_after_payment():
    from decimal import Decimal
    from types import SimpleNamespace as NS

    thirds = [NS(id=i, tranche_percent=Decimal("33.33") if i < 3 else Decimal("33.34"), status=M.PENDING)
              for i in (1, 2, 3)]
    contract = NS(amount_fen=100_000, milestones=thirds)
    amounts = workflow.tranche_amounts(contract)
    notes = workflow.tranche_notes(contract, amounts)
    assert sum(amounts.values()) == 100_000 and set(notes) == set()  # 33.33 % of ¥1,000 is a whole fen
    contract.amount_fen = 100_001
    notes = workflow.tranche_notes(contract, workflow.tranche_amounts(contract))
    assert "¥333.3033" in notes[1] and set(notes) == {1, 2, 3}  # 33.33 % of ¥1,000.01, to the fen

    # ¥489,600 in four quarters, the first paid ¥120,000 before an amendment raised it to ¥496,800.
    quarters = [NS(id=i, tranche_percent=Decimal(25), status=M.PAID if i == 1 else M.PENDING,
                   payments=[NS(amount_fen=12_000_000)] if i == 1 else []) for i in (1, 2, 3, 4)]
    contract = NS(amount_fen=49_680_000, milestones=quarters)
    amounts = workflow.tranche_amounts(contract)
    notes = workflow.tranche_notes(contract, amounts)
    assert amounts[1] == 12_000_000 and amounts[2] == 12_560_000  # (496,800 - 120,000) / 3
    assert "120,000.00" in notes[2] and "376,800.00" in notes[2] and "75" in notes[2]
    assert 1 in notes
