"""Setting up an evaluation round: which contracts, template versions and organizations it takes,
one final evaluation per contract, dates and output targets; scoring parties and their weights;
evaluators (assignment, removal, conflict declarations) and who may do each, in which status."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import gettext as _

from svcproc.contracts.models import ContractStatus
from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.formatting import points as points_text
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationRound, RoundEvaluator, RoundKind, RoundStatus, VersionStatus
from tests.builders.contracts import contract_in
from tests.builders.evaluations import (ALL_ROLES, PARTIES, SMALL_ROWS, TODAY, actions_after, count_of, stored,
                                        unchanged)
from tests.helpers import audit_events, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")
R = RoundStatus
role_ids = lambda r: getattr(r, "value", "system")  # noqa: E731


def _status_message(status):
    return _("This is not possible while the evaluation is %(status)s.", status=ev.status_label(status))


# --- creating a round ---------------------------------------------------------------------------


def test_a_round_is_created_planned_with_its_version_and_audited(world):
    seq = last_seq()

    round_ = world.new_round(kind=RoundKind.FINAL, title=" 末期评估 ")

    assert (round_.status, round_.title, round_.template_version_id) == (R.PLANNED, "末期评估", world.small.id)
    assert (round_.evaluation_org_id, round_.target_percent, round_.created_by_id) == (
        world.eval_org.id, 100, world.staff.id)
    assert actions_after(seq) == ["evaluation.created"]
    [event] = audit_events("evaluation.created", object_id=str(round_.id))
    assert event.changes["kind"] == [None, "final"] and event.changes["contract_id"] == [None, world.contract.id]


@pytest.mark.parametrize("kind, percent", [(RoundKind.MIDTERM, 50), (RoundKind.FINAL, 100), (RoundKind.SPECIAL, 100)])
def test_outputs_are_measured_against_half_the_targets_at_mid_term(world, kind, percent):
    assert world.new_round(kind=kind).target_percent == percent


def test_the_target_share_can_be_chosen(world):
    assert world.new_round(kind=RoundKind.MIDTERM, target_percent=60).target_percent == 60


@pytest.mark.parametrize("percent", [0, -10, 101])
def test_the_target_share_is_1_to_100_percent(world, percent):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.new_round(kind=RoundKind.MIDTERM, target_percent=percent)

    assert refused.value.field == "target_percent"


def test_the_bureau_may_evaluate_without_a_third_party(world):
    assert world.new_round(evaluation_org=None).evaluation_org_id is None


def test_the_evaluation_organization_must_be_an_evaluation_organization(world):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.new_round(evaluation_org=world.other_org)

    assert refused.value.message == _("Choose a third-party evaluation organization.")


@pytest.mark.parametrize("start, end", [(TODAY, TODAY - timedelta(days=1)), (TODAY + timedelta(days=30), TODAY)])
def test_an_evaluation_cannot_end_before_it_starts(world, start, end):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.new_round(start=start, end=end)

    assert refused.value.message == _("The evaluation ends before it starts.")


def test_a_one_day_evaluation_is_fine(world):
    assert world.new_round(start=TODAY, end=TODAY).scheduled_end == TODAY


@pytest.mark.parametrize("title", ["", "   "])
def test_an_evaluation_has_a_title(world, title):
    with unchanged(), pytest.raises(ValidationError) as refused:
        world.new_round(title=title)

    assert refused.value.field == "title"


@pytest.mark.parametrize("status", list(ContractStatus))
def test_only_signed_contracts_are_evaluated(world, clock, status):
    contract = contract_in(status, clock).contract

    if status in ev.EVALUABLE_CONTRACTS:
        assert world.new_round(contract=contract).contract_id == contract.id
        return
    with unchanged(contract), pytest.raises(DomainError) as refused:
        world.new_round(contract=contract)
    assert refused.value.message == _("Only a signed contract can be evaluated.")


def test_one_final_evaluation_per_contract(world):
    first = world.new_round(kind=RoundKind.FINAL)

    with unchanged(first), pytest.raises(DomainError) as refused:
        world.new_round(kind=RoundKind.FINAL, title="又一次末期评估")

    assert refused.value.message == _("This contract already has a final evaluation.")
    assert count_of(EvaluationRound, EvaluationRound.contract_id == world.contract.id) == 1


def test_after_a_cancelled_final_another_final_may_start(world):
    first = world.new_round(kind=RoundKind.FINAL)
    ev.cancel(world.staff, first, "评估机构变更。")

    second = world.new_round(kind=RoundKind.FINAL)

    assert second.id != first.id and second.status == R.PLANNED


def test_mid_term_and_special_evaluations_may_repeat_and_other_contracts_have_their_own_final(world):
    world.new_round(kind=RoundKind.FINAL)
    world.new_round(kind=RoundKind.MIDTERM)
    world.new_round(kind=RoundKind.MIDTERM, title="第二次中期评估")
    world.new_round(kind=RoundKind.SPECIAL)

    other = world.new_round(kind=RoundKind.FINAL, contract=world.other_contract)

    assert other.contract_id == world.other_contract.id
    assert [r.kind for r in ev.rounds_of(world.contract)].count(RoundKind.MIDTERM) == 2


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_the_bureaus_procurement_staff_create_rounds(world, role):
    actor = world.user(role)

    if role in (Role.PROCUREMENT, None):
        round_ = ev.create_round(actor, world.contract, kind=RoundKind.MIDTERM, title="中期评估",
                                 template_version=world.small, evaluation_org=world.eval_org,
                                 scheduled_start=TODAY, scheduled_end=TODAY)
        assert round_.status == R.PLANNED
        return
    with unchanged(), pytest.raises(PermissionDenied):
        ev.create_round(actor, world.contract, kind=RoundKind.MIDTERM, title="中期评估",
                        template_version=world.small, evaluation_org=world.eval_org,
                        scheduled_start=TODAY, scheduled_end=TODAY)


# --- versions: rounds keep theirs ---------------------------------------------------------------


def _template(world, name="版本测试指标"):
    template = indicators.create_template(world.admin, name=name, rows=indicators.clean_rows(SMALL_ROWS))
    return template, template.latest


def test_a_draft_version_cannot_be_used(world):
    _template_, draft = _template(world)

    with unchanged(), pytest.raises(ValidationError) as refused:
        world.new_round(version=draft)

    assert refused.value.message == _("Choose a published template version.")


def test_a_retired_version_cannot_be_used_by_new_rounds_but_stays_with_its_rounds(world):
    _template_, version = _template(world)
    indicators.publish_version(world.admin, version)
    running = world.prepared(version=version)
    indicators.retire_version(world.admin, version)

    with unchanged(), pytest.raises(ValidationError):
        world.new_round(version=version, kind=RoundKind.MIDTERM)

    ev.open_scoring(world.staff, running)         # the round that started with it carries on
    assert running.status == R.SCORING and set(running.computed) == {"b.events", "b.sat"}


def test_a_round_keeps_its_version_when_a_new_one_is_published(world):
    template, first = _template(world)
    indicators.publish_version(world.admin, first)
    round_ = world.prepared(version=first)
    second = indicators.new_version(world.admin, template)
    changed = [dict(r) for r in second.indicators]
    changed[1].update(weight="10")
    changed[2].update(weight="30", name="团队与督导（新）")
    indicators.save_version(world.admin, second, rows=indicators.clean_rows(changed), bands=second.bands)
    indicators.publish_version(world.admin, second)

    ev.open_scoring(world.staff, round_)

    assert stored(round_).template_version_id == first.id
    assert [leaf.weight for leaf in ev.scored_leaves(round_)] == [20, 20]
    assert first.status == VersionStatus.PUBLISHED and template.current is second
    assert world.new_round(version=second, kind=RoundKind.MIDTERM).template_version_id == second.id


# --- parties ------------------------------------------------------------------------------------


def test_parties_are_set_in_order_with_their_weights(world):
    round_ = world.new_round()
    seq = last_seq()

    ev.set_parties(world.staff, round_, [*PARTIES, ("", "")])

    assert [(p.name, p.weight, p.position) for p in round_.parties] == [("第三方", 70, 0), ("区民政局", 20, 1),
                                                                         ("社区", 10, 2)]
    assert actions_after(seq) == ["evaluation.parties_set"]


@pytest.mark.parametrize("rows, message", [
    ([("第三方", "70"), ("区民政局", "20")],
     lambda: _("The parties' weights add up to %(total)s, not 100.", total=points_text(90))),
    ([("第三方", "70"), ("区民政局", "20"), ("社区", "10.5")],
     lambda: _("The parties' weights add up to %(total)s, not 100.", total=points_text("100.5"))),
    ([("第三方", "七十"), ("区民政局", "30")], lambda: _("Party %(n)d: the weight is a number, e.g. 70.", n=1)),
    ([("第三方", "0"), ("区民政局", "100")], lambda: _("Party %(n)d: the weight is above 0 and at most 100.", n=1)),
    ([("第三方", "-30"), ("区民政局", "130")], lambda: _("Party %(n)d: the weight is above 0 and at most 100.", n=1)),
    ([("第三方", "100.01")], lambda: _("Party %(n)d: the weight is above 0 and at most 100.", n=1)),
    ([("第三方", "33.333"), ("区民政局", "66.667")],
     lambda: _("Party %(n)d: the weight is above 0 and at most 100.", n=1)),
    ([("第三方", "NaN"), ("区民政局", "100")], lambda: _("Party %(n)d: the weight is above 0 and at most 100.", n=1)),
    ([("第三方", "50"), ("第三方", "50")],
     lambda: _("Party %(n)d: the name %(name)s is used twice.", n=2, name="第三方")),
    ([("", "50"), ("区民政局", "50")], lambda: _("Party %(n)d: give its name.", n=1)),
    ([], lambda: _("Name at least one scoring party.")),
    ([("", "")], lambda: _("Name at least one scoring party.")),
])
def test_party_weights_are_numbers_adding_up_to_100(world, rows, message):
    round_ = world.new_round()
    ev.set_parties(world.staff, round_, [("原第三方", "100")])

    with unchanged(round_, *round_.parties), pytest.raises(ValidationError) as refused:
        ev.set_parties(world.staff, round_, rows)

    assert refused.value.message == message()
    assert [(p.name, p.weight) for p in stored(round_).parties] == [("原第三方", 100)]


def test_resetting_parties_keeps_a_party_with_evaluators_by_name(world):
    round_ = world.prepared(survey=None)
    third = round_.parties[0]
    members = {m.id for m in round_.evaluators if m.party_id == third.id}

    ev.set_parties(world.staff, round_, [("区民政局", "25"), ("第三方", "65"), ("社区", "10")])

    assert [(p.name, p.weight) for p in round_.parties] == [("区民政局", 25), ("第三方", 65), ("社区", 10)]
    assert round_.parties[1] is third and {m.id for m in round_.evaluators if m.party_id == third.id} == members


def test_a_party_that_still_has_evaluators_cannot_be_dropped(world):
    round_ = world.prepared(survey=None)

    with unchanged(round_, *round_.parties), pytest.raises(DomainError) as refused:
        ev.set_parties(world.staff, round_, [("第三方", "80"), ("区民政局", "20")])

    assert refused.value.message == _("The party %(name)s still has evaluators; remove them first.", name="社区")


def test_setting_the_same_parties_writes_no_event(world):
    round_ = world.new_round()
    ev.set_parties(world.staff, round_, list(PARTIES))
    seq = last_seq()

    ev.set_parties(world.staff, round_, list(PARTIES))

    assert actions_after(seq) == []


# --- evaluators ---------------------------------------------------------------------------------


def test_an_evaluator_is_assigned_to_a_party_and_audited(world):
    round_ = world.new_round()
    ev.set_parties(world.staff, round_, list(PARTIES))
    seq = last_seq()

    member = ev.assign_evaluator(world.staff, round_, world.users["tp1"], round_.parties[0])

    assert (member.user_id, member.party_id, member.declared_at, member.conflicted) == (
        world.users["tp1"].id, round_.parties[0].id, None, False)
    assert actions_after(seq) == ["evaluation.evaluator_assigned"]


def test_staff_of_the_evaluated_organization_cannot_evaluate_it(world):
    round_ = world.new_round()
    ev.set_parties(world.staff, round_, list(PARTIES))
    insider = world.users["insider"]
    assert insider.organization_id == world.contract.organization_id

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.assign_evaluator(world.staff, round_, insider, round_.parties[0])

    assert refused.value.message == _("%(name)s works for the evaluated organization and cannot evaluate its project.",
                                      name=insider.full_name)
    assert count_of(RoundEvaluator, RoundEvaluator.user_id == insider.id) == 0


@pytest.mark.parametrize("who", ["admin", "procurement", "expert", "manager", "worker", "auditor", "other_manager",
                                 "inactive"])
def test_only_active_evaluator_accounts_are_assigned(world, who):
    round_ = world.new_round()
    ev.set_parties(world.staff, round_, list(PARTIES))

    with unchanged(round_), pytest.raises(ValidationError) as refused:
        ev.assign_evaluator(world.staff, round_, world.users[who], round_.parties[0])

    assert refused.value.message == _("Only an active evaluator account can be assigned.")


def test_an_evaluator_is_assigned_once_per_round(world):
    round_ = world.prepared(survey=None)

    with unchanged(round_), pytest.raises(DomainError):
        ev.assign_evaluator(world.staff, round_, world.users["tp1"], round_.parties[1])


def test_the_party_must_be_the_rounds_own(world):
    round_ = world.prepared(survey=None)
    other = world.prepared(survey=None, kind=RoundKind.MIDTERM)

    with unchanged(round_), pytest.raises(ValidationError) as refused:
        ev.assign_evaluator(world.staff, round_, world.users["evaluator"], other.parties[0])

    assert refused.value.field == "party"


@pytest.mark.parametrize("status", list(R))
def test_evaluators_are_assigned_while_planned_or_scoring(world, status):
    round_ = world.round_in(status)
    party = round_.parties[0]
    newcomer = world.users["tp2"]

    if status in (R.PLANNED, R.SCORING):
        ev.assign_evaluator(world.staff, round_, newcomer, party)
        assert any(m.user_id == newcomer.id for m in round_.evaluators)
        return
    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.assign_evaluator(world.staff, round_, newcomer, party)
    assert refused.value.message == _status_message(status)


@pytest.mark.parametrize("status", list(R))
def test_evaluators_are_removed_while_planned_or_scoring(world, status):
    round_ = world.round_in(status, team={"第三方": ("tp1", "tp2")})
    member = world.member(round_, "tp2")
    if status == R.FINALIZED:
        assert member.submitted_at is not None

    if status in (R.PLANNED, R.SCORING):
        seq = last_seq()
        ev.remove_evaluator(world.staff, member)
        assert [m.user_id for m in stored(round_).evaluators] == [world.users["tp1"].id]
        assert actions_after(seq) == ["evaluation.evaluator_removed"]
        return
    with unchanged(round_, member), pytest.raises(DomainError):
        ev.remove_evaluator(world.staff, member)


def test_an_evaluator_who_submitted_stays(world):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1", "tp2")})
    member = world.score(round_, "tp1")

    with unchanged(round_, member), pytest.raises(DomainError):
        ev.remove_evaluator(world.staff, member)


def test_removing_an_evaluator_who_saved_scores_removes_the_scores(world):
    round_ = world.scoring(parties=(("第三方", "100"),), team={"第三方": ("tp1", "tp2")})
    member = world.score(round_, "tp2", submit=False)
    assert member.scores

    ev.remove_evaluator(world.staff, member)

    from svcproc.evaluations.models import EvaluationScore
    assert count_of(EvaluationScore, EvaluationScore.evaluator_id == member.id) == 0


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
@pytest.mark.parametrize("verb", ["set_parties", "assign", "remove", "update_schedule"])
def test_only_procurement_staff_prepare_rounds(world, role, verb):
    round_ = world.prepared(survey=None)
    actor = world.user(role)
    calls = {
        "set_parties": lambda: ev.set_parties(actor, round_, [("第三方", "60"), ("区民政局", "30"), ("社区", "10")]),
        "assign": lambda: ev.assign_evaluator(actor, round_, world.users["evaluator"], round_.parties[0]),
        "remove": lambda: ev.remove_evaluator(actor, world.member(round_, "tp3")),
        "update_schedule": lambda: ev.update_schedule(actor, round_, title="末期评估（延期）", scheduled_start=TODAY,
                                                      scheduled_end=TODAY + timedelta(days=30)),
    }

    if role in (Role.PROCUREMENT, None):
        seq = last_seq()
        calls[verb]()
        assert len(actions_after(seq)) == 1
        return
    with unchanged(round_, *round_.parties, *round_.evaluators), pytest.raises(PermissionDenied):
        calls[verb]()


@pytest.mark.parametrize("status", list(R))
def test_parties_change_only_while_planned(world, status):
    round_ = world.round_in(status)

    if status == R.PLANNED:
        ev.set_parties(world.staff, round_, [("第三方", "90"), ("社区", "10")])
        assert [p.name for p in round_.parties] == ["第三方", "社区"]
        return
    with unchanged(round_, *round_.parties), pytest.raises(DomainError) as refused:
        ev.set_parties(world.staff, round_, [("第三方", "90"), ("社区", "10")])
    assert refused.value.message == _status_message(status)


@pytest.mark.parametrize("status", list(R))
def test_the_schedule_changes_until_finalized(world, status):
    round_ = world.round_in(status)
    end = TODAY + timedelta(days=40)

    if status in (R.PLANNED, R.SCORING):
        ev.update_schedule(world.staff, round_, title="末期评估", scheduled_start=TODAY, scheduled_end=end)
        assert stored(round_).scheduled_end == end
        return
    with unchanged(round_), pytest.raises(DomainError):
        ev.update_schedule(world.staff, round_, title="末期评估", scheduled_start=TODAY, scheduled_end=end)


# --- declarations -------------------------------------------------------------------------------


def test_declaring_no_relation_lets_the_evaluator_score(world):
    round_ = world.prepared()
    member = world.member(round_, "tp1")
    seq = last_seq()

    ev.declare(world.users["tp1"], member, related=False)

    assert member.declared_at is not None and not member.conflicted and not member.declared_related
    assert actions_after(seq) == ["evaluation.evaluator_declared"]


def test_a_declared_relation_makes_the_evaluator_conflicted(world):
    round_ = world.prepared()
    member = world.member(round_, "tp1")

    ev.declare(world.users["tp1"], member, related=True, note=" 曾在该机构任职 ")

    assert (member.declared_related, member.conflicted, member.declaration_note) == (True, True, "曾在该机构任职")
    [event] = audit_events("evaluation.evaluator_declared")
    assert event.changes["conflicted"] == [None, True]


def test_a_relation_must_be_described(world):
    round_ = world.prepared()
    member = world.member(round_, "tp1")

    with unchanged(member), pytest.raises(ValidationError) as refused:
        ev.declare(world.users["tp1"], member, related=True, note="  ")

    assert refused.value.message == _("Describe the relation.")


def test_a_declaration_is_made_once(world):
    round_ = world.prepared()
    member = world.member(round_, "tp1")
    ev.declare(world.users["tp1"], member, related=False)

    with unchanged(member), pytest.raises(DomainError):
        ev.declare(world.users["tp1"], member, related=True, note="想起来了")


@pytest.mark.parametrize("who", ["tp2", "procurement", "admin", "manager"])
def test_nobody_declares_for_someone_else(world, who):
    round_ = world.prepared()
    member = world.member(round_, "tp1")

    with unchanged(member), pytest.raises(PermissionDenied):
        ev.declare(world.users[who], member, related=False)


@pytest.mark.parametrize("status", list(R))
def test_declarations_are_made_while_planned_or_scoring(world, status):
    round_ = world.round_in(status)
    member = world.member(round_, "tp1")    # undeclared, except on the finalized round

    if status in (R.PLANNED, R.SCORING):
        ev.declare(world.users["tp1"], member, related=False)
        assert member.declared_at is not None
        return
    with unchanged(member), pytest.raises(DomainError) as refused:
        ev.declare(world.users["tp1"], member, related=False)
    assert refused.value.message == _status_message(status)
