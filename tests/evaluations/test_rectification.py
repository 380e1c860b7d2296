"""Findings and rectification items: who records them and when, the organization's responses with
evidence, the bureau closing or reopening each item, and overdue items."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import Finding, ItemStatus, RectificationItem, RectificationResponse, RoundStatus
from tests.builders.evaluations import ALL_ROLES, TODAY, actions_after, count_of, stored, unchanged
from tests.builders.files import pdf_upload
from tests.helpers import audit_events, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")
R = RoundStatus
S = ItemStatus
role_ids = lambda r: getattr(r, "value", "system")  # noqa: E731
DEADLINE = TODAY + timedelta(days=30)


@pytest.fixture
def round_(world):
    return world.round_in(R.FINALIZED)


@pytest.fixture
def finding(world, round_):
    return ev.add_finding(world.staff, round_, "个案记录不完整，部分服务对象缺少评估表。")


def _item(world, finding, **values):
    values = {"action": "补齐个案评估表并建立季度检查制度", "owner": "项目主管", "deadline": DEADLINE, **values}
    return ev.add_item(world.staff, finding, **values)


@pytest.fixture
def item(world, finding):
    return _item(world, finding)


def _in(world, item, status):
    if status in (S.RESPONDED, S.CLOSED):
        ev.respond(world.manager, item, "已补齐评估表。", [])
    if status == S.CLOSED:
        ev.close_item(world.staff, item, "核查属实")
    return item


# --- findings and items -------------------------------------------------------------------------


def test_a_finding_with_an_item_is_recorded_and_audited(world, round_):
    seq = last_seq()

    finding = ev.add_finding(world.staff, round_, " 督导记录缺失 ")
    item = _item(world, finding, owner=" 张主任 ", action=" 每月督导并记录 ")

    assert (finding.text, finding.round_id, finding.created_by_id) == ("督导记录缺失", round_.id, world.staff.id)
    assert (item.action, item.owner, item.deadline, item.status) == ("每月督导并记录", "张主任", DEADLINE, S.OPEN)
    assert actions_after(seq) == ["finding.added", "rectification.added"]
    [event] = audit_events("rectification.added")
    assert event.changes["deadline"] == [None, DEADLINE.isoformat()]


@pytest.mark.parametrize("status", list(R))
def test_findings_are_recorded_while_scoring_or_after_finalizing(world, status):
    round_ = world.round_in(status)

    if status in (R.SCORING, R.FINALIZED):
        finding = ev.add_finding(world.staff, round_, "活动宣传不足")
        assert _item(world, finding).status == S.OPEN
        return
    with unchanged(round_), pytest.raises(DomainError):
        ev.add_finding(world.staff, round_, "活动宣传不足")
    assert count_of(Finding) == 0


def test_no_items_on_a_finding_of_a_round_that_was_reopened_and_cancelled(world, round_, finding):
    ev.reopen(world.admin, round_, "复核")
    ev.cancel(world.staff, round_, "项目终止")

    with unchanged(round_, finding), pytest.raises(DomainError):
        _item(world, finding)


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_procurement_staff_record_findings_but_not_others_without_a_place_on_the_round(world, round_, role):
    actor = world.user(role)

    if role in (Role.PROCUREMENT, None):
        finding = ev.add_finding(actor, round_, "活动宣传不足")
        ev.add_item(actor, finding, action="增加宣传", owner="社工", deadline=DEADLINE)
        return
    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.add_finding(actor, round_, "活动宣传不足")


def test_the_rounds_evaluators_record_findings_once_declared_without_a_conflict(world):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1", "tp2", "tp3")})
    ev.declare(world.users["tp1"], world.member(round_, "tp1"), related=False)
    ev.declare(world.users["tp2"], world.member(round_, "tp2"), related=True, note="曾在该机构兼职")

    finding = ev.add_finding(world.users["tp1"], round_, "志愿者培训记录缺失")
    _item_ = ev.add_item(world.users["tp1"], finding, action="补充培训记录", owner="志愿者主管", deadline=DEADLINE)

    assert (finding.created_by_id, _item_.created_by_id) == (world.users["tp1"].id, world.users["tp1"].id)
    for who in ("tp2", "tp3"):                 # conflicted; undeclared
        with unchanged(round_, finding), pytest.raises(PermissionDenied):
            ev.add_finding(world.users[who], round_, "另一个问题")
        with unchanged(round_, finding), pytest.raises(PermissionDenied):
            ev.add_item(world.users[who], finding, action="x", owner="y", deadline=DEADLINE)


@pytest.mark.parametrize("values, field", [
    ({"action": " "}, "action"), ({"owner": ""}, "owner"), ({"deadline": None}, "deadline"),
    ({"deadline": TODAY - timedelta(days=1)}, "deadline"),
])
def test_an_item_says_what_who_and_by_when(world, finding, values, field):
    with unchanged(finding), pytest.raises(ValidationError) as refused:
        _item(world, finding, **values)

    assert refused.value.field == field
    assert count_of(RectificationItem) == 0


def test_a_deadline_today_is_fine(world, finding):
    assert _item(world, finding, deadline=TODAY).deadline == TODAY


def test_a_finding_needs_text(world, round_):
    with unchanged(round_), pytest.raises(ValidationError) as refused:
        ev.add_finding(world.staff, round_, "  ")

    assert refused.value.message == _("Describe the finding.")


# --- the organization responds ------------------------------------------------------------------


def test_the_organization_responds_with_evidence(world, item):
    seq = last_seq()

    response = ev.respond(world.manager, item, " 已补齐全部个案评估表 ",
                          [pdf_upload("评估表.pdf"), pdf_upload("检查制度.pdf"), None])

    assert (response.text, response.created_by_id) == ("已补齐全部个案评估表", world.manager.id)
    assert [f.file.original_name for f in response.files] == ["评估表.pdf", "检查制度.pdf"]
    assert stored(item).status == S.RESPONDED
    assert actions_after(seq) == ["rectification.responded"]


def test_a_response_says_what_was_done(world, item):
    with unchanged(item), pytest.raises(ValidationError) as refused:
        ev.respond(world.manager, item, "  ", [])

    assert refused.value.message == _("Say what was done.")
    assert count_of(RectificationResponse) == 0


@pytest.mark.parametrize("status", [S.RESPONDED, S.CLOSED])
def test_only_an_open_item_takes_a_response(world, item, status):
    _in(world, item, status)

    with unchanged(item), pytest.raises(DomainError) as refused:
        ev.respond(world.manager, item, "再补充", [])

    assert refused.value.message == _("This item is not waiting for a response.")


@pytest.mark.parametrize("who", ["other_manager", "worker", "procurement", "admin", "auditor", "tp1", "evaluator",
                                 "expert"])
def test_only_the_evaluated_organizations_manager_responds(world, item, who):
    with unchanged(item), pytest.raises(PermissionDenied):
        ev.respond(world.users[who], item, "已整改", [])


# --- the bureau closes or reopens ---------------------------------------------------------------


def test_the_bureau_closes_a_responded_item(world, item):
    _in(world, item, S.RESPONDED)
    seq = last_seq()

    ev.close_item(world.staff, item, " 核查属实 ")

    assert (stored(item).status, item.status_note) == (S.CLOSED, "核查属实")
    assert actions_after(seq) == ["rectification.closed"]


@pytest.mark.parametrize("status", [S.OPEN, S.CLOSED])
def test_only_a_responded_item_is_closed(world, item, status):
    _in(world, item, status)

    with unchanged(item), pytest.raises(DomainError) as refused:
        ev.close_item(world.staff, item)

    assert refused.value.message == _("Only an item the organization has responded to can be closed.")


@pytest.mark.parametrize("status", [S.RESPONDED, S.CLOSED])
def test_the_bureau_reopens_a_responded_or_closed_item_with_a_reason(world, item, status):
    _in(world, item, status)
    seq = last_seq()

    ev.reopen_item(world.staff, item, "评估表仍缺三份")

    assert (stored(item).status, item.status_note) == (S.OPEN, "评估表仍缺三份")
    assert actions_after(seq) == ["rectification.reopened"]
    ev.respond(world.manager, item, "补齐剩余三份", [])         # the organization answers again
    assert len(stored(item).responses) == 2


def test_an_open_item_is_not_reopened(world, item):
    with unchanged(item), pytest.raises(DomainError) as refused:
        ev.reopen_item(world.staff, item, "再看看")

    assert refused.value.message == _("This item is already open.")


def test_reopening_an_item_needs_a_reason(world, item):
    _in(world, item, S.RESPONDED)

    with unchanged(item), pytest.raises(ValidationError):
        ev.reopen_item(world.staff, item, " ")


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_procurement_staff_review_items(world, item, role):
    _in(world, item, S.RESPONDED)
    actor = world.user(role)

    if role in (Role.PROCUREMENT, None):
        ev.close_item(actor, item, "")
        ev.reopen_item(actor, item, "复发")
        assert item.status == S.OPEN
        return
    with unchanged(item), pytest.raises(PermissionDenied):
        ev.close_item(actor, item, "")
    with unchanged(item), pytest.raises(PermissionDenied):
        ev.reopen_item(actor, item, "复发")


# --- overdue ------------------------------------------------------------------------------------


def test_an_item_not_closed_by_its_deadline_is_overdue(world, item, clock):
    assert not item.overdue

    clock.advance(days=31)
    assert item.overdue
    _in(world, item, S.RESPONDED)
    assert item.overdue                          # responded is not yet rectified
    ev.close_item(world.staff, item)
    assert not item.overdue
