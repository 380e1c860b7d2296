"""Computed leaves: outputs from the service logs against the contract's targets by bands (the
template's own bands), satisfaction from the surveys against the contract's target rate, both
frozen when scoring opens; what opening scoring waits for; surveys and evidence by role and status."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import EvaluationEvidence, RoundKind, RoundStatus, SatisfactionSurvey
from svcproc.evaluations.results import compute_leaves, round_result
from tests.builders.evaluations import ALL_ROLES, SMALL_ROWS, TODAY, actions_after, count_of, stored, unchanged
from tests.builders.files import pdf_upload
from tests.helpers import audit_events, last_seq

pytestmark = pytest.mark.usefixtures("shared_connection")
R = RoundStatus
D = Decimal
role_ids = lambda r: getattr(r, "value", "system")  # noqa: E731
ONE = {"parties": (("第三方", "100"),), "team": {"第三方": ("tp1",)}}


def points(round_) -> dict[str, str]:
    return {key: value["points"] for key, value in round_.computed.items()}


# --- outputs from the logs ----------------------------------------------------------------------


def test_outputs_are_measured_against_the_contracts_targets_when_scoring_opens(world):
    round_ = world.prepared(**ONE)
    seq = last_seq()

    ev.open_scoring(world.staff, round_)

    events = stored(round_).computed["b.events"]
    assert (events["actual"], events["contract_target"], events["target"], events["ratio"]) == (
        "10", "12", "12.00", "83.3")
    assert events["points"] == "20.00"                # 80–100 %: two thirds of 30
    assert round_.status == R.SCORING and round_.opened_at is not None
    assert actions_after(seq) == ["evaluation.scoring_opened"]
    [event] = audit_events("evaluation.scoring_opened")
    assert event.changes["computed"] == [None, {"b.events": "20.00", "b.sat": "30.00"}]


@pytest.mark.parametrize("kind, percent, target, expected", [
    (RoundKind.MIDTERM, None, "6.00", "30.00"),        # half the target: 10 of 6
    (RoundKind.MIDTERM, 90, "10.80", "20.00"),         # 10 of 10.8: 92.6 %
    (RoundKind.FINAL, None, "12.00", "20.00"),         # 10 of 12: 83.3 %
    (RoundKind.SPECIAL, 100, "12.00", "20.00"),
])
def test_the_target_share_of_the_round_sets_the_target(world, kind, percent, target, expected):
    round_ = world.scoring(kind=kind, target_percent=percent, **ONE)

    assert (round_.computed["b.events"]["target"], round_.computed["b.events"]["points"]) == (target, expected)


@pytest.mark.parametrize("extra, expected", [(0, "20.00"), (2, "30.00")])
def test_outputs_come_from_the_logs(world, extra, expected):
    for i in range(extra):
        world.record(activity_date=date(2025, 6, 12 + i))

    round_ = world.scoring(**ONE)

    assert round_.computed["b.events"]["actual"] == str(10 + extra)
    assert round_.computed["b.events"]["points"] == expected


def test_logs_recorded_after_scoring_opened_change_nothing(world):
    round_ = world.scoring(**ONE)
    frozen = dict(round_.computed)

    world.record(activity_date=date(2025, 6, 12))
    world.record(activity_date=date(2025, 6, 13))

    assert compute_leaves(round_)["b.events"]["points"] == "30.00"     # what the logs would say now
    world.score(round_, "tp1")
    ev.finalize(world.staff, round_)
    assert stored(round_).computed == frozen
    assert round_.result["nodes"]["b.events"] == "20.00" and round_.total == D("82.00")


def test_the_default_template_computes_every_output_from_the_logs(world):
    round_ = world.scoring(version=world.default, kind=RoundKind.MIDTERM, **ONE)

    assert points(round_) == {"output.cases": "0.00", "output.groups": "0.00", "output.events": "6.00",
                              "output.person_times": "0.00", "output.people": "0.00",
                              "satisfaction.beneficiaries": "10.00"}
    computed = round_.computed
    assert (computed["output.events"]["actual"], computed["output.events"]["target"]) == ("10", "6.00")
    assert (computed["output.person_times"]["actual"], computed["output.person_times"]["target"]) == ("120", "1000.00")
    assert (computed["output.people"]["actual"], computed["output.people"]["target"]) == ("2", "300.00")
    assert (computed["output.groups"]["target_field"], computed["output.groups"]["actual"]) == (
        "target_group_sessions", "0")


# --- satisfaction from the surveys --------------------------------------------------------------


@pytest.mark.parametrize("satisfied, expected", [
    (50, "30.00"), (46, "30.00"), (45, "30.00"),       # 90 % or more: the target rate reached
    (44, "20.00"), (36, "20.00"),                      # 88 %, 72 %: 80–100 % of the target rate
    (35, "10.00"), (27, "10.00"),                      # 70 %, 54 %: 60–80 % of it
    (26, "0.00"), (0, "0.00"),                         # 52 %: below
])
def test_satisfaction_is_the_rate_against_the_contracts_target_rate(world, satisfied, expected):
    assert world.contract.target_satisfaction == 90

    round_ = world.scoring(survey=(50, satisfied), **ONE)

    sat = round_.computed["b.sat"]
    assert (sat["surveyed"], sat["satisfied"], sat["target_rate"], sat["points"]) == (50, satisfied, "90", expected)


def test_every_group_of_respondents_counts(world):
    round_ = world.prepared(survey=None, **ONE)
    ev.add_survey(world.staff, round_, leaf_key="b.sat", group_name="服务对象", surveyed=30, satisfied=28)
    ev.add_survey(world.staff, round_, leaf_key="b.sat", group_name="社区居委会", surveyed=20, satisfied=12)

    ev.open_scoring(world.staff, round_)

    sat = round_.computed["b.sat"]
    assert (sat["surveyed"], sat["satisfied"], sat["rate"], sat["points"]) == (50, 40, "80.0", "20.00")
    assert sat["groups"] == [["服务对象", 28, 30], ["社区居委会", 12, 20]]


# --- configurable bands -------------------------------------------------------------------------


def _version_with_bands(world, bands):
    template = indicators.create_template(world.admin, name="宽松档位指标", rows=indicators.clean_rows(SMALL_ROWS),
                                          bands=indicators.clean_bands(bands))
    indicators.publish_version(world.admin, template.latest)
    return template.latest


@pytest.mark.parametrize("bands, events, satisfaction", [
    ([("100", "1"), ("80", "2/3"), ("60", "1/3"), ("0", "0")], "20.00", "20.00"),     # the defaults
    ([("100", "1"), ("50", "1/2"), ("0", "0")], "15.00", "15.00"),
    ([("80", "1"), ("0", "0.2")], "30.00", "30.00"),
    ([("90", "1"), ("85", "0.9"), ("0", "0")], "0.00", "27.00"),   # 83.3 % of the events; 88.9 % of the rate
])
def test_the_templates_bands_score_outputs_and_satisfaction(world, bands, events, satisfaction):
    version = _version_with_bands(world, bands)

    round_ = world.scoring(version=version, survey=(50, 40), **ONE)   # 80 % satisfied: 88.9 % of the 90 % target

    assert points(round_) == {"b.events": events, "b.sat": satisfaction}
    world.score(round_, "tp1", {"a.x": "0", "a.y": "0"})
    assert round_result(round_).total == D(events) + D(satisfaction)


# --- what opening scoring waits for -------------------------------------------------------------


def test_opening_needs_parties(world):
    round_ = world.new_round()

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.open_scoring(world.staff, round_)

    assert refused.value.message == _("Name the scoring parties and their weights first.")
    assert round_.status == R.PLANNED and round_.computed == {}


def test_opening_needs_an_evaluator_in_every_party(world):
    round_ = world.prepared(team={"第三方": ("tp1",), "区民政局": (), "社区": ()})

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.open_scoring(world.staff, round_)

    assert refused.value.message == _("Assign at least one evaluator to each party: %(names)s.",
                                      names="区民政局, 社区")
    assert round_.computed == {}


def test_opening_needs_a_survey_for_each_satisfaction_leaf(world):
    round_ = world.prepared(survey=None, **ONE)

    with unchanged(round_), pytest.raises(DomainError) as refused:
        ev.open_scoring(world.staff, round_)

    assert refused.value.message == _("Enter the satisfaction survey for: %(names)s.", names="服务对象满意度")


def test_a_removed_survey_no_longer_counts(world):
    round_ = world.prepared(**ONE)
    [survey] = round_.surveys
    seq = last_seq()

    ev.remove_survey(world.staff, survey)

    assert actions_after(seq) == ["evaluation.survey_removed"]
    assert count_of(SatisfactionSurvey, SatisfactionSurvey.round_id == round_.id) == 0
    with pytest.raises(DomainError):
        ev.open_scoring(world.staff, round_)


@pytest.mark.parametrize("status", list(R))
def test_scoring_opens_only_from_planned(world, status):
    round_ = world.round_in(status)

    if status == R.PLANNED:
        ev.open_scoring(world.staff, round_)
        assert round_.status == R.SCORING
        return
    computed = dict(round_.computed)
    with unchanged(round_), pytest.raises(DomainError):
        ev.open_scoring(world.staff, round_)
    assert round_.computed == computed


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_procurement_staff_open_scoring(world, role):
    round_ = world.round_in(R.PLANNED)

    if role in (Role.PROCUREMENT, None):
        ev.open_scoring(world.user(role), round_)
        assert round_.status == R.SCORING
        return
    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.open_scoring(world.user(role), round_)


# --- entering surveys ---------------------------------------------------------------------------


def _survey(world, round_, **values):
    values = {"leaf_key": "b.sat", "group_name": "服务对象", "surveyed": 40, "satisfied": 36, **values}
    return ev.add_survey(world.staff, round_, **values)


def test_a_survey_is_entered_and_audited(world):
    round_ = world.prepared(survey=None, **ONE)
    seq = last_seq()

    survey = _survey(world, round_, surveyed="40", satisfied="36", surveyed_on=TODAY, group_name=" 服务对象 ")

    assert (survey.group_name, survey.surveyed, survey.satisfied, survey.surveyed_on) == ("服务对象", 40, 36, TODAY)
    assert actions_after(seq) == ["evaluation.survey_added"]


@pytest.mark.parametrize("values, field, message", [
    ({"leaf_key": "a.x"}, "leaf_key", lambda: _("Choose the satisfaction indicator the survey feeds.")),
    ({"leaf_key": "b.events"}, "leaf_key", lambda: _("Choose the satisfaction indicator the survey feeds.")),
    ({"leaf_key": "satisfaction.beneficiaries"}, "leaf_key",
     lambda: _("Choose the satisfaction indicator the survey feeds.")),
    ({"group_name": "  "}, "group_name", lambda: _("Name the group of respondents.")),
    ({"surveyed": "四十"}, "surveyed", lambda: _("Give whole numbers of people.")),
    ({"surveyed": None}, "surveyed", lambda: _("Give whole numbers of people.")),
    ({"satisfied": "3.5"}, "surveyed", lambda: _("Give whole numbers of people.")),
    ({"surveyed": 0, "satisfied": 0}, "surveyed", lambda: _("At least one person must have been surveyed.")),
    ({"surveyed": -5, "satisfied": 0}, "surveyed", lambda: _("At least one person must have been surveyed.")),
    ({"satisfied": 41}, "satisfied", lambda: _("The satisfied cannot be more than the surveyed (%(n)d).", n=40)),
    ({"satisfied": -1}, "satisfied", lambda: _("The satisfied cannot be more than the surveyed (%(n)d).", n=40)),
    ({"surveyed_on": TODAY + timedelta(days=1)}, "surveyed_on", lambda: _("The survey date is in the future.")),
])
def test_survey_counts_are_checked(world, values, field, message):
    round_ = world.prepared(survey=None, **ONE)

    with unchanged(round_), pytest.raises(ValidationError) as refused:
        _survey(world, round_, **values)

    assert (refused.value.field, refused.value.message) == (field, message())


@pytest.mark.parametrize("status", list(R))
def test_surveys_change_only_while_planned(world, status):
    round_ = world.round_in(status)

    if status == R.PLANNED:
        _survey(world, round_)
        ev.remove_survey(world.staff, round_.surveys[0])
        assert len(stored(round_).surveys) == 1
        return
    with unchanged(round_), pytest.raises(DomainError):
        _survey(world, round_)
    with unchanged(round_, *round_.surveys), pytest.raises(DomainError):
        ev.remove_survey(world.staff, round_.surveys[0])


@pytest.mark.parametrize("role", ALL_ROLES, ids=role_ids)
def test_only_procurement_staff_enter_surveys(world, role):
    round_ = world.round_in(R.PLANNED)
    actor = world.user(role)

    if role in (Role.PROCUREMENT, None):
        ev.add_survey(actor, round_, leaf_key="b.sat", group_name="居民", surveyed=10, satisfied=9)
        ev.remove_survey(actor, round_.surveys[0])
        return
    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.add_survey(actor, round_, leaf_key="b.sat", group_name="居民", surveyed=10, satisfied=9)
    with unchanged(round_, *round_.surveys), pytest.raises(PermissionDenied):
        ev.remove_survey(actor, round_.surveys[0])


# --- evidence from the evaluated organization -----------------------------------------------------


@pytest.mark.parametrize("status", list(R))
def test_the_organization_submits_evidence_until_scoring_ends(world, status):
    round_ = world.round_in(status)
    seq = last_seq()

    if status in (R.PLANNED, R.SCORING):
        item = ev.add_evidence(world.manager, round_, pdf_upload("中期报告.pdf"), " ")
        assert (item.title, item.uploaded_by_id) == ("中期报告.pdf", world.manager.id)
        assert item.file.sha256 and actions_after(seq) == ["evaluation.evidence_added"]
        return
    with unchanged(round_), pytest.raises(DomainError):
        ev.add_evidence(world.manager, round_, pdf_upload("中期报告.pdf"), "中期报告")


@pytest.mark.parametrize("who", ["other_manager", "worker", "procurement", "admin", "auditor", "tp1", "evaluator",
                                 "expert"])
def test_only_the_evaluated_organizations_manager_submits_evidence(world, who):
    round_ = world.round_in(R.PLANNED)

    with unchanged(round_), pytest.raises(PermissionDenied):
        ev.add_evidence(world.users[who], round_, pdf_upload("报告.pdf"), "报告")

    assert count_of(EvaluationEvidence) == 0


def test_evidence_needs_a_file(world):
    round_ = world.round_in(R.PLANNED)

    with unchanged(round_), pytest.raises(ValidationError):
        ev.add_evidence(world.manager, round_, None, "报告")
