"""Indicator template pages: the list, a template, a version read-only and in the editor; saving a
tree, refusals (bad weights, stale page, published version, other roles) leave everything as it was."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from werkzeug.datastructures import MultiDict

from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.evaluations import indicators
from svcproc.evaluations.labels import LEAF_KIND_LABELS
from svcproc.evaluations.models import IndicatorTemplate, TemplateVersion, VersionStatus
from svcproc.evaluations.tree import LeafKind
from svcproc.extensions import db
from svcproc.procurement.labels import TARGET_LABELS
from tests.builders.accounts import user_for_role
from tests.helpers import PAGE_LOCALE, audit_events, count, in_page, is_fragment, login

ROWS = [
    {"key": "a", "name": "项目管理", "weight": "40", "kind": "", "target": "", "guide": ""},
    {"key": "a.x", "name": "项目方案", "weight": "20", "kind": "evaluator", "target": "", "guide": "目标与活动对应"},
    {"key": "a.y", "name": "团队督导", "weight": "20", "kind": "evaluator", "target": "", "guide": "督导频次与记录"},
    {"key": "b", "name": "产出与满意度", "weight": "60", "kind": "", "target": "", "guide": ""},
    {"key": "b.events", "name": "社区活动场次", "weight": "30", "kind": "output", "target": "target_events",
     "guide": ""},
    {"key": "b.sat", "name": "服务对象满意度", "weight": "30", "kind": "satisfaction", "target": "", "guide": ""},
]
BANDS = [("100", "1"), ("80", "2/3"), ("60", "1/3"), ("0", "0")]
NON_ADMINS = [Role.PROCUREMENT, Role.EXPERT, Role.ORG_MANAGER, Role.SOCIAL_WORKER, Role.EVALUATOR, Role.AUDITOR]


@pytest.fixture
def admin(client, clock):
    user = user_for_role(Role.ADMIN)
    assert login(client, user).status_code == 303
    return user


def as_role(client, role: Role):
    user = user_for_role(role)
    assert login(client, user).status_code == 303
    return user


@pytest.fixture
def draft(clock) -> TemplateVersion:
    template = indicators.create_template(None, name="测试评估指标", description="用于测试",
                                          rows=[dict(r) for r in ROWS], bands=indicators.default_bands_rows())
    db.session.flush()
    return template.latest


@pytest.fixture
def published(draft) -> TemplateVersion:
    indicators.publish_version(None, draft)
    db.session.flush()
    return draft


def editor_data(version: TemplateVersion, rows=ROWS, bands=BANDS, *, note="", stale_version=None,
                remove=()) -> MultiDict:
    """What the editor's form sends: one set of row_* fields per row, then the bands."""
    data = [("version", str(version.version if stale_version is None else stale_version)), ("note", note)]
    for number, row in enumerate(rows):
        data.append(("row_uid", f"u{number}"))
        for name in ("key", "name", "weight", "kind", "target", "guide"):
            data.append((f"row_{name}", row.get(name, "")))
        if number in remove:
            data.append(("row_remove", f"u{number}"))
    for lower, share in bands:
        data += [("band_lower", lower), ("band_share", share)]
    return MultiDict(data)


def with_weight(key: str, weight: str) -> list[dict]:
    return [dict(r, weight=weight) if r["key"] == key else dict(r) for r in ROWS]


def shown(msgid: str, **values) -> str:
    """A message of the pages as they show it (translated, escaped)."""
    return in_page(lambda: gettext(msgid, **values))


def message_of(rows) -> str:
    """The refusal clean_rows gives these rows, as the page shows it."""
    with force_locale(PAGE_LOCALE):
        try:
            indicators.clean_rows(rows)
        except ValidationError as exc:
            return in_page(exc.message)
    raise AssertionError("the rows were accepted")


def snapshot(version: TemplateVersion) -> tuple:
    db.session.refresh(version)
    return version.version, version.status, list(version.indicators), list(version.bands), version.note


# --- pages ---------------------------------------------------------------------------------------


def test_every_page_renders_for_an_admin(client, admin, draft, published_default):
    urls = ["/evaluations/templates", "/evaluations/templates/new",
            f"/evaluations/templates/{draft.template_id}", f"/evaluations/template-versions/{draft.id}",
            f"/evaluations/template-versions/{draft.id}/edit",
            f"/evaluations/template-versions/{published_default.id}",
            f"/evaluations/templates/new?from={published_default.id}"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<html" in response.text


def test_the_list_shows_current_and_draft_versions_and_the_new_button(client, admin, draft, published_default):
    page = client.get("/evaluations/templates").text
    assert "测试评估指标" in page and published_default.template.name in page
    assert f'href="/evaluations/template-versions/{draft.id}"' in page
    assert f'href="/evaluations/template-versions/{published_default.id}"' in page
    assert 'href="/evaluations/templates/new"' in page


def test_the_version_page_shows_the_tree_the_bands_and_the_draft_note(client, admin, draft):
    page = client.get(f"/evaluations/template-versions/{draft.id}").text
    for text in ("项目方案", "a.x", "目标与活动对应", "社区活动场次", in_page(lambda: str(TARGET_LABELS["target_events"])),
                 in_page(lambda: str(LEAF_KIND_LABELS[LeafKind.EVALUATOR])), "2/3", "≥ 80 %"):
        assert text in page
    assert shown("This version is a draft: it can still change, and no evaluation can use it until it is "
                 "published.") in page
    assert f"/evaluations/template-versions/{draft.id}/publish" in page


def test_the_editor_lists_the_rows_with_blank_ones_and_four_bands(client, admin, draft):
    page = client.get(f"/evaluations/template-versions/{draft.id}/edit").text
    assert page.count('name="row_key"') == len(ROWS) + 3
    assert page.count('name="band_lower"') >= 4
    assert 'value="b.events"' in page and 'value="target_events" selected' in page
    assert f'name="version" type="hidden" value="{draft.version}"' in page or f'value="{draft.version}"' in page


@pytest.mark.parametrize("role", [Role.PROCUREMENT, Role.AUDITOR, Role.EVALUATOR])
def test_readers_see_the_pages_without_the_buttons(client, draft, role):
    as_role(client, role)
    listing = client.get("/evaluations/templates")
    version = client.get(f"/evaluations/template-versions/{draft.id}")
    template = client.get(f"/evaluations/templates/{draft.template_id}")
    assert (listing.status_code, version.status_code, template.status_code) == (200, 200, 200)
    assert 'href="/evaluations/templates/new"' not in listing.text
    assert "/publish" not in version.text and "/edit" not in version.text
    assert "/versions" not in template.text and "/edit" not in template.text


@pytest.mark.parametrize("role", [Role.EXPERT, Role.ORG_MANAGER, Role.SOCIAL_WORKER])
def test_other_roles_cannot_read_templates(client, draft, role):
    as_role(client, role)
    assert client.get("/evaluations/templates").status_code == 403
    assert client.get(f"/evaluations/template-versions/{draft.id}").status_code == 403


@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_open_the_editors(client, draft, role):
    as_role(client, role)
    for url in ("/evaluations/templates/new", f"/evaluations/template-versions/{draft.id}/edit",
                f"/evaluations/template-versions/{draft.id}/row"):
        assert client.get(url).status_code == 403, url


def test_the_list_page_runs_a_bounded_number_of_queries(client, admin, count_queries, clock):
    indicators.create_template(None, name="模板一")
    with count_queries() as few:
        assert client.get("/evaluations/templates").status_code == 200
    for n in range(4):
        template = indicators.create_template(None, name=f"模板{n + 2}", rows=[dict(r) for r in ROWS])
        indicators.publish_version(None, template.latest)
        indicators.new_version(None, template)
    with count_queries() as many:
        assert client.get("/evaluations/templates").status_code == 200
    assert many.count == few.count
    assert many.count <= 12


# --- creating templates ---------------------------------------------------------------------------


def test_a_new_template_starts_from_the_default_tree(client, admin):
    response = client.post("/evaluations/templates/new",
                           data={"name": "二〇二六年评估指标", "description": "新版", "start_from": "default"})
    template = db.session.execute(db.select(IndicatorTemplate).filter_by(name="二〇二六年评估指标")).scalar_one()
    version = template.latest
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/evaluations/template-versions/{version.id}/edit")
    assert version.number == 1 and version.status == VersionStatus.DRAFT
    assert [r["key"] for r in version.indicators][:2] == ["management", "management.plan"]
    assert template.description == "新版"


def test_a_new_template_can_copy_an_existing_version(client, admin, published):
    response = client.post("/evaluations/templates/new",
                           data={"name": "复制的模板", "start_from": str(published.id)})
    template = db.session.execute(db.select(IndicatorTemplate).filter_by(name="复制的模板")).scalar_one()
    assert response.status_code == 303
    assert template.latest.indicators == published.indicators
    assert template.latest.bands == published.bands


def test_a_template_name_used_twice_is_refused(client, admin, draft):
    before = count(IndicatorTemplate)
    response = client.post("/evaluations/templates/new", data={"name": "测试评估指标", "start_from": "default"})
    assert response.status_code == 422
    assert shown("A template with this name exists already.") in response.text
    assert count(IndicatorTemplate) == before


def test_the_name_and_description_are_edited_and_a_stale_edit_is_refused(client, admin, draft):
    template = draft.template
    opened = template.version
    saved = client.post(f"/evaluations/templates/{template.id}/edit",
                        data={"name": "改名后的指标", "description": "说明", "version": str(opened)})
    stale = client.post(f"/evaluations/templates/{template.id}/edit",
                        data={"name": "另一个名字", "description": "", "version": str(opened)})
    db.session.refresh(template)
    assert saved.status_code == 303
    assert stale.status_code == 409
    assert "另一个名字" in stale.text   # the entries are kept
    assert template.name == "改名后的指标" and template.description == "说明"


# --- the editor -----------------------------------------------------------------------------------


def test_a_valid_tree_is_saved(client, admin, draft):
    rows = with_weight("a.x", "25")
    rows = [dict(r, weight="45") if r["key"] == "a" else r for r in rows]
    rows = [dict(r, weight="55") if r["key"] == "b" else r for r in rows]
    rows = [dict(r, weight="25") if r["key"] == "b.sat" else r for r in rows]
    bands = [("100", "1"), ("90", "0.8"), ("70", "1/2"), ("0", "0"), ("", "")]
    response = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                           data=editor_data(draft, rows, bands, note="调整权重"))
    db.session.refresh(draft)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/evaluations/template-versions/{draft.id}")
    assert {r["key"]: r["weight"] for r in draft.indicators} == {"a": "45", "a.x": "25", "a.y": "20", "b": "55",
                                                                 "b.events": "30", "b.sat": "25"}
    assert [b[0] for b in draft.bands] == ["1", "0.9", "0.7", "0"]
    assert draft.note == "调整权重" and draft.status == VersionStatus.DRAFT
    assert audit_events("template_version.saved", object_id=str(draft.id))


def test_blank_and_removed_rows_are_left_out(client, admin, draft):
    rows = [*ROWS, {"key": "b.extra", "name": "多余", "weight": "5", "kind": "evaluator"}, {}]
    response = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                           data=editor_data(draft, rows, remove=(len(ROWS),)))
    db.session.refresh(draft)
    assert response.status_code == 303
    assert [r["key"] for r in draft.indicators] == [r["key"] for r in ROWS]


def test_weights_that_do_not_add_up_are_refused_with_the_entries_kept(client, admin, draft):
    before = snapshot(draft)
    rows = with_weight("a.x", "25")
    response = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                           data=editor_data(draft, rows, note="未保存的说明"))
    assert response.status_code == 422
    assert message_of(rows) in response.text
    assert 'id="indicators-err"' in response.text
    assert 'value="25"' in response.text and "未保存的说明" in response.text
    assert snapshot(draft) == before
    assert not audit_events("template_version.saved", object_id=str(draft.id))


def test_bad_bands_are_refused_next_to_the_bands(client, admin, draft):
    before = snapshot(draft)
    response = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                           data=editor_data(draft, bands=[("60", "1/3"), ("80", "2/3"), ("0", "0")]))
    assert response.status_code == 422
    assert 'id="bands-err"' in response.text
    assert snapshot(draft) == before


def test_a_save_from_a_stale_editor_is_refused_with_the_entries_kept(client, admin, draft):
    opened = draft.version
    first = client.post(f"/evaluations/template-versions/{draft.id}/edit", data=editor_data(draft, note="第一次"))
    before = snapshot(draft)
    rows = with_weight("a.x", "25")
    second = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                         data=editor_data(draft, rows, note="第二次", stale_version=opened))
    assert first.status_code == 303
    assert second.status_code == 409
    assert shown("Someone else saved this record after you opened it. Your entries are kept below; "
        "check the current values and save again.") in second.text
    assert "第二次" in second.text and 'value="25"' in second.text
    assert f'value="{before[0]}"' in second.text    # a second, knowing save goes through
    assert snapshot(draft) == before


def test_publishing_freezes_the_version(client, admin, draft):
    response = client.post(f"/evaluations/template-versions/{draft.id}/publish")
    before = snapshot(draft)
    edit_page = client.get(f"/evaluations/template-versions/{draft.id}/edit")
    edit_post = client.post(f"/evaluations/template-versions/{draft.id}/edit",
                            data=editor_data(draft, with_weight("a.x", "25")))
    assert response.status_code == 303
    assert before[1] == VersionStatus.PUBLISHED and draft.published_at is not None
    assert edit_page.status_code == 409 and edit_post.status_code == 409
    assert shown("Only a draft can be edited: version %(n)d is frozen. Start a new version to change the indicators.",
        n=draft.number) in edit_page.text
    assert snapshot(draft) == before


def test_a_published_version_is_retired(client, admin, published):
    response = client.post(f"/evaluations/template-versions/{published.id}/retire")
    again = client.post(f"/evaluations/template-versions/{published.id}/retire")
    db.session.refresh(published)
    assert response.status_code == 303
    assert again.status_code == 409
    assert published.status == VersionStatus.RETIRED


def test_a_new_version_copies_the_latest_and_only_one_draft_is_open(client, admin, published):
    template = published.template
    page = client.get(f"/evaluations/templates/{template.id}").text
    response = client.post(f"/evaluations/templates/{template.id}/versions")
    second = client.post(f"/evaluations/templates/{template.id}/versions")
    db.session.refresh(template)
    new = template.latest
    assert f"/evaluations/templates/{template.id}/versions" in page
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/evaluations/template-versions/{new.id}/edit")
    assert (new.number, new.status) == (2, VersionStatus.DRAFT)
    assert new.indicators == published.indicators and new.bands == published.bands
    assert second.status_code == 409
    assert len(template.versions) == 2


def test_the_add_row_button_gets_one_empty_row(client, admin, draft):
    response = client.get(f"/evaluations/template-versions/{draft.id}/row", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert is_fragment(response.text)
    assert response.text.count('name="row_key"') == 1 and 'name="row_uid"' in response.text


def test_the_check_shows_sums_and_the_first_problem_without_saving(client, admin, draft):
    before = snapshot(draft)
    rows = with_weight("a.x", "25")
    response = client.post(f"/evaluations/template-versions/{draft.id}/check", data=editor_data(draft, rows),
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert is_fragment(response.text)
    assert message_of(rows) in response.text
    assert "45" in response.text and shown("does not add up") in response.text
    assert snapshot(draft) == before


def test_the_check_of_a_sound_tree_finds_no_problem(client, admin, draft):
    response = client.post(f"/evaluations/template-versions/{draft.id}/check", data=editor_data(draft))
    assert response.status_code == 200
    assert shown("No problem found: the tree and the bands can be saved.") in response.text
    assert shown("does not add up") not in response.text


# --- refusals for everyone but administrators --------------------------------------------------------


POSTS = {
    "template_new": lambda v: ("/evaluations/templates/new", {"name": "不该有的模板", "start_from": "default"}),
    "template_edit": lambda v: (f"/evaluations/templates/{v.template_id}/edit",
                                {"name": "不该有的名字", "description": "", "version": str(v.template.version)}),
    "template_new_version": lambda v: (f"/evaluations/templates/{v.template_id}/versions", {}),
    "version_edit": lambda v: (f"/evaluations/template-versions/{v.id}/edit", editor_data(v, note="不该保存")),
    "version_check": lambda v: (f"/evaluations/template-versions/{v.id}/check", editor_data(v)),
    "version_publish": lambda v: (f"/evaluations/template-versions/{v.id}/publish", {}),
    "version_retire": lambda v: (f"/evaluations/template-versions/{v.id}/retire", {}),
}


@pytest.mark.parametrize("endpoint", POSTS)
@pytest.mark.parametrize("role", NON_ADMINS)
def test_non_admins_are_refused_every_post(client, published, role, endpoint):
    as_role(client, role)
    target = published if endpoint != "version_edit" else indicators.new_version(None, published.template)
    db.session.flush()
    url, data = POSTS[endpoint](target)
    templates_before, versions_before = count(IndicatorTemplate), count(TemplateVersion)
    before = snapshot(target)
    response = client.post(url, data=data)
    assert response.status_code == 403
    assert (count(IndicatorTemplate), count(TemplateVersion)) == (templates_before, versions_before)
    assert snapshot(target) == before
    assert db.session.get(IndicatorTemplate, target.template_id).name == "测试评估指标"


def test_anonymous_visitors_are_sent_to_log_in(client, draft):
    assert client.get("/evaluations/templates").status_code == 302
    assert client.post(f"/evaluations/template-versions/{draft.id}/publish").status_code == 302


@pytest.fixture
def published_default():
    return indicators.default_version()
