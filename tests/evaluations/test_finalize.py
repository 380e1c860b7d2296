"""Finalizing a round (what it waits for, what it stores and locks), reopening it (administrators
only, with a reason, audited) and cancelling it, by role and by status."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import RoundStatus
from tests.builders.evaluations import ALL_ROLES, TODAY, actions_after, stored, unchanged
from tests.helpers import audit_events, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")
R = RoundStatus
D = Decimal
role_ids = lambda r: getattr(r, "value", "system")  # noqa: E731


def _status_message(status):
    return _("This is not possible while the evaluation is %(status)s.", status=ev.status_label(status))


def _all_scored(world, round_, skip=()):
    for member in round_.evaluators:
        name = next(k for k, u in world.users.items() if u.id == member.user_id)
        if name not in skip and not member.conflicted:
            world.score(round_, name)


# --- finalize -----------------------------------------------------------------------------------


def test_finalizing_stores_the_total_grade_and_result_and_is_audited(world, clock):
    round_ = world.scoring()
    _all_scored(world, round_)
    clock.advance(hours=3)
    seq = last_seq()

    ev.finalize(world.staff, round_)

    round_ = stored(round_)
    assert (round_.status, round_.total, round_.grade) == (R.FINALIZED, D("82.00"), "good")
    assert round_.finalized_at == clock.now and round_.status_changed_at == clock.now
    assert round_.result["total"] == "82.00" and round_.result["nodes"]["a"] == "32.00"
    assert actions_after(seq) == ["evaluation.finalized"]
    [event] = audit_events("evaluation.finalized")
    assert event.changes == {"status": ["scoring", "finalized"], "total": [None, "82.00"], "grade": [None, "good"]}


# every evaluator gives this share of each leaf's full marks; the computed half is 20 + 30 = 50
@pytest.mark.parametrize("share, total, grade", [
    ("1", "90.00", "excellent"), ("0.995", "89.80", "good"), ("0.75", "80.00", "good"), ("0.7", "78.00", "pass"),
    ("0.25", "60.00", "pass"), ("0.24", "59.60", "fail"), ("0", "50.00", "fail")])
def test_the_grade_follows_the_total(world, share, total, grade):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1",)})
    world.score(round_, "tp1", {"a.x": str(20 * D(share)), "a.y": str(20 * D(share))})

    ev.finalize(world.staff, round_)

    assert (round_.total, round_.grade) == (D(total), grade)


def test_finalizing_waits_for_every_declaration(world):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1", "tp2")})
    world.score(round_, "tp1")

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.finalize(world.staff, round_)

    assert refused.value.message == _("Waiting for these evaluators' conflict declarations: %(names)s.", names="评估员乙")
    assert round_.status == R.SCORING and round_.total is None


def test_finalizing_waits_for_every_submission(world):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1", "tp2", "tp3")})
    world.score(round_, "tp1")
    world.score(round_, "tp2", submit=False)
    ev.declare(world.users["tp3"], world.member(round_, "tp3"), related=False)

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.finalize(world.staff, round_)

    assert refused.value.message == _("Waiting for these evaluators' scores: %(names)s.", names="评估员乙, 评估员丙")


def test_a_party_whose_only_evaluators_are_conflicted_blocks_finalizing(world):
    round_ = world.scoring()
    for name in ("cm1", "cm2"):
        ev.declare(world.users[name], world.member(round_, name), related=True, note="居住在服务社区并受助")
    _all_scored(world, round_)

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.finalize(world.staff, round_)

    assert refused.value.message == _("No evaluator without a conflict scored for: %(names)s; assign another.",
                                      names="社区")


def test_a_conflicted_evaluator_is_not_waited_for(world):
    round_ = world.scoring()
    ev.declare(world.users["tp3"], world.member(round_, "tp3"), related=True, note="亲属在该机构任职")
    _all_scored(world, round_)

    ev.finalize(world.staff, round_)

    assert round_.status == R.FINALIZED and world.member(round_, "tp3").submitted_at is None


def test_a_party_left_without_evaluators_blocks_finalizing(world):
    round_ = world.scoring(parties=(("第三方", "80"), ("社区", "20")), team={"第三方": ("tp1",), "社区": ("cm1",)})
    ev.remove_evaluator(world.staff, world.member(round_, "cm1"))
    world.score(round_, "tp1")

    with unchanged(round_), pytest.raises(DomainError):
        ev.finalize(world.staff, round_)


@pytest.mark.parametrize("status", list(R))
def test_only_a_round_in_scoring_is_finalized(world, status):
    round_ = world.round_in(status)
    if status == R.SCORING:
        world.score(round_, "tp1")
        ev.finalize(world.staff, round_)
        assert round_.status == R.FINALIZED
        return
    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.finalize(world.staff, round_)
    assert refused.value.message == _status_message(status)


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_procurement_staff_finalize(world, role):
    round_ = world.round_in(R.SCORING)
    world.score(round_, "tp1")

    if role in (Role.PROCUREMENT, None):
        ev.finalize(world.user(role), round_)
        assert round_.status == R.FINALIZED
        return
    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.finalize(world.user(role), round_)


def test_a_finalized_round_is_locked(world):
    round_ = world.round_in(R.FINALIZED, team={"第三方": ("tp1",)})
    member = world.member(round_, "tp1")

    for attempt in (lambda: ev.save_score(world.users["tp1"], member, "a.x", "1", "改"),
                    lambda: ev.assign_evaluator(world.staff, round_, world.users["tp2"], round_.parties[0]),
                    lambda: ev.set_parties(world.staff, round_, [("第三方", "100")]),
                    lambda: ev.add_survey(world.staff, round_, leaf_key="b.sat", group_name="居民", surveyed=10,
                                          satisfied=1),
                    lambda: ev.open_scoring(world.staff, round_),
                    lambda: ev.cancel(world.staff, round_, "不需要了"),
                    lambda: ev.finalize(world.staff, round_)):
        with unchanged(round_, member, *member.scores), pytest.raises(DomainError):
            attempt()


# --- reopen -------------------------------------------------------------------------------------


def test_reopening_clears_the_result_and_the_submissions_and_is_audited(world):
    round_ = world.finalized()
    seq = last_seq()

    ev.reopen(world.admin, round_, " 评估员录入错误，需更正 ")

    round_ = stored(round_)
    assert (round_.status, round_.total, round_.grade, round_.result, round_.finalized_at) == (
        R.SCORING, None, None, {}, None)
    assert round_.status_reason == "评估员录入错误，需更正"
    assert all(m.submitted_at is None for m in round_.evaluators)
    assert all(len(m.scores) == 2 for m in round_.evaluators)           # the scores stay, to be revised
    assert round_.computed["b.events"]["points"] == "20.00"             # still frozen
    assert actions_after(seq) == ["evaluation.reopened"]
    [event] = audit_events("evaluation.reopened")
    assert event.actor_id == world.admin.id
    assert event.changes["reason"] == [None, "评估员录入错误，需更正"]
    assert event.changes["previous"] == [None, {"total": "82.00", "grade": "good"}]


def test_after_reopening_evaluators_revise_and_the_round_is_finalized_anew(world):
    round_ = world.finalized(parties=(("第三方", "100"),), team={"第三方": ("tp1",)})
    ev.reopen(world.admin, round_, "复核")
    member = world.member(round_, "tp1")

    ev.save_score(world.users["tp1"], member, "a.x", "20", "复核后满分")
    ev.submit_scores(world.users["tp1"], member)
    ev.finalize(world.staff, round_)

    assert (round_.total, round_.grade) == (D("86.00"), "good")          # 20 + 16 + 50


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reopening_needs_a_reason(world, reason):
    round_ = world.finalized()

    with unchanged(round_, *round_.evaluators), pytest.raises(ValidationError) as refused:
        ev.reopen(world.admin, round_, reason)

    assert refused.value.message == _("Give the reason for reopening the evaluation.")
    assert round_.status == R.FINALIZED and round_.total == D("82.00")


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_an_administrator_reopens(world, role):
    round_ = world.round_in(R.FINALIZED)

    if role in (Role.ADMIN, None):
        ev.reopen(world.user(role), round_, "复核")
        assert round_.status == R.SCORING
        return
    with unchanged(round_, *round_.evaluators), pytest.raises(PermissionDenied):
        ev.reopen(world.user(role), round_, "复核")


@pytest.mark.parametrize("status", list(R))
def test_only_a_finalized_round_is_reopened(world, status):
    round_ = world.round_in(status)

    if status == R.FINALIZED:
        ev.reopen(world.admin, round_, "复核")
        assert round_.status == R.SCORING
        return
    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.reopen(world.admin, round_, "复核")
    assert refused.value.message == _status_message(status)


# --- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(R))
def test_a_round_is_cancelled_until_it_is_finalized(world, status):
    round_ = world.round_in(status)

    if status in (R.PLANNED, R.SCORING):
        seq = last_seq()
        ev.cancel(world.staff, round_, " 合同提前终止 ")
        assert (stored(round_).status, round_.status_reason) == (R.CANCELLED, "合同提前终止")
        assert actions_after(seq) == ["evaluation.cancelled"]
        return
    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.cancel(world.staff, round_, "合同提前终止")
    assert refused.value.message == _status_message(status)


def test_cancelling_needs_a_reason(world):
    round_ = world.round_in(R.PLANNED)

    with unchanged(round_), pytest.raises(ValidationError) as refused:
        ev.cancel(world.staff, round_, " ")

    assert refused.value.message == _("Give the reason for cancelling the evaluation.")


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_procurement_staff_cancel(world, role):
    round_ = world.round_in(R.PLANNED)

    if role in (Role.PROCUREMENT, None):
        ev.cancel(world.user(role), round_, "不再需要")
        assert round_.status == R.CANCELLED
        return
    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.cancel(world.user(role), round_, "不再需要")


def test_a_cancelled_round_is_locked(world):
    round_ = world.round_in(R.CANCELLED)

    for attempt in (lambda: ev.open_scoring(world.staff, round_),
                    lambda: ev.update_schedule(world.staff, round_, title="x", scheduled_start=TODAY,
                                               scheduled_end=TODAY),
                    lambda: ev.reopen(world.admin, round_, "恢复")):
        with unchanged(round_), pytest.raises(DomainError):
            attempt()
