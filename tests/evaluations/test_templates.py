"""Indicator templates: the rows an administrator types (weights, levels, leaf kinds, output
targets, codes and their order), the output bands, versions (published versions frozen, new
versions copied, retired ones unusable) and who may keep templates."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from svcproc.core.errors import DomainError, PermissionDenied, ValidationError
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations.models import IndicatorTemplate, TemplateVersion, VersionStatus
from svcproc.evaluations.results import PROGRESS_OF_TARGET
from svcproc.evaluations.tree import OUTPUT_TARGETS, default_template
from tests.builders.accounts import UserFactory, user_for_role
from tests.helpers import audit_events, last_seq

from tests.builders.evaluations import ALL_ROLES, SMALL_ROWS, actions_after, count_of, unchanged

D = Decimal


def rows(*changes, drop=(), add=()):
    """SMALL_ROWS with `changes` ({row index: {field: value}}) applied, rows `drop`ped, `add` appended."""
    result = [dict(r) for i, r in enumerate(SMALL_ROWS) if i not in drop]
    for change in changes:
        for index, values in change.items():
            result[index].update(values)
    return result + [dict(r) for r in add]


@pytest.fixture
def admin():
    return UserFactory(role=Role.ADMIN)


# --- rows ---------------------------------------------------------------------------------------


def test_rows_are_normalised():
    raw = rows({0: {"key": " A ", "weight": "40.00", "kind": "evaluator", "target": "target_cases"},
                1: {"key": "A.X", "weight": "20.0", "target": "target_cases"}},
               add=[{"key": "", "name": "", "weight": ""}])       # an empty row left in the editor

    cleaned = indicators.clean_rows(raw)

    assert [(r["key"], r["weight"], r["kind"], r["target"]) for r in cleaned] == [
        ("a", "40", "", ""),                  # a kind and target typed on a parent are dropped
        ("a.x", "20", "evaluator", ""),       # a target only belongs to output leaves
        ("a.y", "20", "evaluator", ""),
        ("b", "60", "", ""),
        ("b.events", "30", "output", "target_events"),
        ("b.sat", "30", "satisfaction", ""),
    ]


def test_three_levels_and_mixed_depths_are_accepted():
    raw = [{"key": "a", "name": "一级", "weight": "100"},
           {"key": "a.b", "name": "二级", "weight": "60"},
           {"key": "a.b.c", "name": "三级甲", "weight": "35.5", "kind": "evaluator"},
           {"key": "a.b.d", "name": "三级乙", "weight": "24.5", "kind": "output", "target": "target_people"},
           {"key": "a.e", "name": "二级叶", "weight": "40", "kind": "evaluator"}]

    cleaned = indicators.clean_rows(raw)

    top = indicators.tree_of(cleaned)
    assert [leaf.key for leaf in top[0].leaves()] == ["a.b.c", "a.b.d", "a.e"]
    assert top[0].children[0].weight == D(60)


def test_every_output_target_a_template_may_name_is_measured_by_the_logs():
    assert set(OUTPUT_TARGETS) == set(PROGRESS_OF_TARGET)


def test_the_default_template_round_trips_through_rows():
    cleaned = indicators.clean_rows(indicators.rows_of(default_template()))

    assert cleaned == indicators.rows_of(default_template())


# (rows, message as the code produces it: msgid and parameters)
BAD_ROWS = {
    "top weights": (rows({0: {"weight": "39"}, 1: {"weight": "19"}}),
                    ("The first-level weights add up to %(total)s, not 100.", {"total": "99"})),
    "top weights above 100": (rows({3: {"weight": "61"}, 4: {"weight": "31"}}),
                              ("The first-level weights add up to %(total)s, not 100.", {"total": "101"})),
    "children": (rows({2: {"weight": "19.5"}}),
                 ("%(name)s: the sub-indicators add up to %(sum)s, not %(weight)s.",
                  {"name": "项目管理", "sum": "39.5", "weight": "40"})),
    "one level": (rows(drop=(1, 2)),
                  ("%(name)s: a template has two or three levels.", {"name": "项目管理"})),
    "four levels": (rows(add=[{"key": "a.y.z", "name": "三级", "weight": "20"},
                              {"key": "a.y.z.w", "name": "四级", "weight": "20", "kind": "evaluator"}]),
                    ("%(name)s: a template has two or three levels.", {"name": "项目管理"})),
    "leaf without kind": (rows({1: {"kind": ""}}),
                          ("%(name)s: choose how this indicator is scored.", {"name": "项目方案"})),
    "output without target": (rows({4: {"target": ""}}),
                              ("%(name)s: an output indicator must name the target it measures.",
                               {"name": "社区活动场次"})),
    "output with an unknown target": (rows({4: {"target": "target_budget"}}),
                                      ("%(name)s: an output indicator must name the target it measures.",
                                       {"name": "社区活动场次"})),
    "unknown kind": (rows({1: {"kind": "guess"}}), ("Row %(n)d: choose how the indicator is scored.", {"n": 2})),
    "duplicate key": (rows({2: {"key": "a.x"}}), ("Row %(n)d: the code %(key)s is used twice.",
                                                  {"n": 3, "key": "a.x"})),
    "duplicate key in another case": (rows({2: {"key": "A.X"}}), ("Row %(n)d: the code %(key)s is used twice.",
                                                                  {"n": 3, "key": "a.x"})),
    "child before its parent": ([SMALL_ROWS[1], SMALL_ROWS[0], *SMALL_ROWS[2:]],
                                ("Row %(n)d: %(key)s comes before its parent %(parent)s is listed.",
                                 {"n": 1, "key": "a.x", "parent": "a"})),
    "orphan": (rows({5: {"key": "c.sat"}}), ("Row %(n)d: %(key)s comes before its parent %(parent)s is listed.",
                                            {"n": 6, "key": "c.sat", "parent": "c"})),
    "no name": (rows({2: {"name": "  "}}), ("Row %(n)d: give the indicator a name.", {"n": 3})),
    "weight not a number": (rows({1: {"weight": "二十"}}),
                            ("Row %(n)d: the weight is a number of points, e.g. 5 or 2.5.", {"n": 2})),
    "no rows": ([], ("The template has no indicators.", {})),
    "only empty rows": ([{"key": "", "name": "", "weight": ""}], ("The template has no indicators.", {})),
}
WEIGHT_RULE = "Row %(n)d: the weight is a number of points above zero with at most two decimals."
CODE_RULE = "Row %(n)d: the code uses lower-case letters, digits and dots, e.g. output.cases."


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_rows_are_refused_naming_the_row_and_rule(case):
    raw, (msgid, params) = BAD_ROWS[case]

    with pytest.raises(ValidationError) as refused:
        indicators.clean_rows(raw)

    assert refused.value.message == _(msgid, **params)
    assert refused.value.field == "indicators"


@pytest.mark.parametrize("weight", ["0", "-5", "2.555", "0.001", "NaN", "sNaN", "Infinity", "-Infinity",
                                    # too many digits for a Decimal to quantize: refused, not a crash
                                    "1e30", "1e999999", "1e9999999", "123456789012345678901234567890.5"])
def test_a_weight_is_above_zero_with_two_decimals(weight):
    with pytest.raises(ValidationError) as refused:
        indicators.clean_rows(rows({1: {"weight": weight}}))

    assert refused.value.message == _(WEIGHT_RULE, n=2)


@pytest.mark.parametrize("key", ["", "a x", ".a", "a.", "a..x", "a/x", "指标"])
def test_a_code_is_letters_digits_and_dots(key):
    with pytest.raises(ValidationError) as refused:
        indicators.clean_rows(rows({1: {"key": key, "name": "项目方案"}}))

    assert refused.value.message == _(CODE_RULE, n=2)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_messages_speak_the_persons_language(locale):
    with force_locale(locale):
        with pytest.raises(ValidationError) as refused:
            indicators.clean_rows(rows({2: {"weight": "19.5"}}))
        expected = _("%(name)s: the sub-indicators add up to %(sum)s, not %(weight)s.", name="项目管理", sum="39.5",
                     weight="40")

    assert refused.value.message == expected


# --- bands --------------------------------------------------------------------------------------


def test_bands_are_typed_in_percent_and_stored_as_ratios():
    cleaned = indicators.clean_bands([("100", "1"), ("80", "2/3"), ("", ""), ("60", " 1/3 "), ("0", "0")])

    assert cleaned == [["1", "1"], ["0.8", "2/3"], ["0.6", "1/3"], ["0", "0"]]


def test_custom_bands_round_trip_into_the_points():
    cleaned = indicators.clean_bands([("120", "1"), ("90", "0.75"), ("50", "1/2"), ("0", "0")])
    version = TemplateVersion(bands=cleaned)

    bands = indicators.bands_of(version)

    assert bands[1] == (D("0.9"), D("0.75"))
    assert [b[0] for b in bands] == [D("1.2"), D("0.9"), D("0.5"), D(0)]


BAD_BANDS = {
    "not highest first": [("80", "2/3"), ("100", "1"), ("0", "0")],
    "a threshold twice": [("100", "1"), ("100", "2/3"), ("0", "0")],
    "no band from 0": [("100", "1"), ("60", "1/3")],
    "share above full marks": [("100", "1.5"), ("0", "0")],
    "negative share": [("100", "1"), ("0", "-1/3")],
    "shares rising": [("100", "1/3"), ("60", "2/3"), ("0", "0")],
    "none": [],
}


@pytest.mark.parametrize("case", list(BAD_BANDS))
def test_bad_band_lists_are_refused(case):
    with pytest.raises(ValidationError) as refused:
        indicators.clean_bands(BAD_BANDS[case])

    assert refused.value.field == "bands"
    assert refused.value.message == _(
        "List the bands from the highest threshold down, each threshold once, the last starting at 0 %, with shares "
        "running from at most full marks down to at least nothing.")


@pytest.mark.parametrize("threshold, share, msgid", [
    ("八十", "2/3", "Band %(n)d: give the threshold in percent and the share as 1, 0.5 or 2/3."),
    ("80", "two thirds", "Band %(n)d: give the threshold in percent and the share as 1, 0.5 or 2/3."),
    ("80", "1/0", "Band %(n)d: give the threshold in percent and the share as 1, 0.5 or 2/3."),
    ("80", "", "Band %(n)d: give the threshold in percent and the share as 1, 0.5 or 2/3."),
    ("NaN", "2/3", "Band %(n)d: give the threshold in percent."),
    ("Infinity", "2/3", "Band %(n)d: give the threshold in percent."),
    ("1e40", "2/3", "Band %(n)d: give the threshold in percent."),
])
def test_a_band_that_is_not_numbers_is_refused_naming_it(threshold, share, msgid):
    with pytest.raises(ValidationError) as refused:
        indicators.clean_bands([("100", "1"), (threshold, share), ("0", "0")])

    assert refused.value.message == _(msgid, n=2)


# --- templates and versions ---------------------------------------------------------------------


def test_the_migration_installs_the_default_template_published():
    version = indicators.default_version()

    assert version is not None and version.status == VersionStatus.PUBLISHED and version.number == 1
    assert version.template.name == indicators.DEFAULT_TEMPLATE_NAME
    assert version.indicators == indicators.rows_of(default_template())
    assert indicators.bands_of(version)[1][0] == D("0.80")
    assert version in indicators.usable_versions()


def test_a_new_template_is_a_draft_of_the_default_tree(admin):
    seq = last_seq()

    template = indicators.create_template(admin, name="  社区治理项目指标 ", description=" 用于社区治理类项目 ")

    version = template.latest
    assert (template.name, template.description) == ("社区治理项目指标", "用于社区治理类项目")
    assert (version.number, version.status, version.created_by_id) == (1, VersionStatus.DRAFT, admin.id)
    assert version.indicators == indicators.rows_of(default_template())
    assert version.bands == indicators.default_bands_rows()
    assert template.current is None                     # nothing published yet
    assert version not in indicators.usable_versions()
    assert actions_after(seq) == ["indicator_template.created"]


@pytest.mark.parametrize("name", ["", "   ", indicators.DEFAULT_TEMPLATE_NAME])
def test_a_template_needs_a_name_of_its_own(admin, name):
    with unchanged(), pytest.raises(ValidationError) as refused:
        indicators.create_template(admin, name=name)

    assert refused.value.field == "name"


@pytest.fixture
def draft(admin):
    return indicators.create_template(admin, name="测试指标", rows=indicators.clean_rows(SMALL_ROWS)).latest


def test_a_draft_is_saved_with_an_audit_of_what_changed(admin, draft):
    new_rows = indicators.clean_rows(rows({1: {"weight": "25"}, 2: {"weight": "15"}}))
    seq = last_seq()

    indicators.save_version(admin, draft, rows=new_rows, bands=draft.bands, note=" 调整权重 ")

    assert draft.indicators[1]["weight"] == "25" and draft.note == "调整权重"
    [event] = audit_events("template_version.saved")
    assert event.seq > seq and set(event.changes) == {"indicators", "note"}


def test_saving_the_same_content_writes_no_event(admin, draft):
    seq = last_seq()

    indicators.save_version(admin, draft, rows=[dict(r) for r in draft.indicators], bands=list(draft.bands))

    assert actions_after(seq) == []


def test_publishing_freezes_the_version(admin, draft):
    indicators.publish_version(admin, draft)

    assert draft.status == VersionStatus.PUBLISHED and draft.published_at is not None
    assert draft.template.current is draft
    with unchanged(draft), pytest.raises(DomainError) as refused:
        indicators.save_version(admin, draft, rows=indicators.clean_rows(rows({1: {"name": "改名"}})),
                                bands=draft.bands)
    assert refused.value.message == _("Version %(n)d is published and can no longer change; start a new version.",
                                      n=1)
    with unchanged(draft), pytest.raises(DomainError):
        indicators.publish_version(admin, draft)


def test_publishing_checks_the_stored_rows_again(admin, draft):
    draft.indicators = rows({1: {"weight": "30"}})    # as if edited behind the editor's back

    with unchanged(draft), pytest.raises(DomainError) as refused:
        indicators.publish_version(admin, draft)

    assert refused.value.message == _("%(name)s: the sub-indicators add up to %(sum)s, not %(weight)s.",
                                      name="项目管理", sum="50", weight="40")
    assert draft.status == VersionStatus.DRAFT


def test_a_new_version_copies_the_newest_and_leaves_it_alone(admin, draft):
    indicators.publish_version(admin, draft)
    seq = last_seq()

    second = indicators.new_version(admin, draft.template)

    assert (second.number, second.status) == (2, VersionStatus.DRAFT)
    assert second.indicators == draft.indicators and second.bands == draft.bands
    second.indicators[1]["name"] = "改过的名字"      # a copy, not the same lists
    second.bands[1][1] = "1/2"
    assert draft.indicators[1]["name"] == "项目方案" and draft.bands[1][1] == "2/3"
    assert actions_after(seq) == ["template_version.created"]
    assert draft.template.current is draft            # until the new one is published
    indicators.save_version(admin, second, rows=indicators.clean_rows(rows({1: {"name": "新名字"}})),
                            bands=indicators.default_bands_rows())
    indicators.publish_version(admin, second)
    assert draft.template.current is second
    assert draft.status == VersionStatus.PUBLISHED and draft.indicators[1]["name"] == "项目方案"


def test_one_draft_at_a_time(admin, draft):
    with unchanged(draft), pytest.raises(DomainError) as refused:
        indicators.new_version(admin, draft.template)

    assert refused.value.message == _("Version %(n)d is still a draft: edit it rather than starting another.", n=1)
    assert count_of(TemplateVersion, TemplateVersion.template_id == draft.template_id) == 1


def test_retired_versions_are_no_longer_offered(admin, draft):
    indicators.publish_version(admin, draft)
    seq = last_seq()

    indicators.retire_version(admin, draft)

    assert draft.status == VersionStatus.RETIRED
    assert draft not in indicators.usable_versions() and draft.template.current is None
    assert actions_after(seq) == ["template_version.retired"]


@pytest.mark.parametrize("publish_first", [False, True])
def test_only_a_published_version_can_be_retired(admin, draft, publish_first):
    if publish_first:
        indicators.publish_version(admin, draft)
        indicators.retire_version(admin, draft)       # then it is retired already

    with unchanged(draft), pytest.raises(DomainError) as refused:
        indicators.retire_version(admin, draft)

    assert refused.value.message == _("Only a published version can be retired.")


def test_a_retired_version_stays_frozen(admin, draft):
    indicators.publish_version(admin, draft)
    indicators.retire_version(admin, draft)

    with unchanged(draft), pytest.raises(DomainError):
        indicators.save_version(admin, draft, rows=draft.indicators, bands=draft.bands)


# --- who keeps templates ------------------------------------------------------------------------


def _actor(role):
    return None if role is None else user_for_role(role)


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda r: getattr(r, "value", "system"))
def test_only_administrators_create_templates(role):
    actor = _actor(role)

    if role in (Role.ADMIN, None):
        template = indicators.create_template(actor, name="新指标")
        assert template.id is not None
        return
    with unchanged(), pytest.raises(PermissionDenied):
        indicators.create_template(actor, name="新指标")
    assert count_of(IndicatorTemplate, IndicatorTemplate.name == "新指标") == 0


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda r: getattr(r, "value", "system"))
@pytest.mark.parametrize("verb", ["save", "publish", "new_version", "retire", "update"])
def test_only_administrators_change_versions(draft, admin, role, verb):
    actor = _actor(role)
    if verb in ("new_version", "retire"):
        indicators.publish_version(admin, draft)
    calls = {
        "save": lambda: indicators.save_version(actor, draft, rows=indicators.clean_rows(rows({1: {"name": "新"}})),
                                                bands=draft.bands),
        "publish": lambda: indicators.publish_version(actor, draft),
        "new_version": lambda: indicators.new_version(actor, draft.template),
        "retire": lambda: indicators.retire_version(actor, draft),
        "update": lambda: indicators.update_template(actor, draft.template, name="改名的指标", description=""),
    }

    if role in (Role.ADMIN, None):
        seq = last_seq()
        calls[verb]()
        assert len(actions_after(seq)) == 1
        return
    with unchanged(draft, draft.template), pytest.raises(PermissionDenied):
        calls[verb]()
