"""The arithmetic of evaluations: tree weights, output bands, multi-party aggregation, grades."""
from decimal import Decimal

import pytest

from svcproc.evaluations.aggregate import aggregate, grade
from svcproc.evaluations.tree import (DEFAULT_BANDS, Indicator, LeafKind, TreeError, band_points, default_template,
                                      satisfaction_points, validate, validate_bands)

D = Decimal


def leaf(key, weight, kind=LeafKind.EVALUATOR, target=None):
    return Indicator(key, key, D(weight), kind, target=target)


def small_tree():
    return [Indicator("a", "a", D(60), children=[leaf("a.1", 40), leaf("a.2", 20, LeafKind.OUTPUT, "target_cases")]),
            Indicator("b", "b", D(40), children=[leaf("b.1", 40)])]


def test_the_default_template_is_valid_and_weighted_as_the_district_uses_it():
    top = default_template()

    validate(top)

    assert [(n.name, n.weight) for n in top] == [("项目管理", 20), ("服务产出", 30), ("服务成效", 25),
                                                 ("满意度", 15), ("财务管理", 10)]


@pytest.mark.parametrize("breaks, message", [
    (lambda t: setattr(t[0], "weight", D(61)), "first-level weights add up to 101"),
    (lambda t: setattr(t[0].children[0], "weight", D(39)), "sub-indicators add up to 59, not 60"),
    (lambda t: setattr(t[1].children[0], "kind", None), "must say how it is scored"),
    (lambda t: setattr(t[0].children[1], "target", None), "must name the target"),
    (lambda t: t[1].children.clear(), "two or three levels"),
    (lambda t: setattr(t[1].children[0], "key", "a.1"), "used twice"),
    (lambda t: t[0].children[0].children.append(
        Indicator("x", "x", D(40), children=[leaf("x.1", 40)])), "two or three levels"),
])
def test_a_broken_tree_is_refused_with_the_reason(breaks, message):
    top = small_tree()
    breaks(top)

    with pytest.raises(TreeError, match=message):
        validate(top)


@pytest.mark.parametrize("actual, target, points", [
    (30, 30, D("6.00")), (45, 30, D("6.00")),          # at or above target: full marks
    (24, 30, D("4.00")), (29, 30, D("4.00")),          # 80-100 %: two thirds
    (18, 30, D("2.00")), (23, 30, D("2.00")),          # 60-80 %: one third
    (17, 30, D("0.00")), (0, 30, D("0.00")),           # below 60 %: nothing
    (0, 0, D("6.00")),                                 # nothing asked: full marks
])
def test_output_points_follow_the_bands(actual, target, points):
    assert band_points(actual, target, 6) == points


def test_bands_are_configurable():
    strict = ((D("1.0"), D(1)), (D("0.9"), D("0.5")), (D(0), D(0)))

    assert band_points(95, 100, 10, strict) == D("5.00")
    assert band_points(85, 100, 10, strict) == D("0.00")


@pytest.mark.parametrize("bands", [(), ((D("0.8"), D(1)), (D("0.9"), D("0.5")), (D(0), D(0))),
                                   ((D(1), D(1)), (D("0.5"), D("0.5"))), ((D(1), D("0.5")), (D(0), D(1)))])
def test_bad_band_lists_are_refused(bands):
    with pytest.raises(TreeError):
        validate_bands(bands)


def test_the_default_bands_are_valid():
    validate_bands(DEFAULT_BANDS)


def test_satisfaction_is_the_rate_against_the_target_rate():
    assert satisfaction_points(90, 100, 90, 10) == D("10.00")
    assert satisfaction_points(80, 100, 90, 10) == D("6.67")   # 88.9 % of the target rate: two thirds
    assert satisfaction_points(0, 0, 90, 10) == D("0.00")


def test_parties_are_weighted_and_evaluators_averaged_within_their_party():
    top = small_tree()
    scores = {
        "third_party": {"e1": {"a.1": D(30), "b.1": D(36)}, "e2": {"a.1": D(34), "b.1": D(32)},
                        "e3": {"a.1": D(38), "b.1": D(40)}},          # three evaluators
        "bureau": {"e4": {"a.1": D(20), "b.1": D(20)}},               # one evaluator
    }

    result = aggregate(top, {"third_party": D(70), "bureau": D(30)}, scores, {"a.2": D("13.33")})

    assert result.by_party["third_party"]["a.1"] == D("34.00")
    assert result.leaves["a.1"] == D("29.80")            # 0.7 * 34 + 0.3 * 20
    assert result.leaves["b.1"] == D("31.20")            # 0.7 * 36 + 0.3 * 20
    assert result.nodes["a"] == D("43.13")
    assert result.total == D("74.33")
    assert result.grade == "pass"


def test_a_party_that_did_not_score_a_leaf_does_not_pull_it_down():
    top = small_tree()
    scores = {"third_party": {"e1": {"a.1": D(40), "b.1": D(40)}}, "community": {"e2": {"b.1": D(20)}}}

    result = aggregate(top, {"third_party": D(70), "community": D(30)}, scores, {"a.2": D(20)})

    assert result.leaves["a.1"] == D("40.00")
    assert result.leaves["b.1"] == D("34.00")
    assert result.total == D("94.00") and result.grade == "excellent"


@pytest.mark.parametrize("total, name", [(D(100), "excellent"), (D(90), "excellent"), (D("89.99"), "good"),
                                         (D(80), "good"), (D("79.99"), "pass"), (D(60), "pass"),
                                         (D("59.99"), "fail"), (D(0), "fail")])
def test_grade_boundaries(total, name):
    assert grade(total) == name
