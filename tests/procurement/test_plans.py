"""Project plans: fiscal year, budget, communities served, linked needs and performance targets."""
from __future__ import annotations

import re

import pytest

from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement.models import NeedStatus, ProjectPlan, ServiceCategory
from tests.builders.accounts import user_for_role
from tests.builders.procurement import PLAN_TARGETS, make_plan, new_tender, submit_need
from tests.builders.registry import CommunityFactory
from tests.helpers import audit_events, count, unchanged


def _form(areas, **changes) -> dict:
    data = {"fiscal_year": "2026", "title": "浆洗街道困境儿童成长守护项目", "category": "children",
            "budget": "360,000.00", "description": "为困境儿童提供个案和小组服务。",
            "communities": [str(c.id) for c in areas], **{k: str(v) for k, v in PLAN_TARGETS.items()}}
    data.update(changes)
    return data


@pytest.fixture
def communities():
    return [CommunityFactory(name="浆洗街社区"), CommunityFactory(name="洗面桥社区")]


@pytest.fixture
def manager(login_as, staff):
    return login_as(staff)


def test_staff_create_a_plan_with_needs_and_targets(client, clock, manager, communities):
    need = submit_need(communities[0])

    response = client.post("/procurement/plans/new", data=_form(communities, needs=[str(need.id)]))

    plan = db.session.execute(db.select(ProjectPlan)).unique().scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/procurement/plans/{plan.id}"
    assert (plan.fiscal_year, plan.title, plan.category, plan.budget_fen) == (
        2026, "浆洗街道困境儿童成长守护项目", ServiceCategory.CHILDREN, 36_000_000)
    assert sorted(c.id for c in plan.communities) == sorted(c.id for c in communities)
    assert plan.targets() == PLAN_TARGETS
    assert (need.status, need.plan_id) == (NeedStatus.ADOPTED, plan.id)
    [created] = audit_events("plan.created")
    assert created.actor_id == manager.id
    assert created.changes["budget_fen"] == [None, 36_000_000]
    assert created.changes["communities"] == [None, sorted(c.id for c in communities)]
    assert audit_events("need.adopted")[0].changes["plan_id"] == [None, plan.id]


def _offered(html: str) -> set[int]:
    part = html[html.index('id="plan-needs"'):]
    part = part[:part.index("</fieldset>")]
    return {int(i) for i in re.findall(r'name="needs"[^>]*value="(\d+)"', part)}


def _checked(html: str, name: str) -> set[int]:
    return {int(i) for i in re.findall(rf'<input checked id="{name}-\d+" name="{name}" type="checkbox" value="(\d+)"', html)}


def test_the_form_offers_the_waiting_needs_of_the_communities_the_plan_serves(client, manager, communities):
    """Not every waiting need of the district: those of the communities chosen, with the needs the
    plan already answers; opened from a need, the form serves that need's community."""
    here, there = communities
    waiting = [submit_need(here), submit_need(here)]
    elsewhere = submit_need(there)
    plan = make_plan(manager, communities=[there], needs=[elsewhere])
    answered_elsewhere = submit_need(there)

    fresh = client.get("/procurement/plans/new").get_data(as_text=True)
    from_need = client.get(f"/procurement/plans/new?need={waiting[0].id}").get_data(as_text=True)
    editing = client.get(f"/procurement/plans/{plan.id}/edit").get_data(as_text=True)

    assert _offered(fresh) == set()
    assert _offered(from_need) == {n.id for n in waiting}
    assert _checked(from_need, "needs") == {waiting[0].id} and _checked(from_need, "communities") == {here.id}
    assert _offered(editing) == {elsewhere.id, answered_elsewhere.id}


@pytest.mark.parametrize("path", ["new", "edit"])
def test_choosing_communities_lists_their_needs_and_saves_nothing(client, manager, communities, path):
    """The form sent back to list the needs of the communities now chosen (its needs' button, or
    htmx as the communities change) is the same form again, the entries kept, nothing saved."""
    here, there = communities
    needs = {submit_need(here).id, submit_need(there).id}
    plan = make_plan(manager, communities=[here])
    url = "/procurement/plans/new" if path == "new" else f"/procurement/plans/{plan.id}/edit"
    data = _form(communities, title="尚未保存的计划", show_needs="1", version=str(plan.version))

    with unchanged(plan):
        response = client.post(url, data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "尚未保存的计划" in html
    assert _offered(html) == needs and _checked(html, "communities") == {here.id, there.id}


@pytest.mark.parametrize("changes", [
    pytest.param({"budget": "0"}, id="budget-zero"),
    pytest.param({"budget": "-100"}, id="budget-negative"),
    pytest.param({"budget": "abc"}, id="budget-not-money"),
    pytest.param({"target_satisfaction": "101"}, id="satisfaction-over-100"),
    pytest.param({"target_people": "2001"}, id="people-over-person-times"),
    pytest.param({"communities": []}, id="no-community"),
    pytest.param({"target_cases": "-1"}, id="negative-target"),
    pytest.param({"fiscal_year": "1999"}, id="fiscal-year"),
    pytest.param({"title": "  "}, id="no-title"),
])
def test_a_bad_plan_is_refused_and_nothing_is_stored(client, manager, communities, changes):
    with unchanged():
        response = client.post("/procurement/plans/new", data=_form(communities, **changes))

    assert response.status_code == 422
    assert count(ProjectPlan) == 0


# The rules hold below the form too (a CLI import or a later API calls the service directly).
@pytest.mark.parametrize("values, field", [
    pytest.param({"budget_fen": 0}, "budget", id="budget-zero"),
    pytest.param({"budget_fen": -1}, "budget", id="budget-negative"),
    pytest.param({"targets": {**PLAN_TARGETS, "target_satisfaction": 101}}, "target_satisfaction", id="satisfaction"),
    pytest.param({"targets": {**PLAN_TARGETS, "target_people": 2001}}, "target_people", id="people"),
    pytest.param({"targets": {**PLAN_TARGETS, "target_events": -1}}, "target_events", id="negative-target"),
    pytest.param({"communities": []}, "communities", id="no-community"),
    pytest.param({"communities": "street"}, "communities", id="a-street"),
    pytest.param({"fiscal_year": 2101}, "fiscal_year", id="fiscal-year"),
])
def test_the_plan_service_refuses_what_breaks_a_rule(staff, communities, values, field):
    if values.get("communities") == "street":
        values = {"communities": [communities[0], communities[0].parent]}
    args = dict(fiscal_year=2026, title="项目", category=ServiceCategory.CHILDREN, budget_fen=36_000_000,
                description="", communities=communities, needs=[], targets=dict(PLAN_TARGETS))
    args.update(values)

    with unchanged(), pytest.raises(ValidationError) as refused:
        need_services.create_plan(staff, **args)

    assert refused.value.field == field


@pytest.mark.parametrize("people, person_times", [(600, 600), (0, 0), (1, 2000)])
def test_people_up_to_person_times_are_accepted(staff, communities, people, person_times):
    plan = make_plan(staff, communities=communities, target_people=people, target_person_times=person_times)

    assert (plan.target_people, plan.target_person_times) == (people, person_times)


# --- editing ------------------------------------------------------------------------------------


@pytest.fixture
def plan(staff, communities):
    return make_plan(staff, communities=communities[:1], budget_fen=48_000_000)


def test_staff_edit_a_plan(client, manager, plan, communities):
    response = client.post(f"/procurement/plans/{plan.id}/edit",
                           data=_form(communities, budget="500,000", version=str(plan.version)))

    saved = db.session.get(ProjectPlan, plan.id)
    assert response.status_code == 303
    assert saved.budget_fen == 50_000_000
    assert len(saved.communities) == 2
    [event] = audit_events("plan.updated")
    assert event.changes["budget_fen"] == [48_000_000, 50_000_000]
    assert event.changes["communities"] == [[communities[0].id], sorted(c.id for c in communities)]


def test_a_stale_plan_edit_is_refused_with_409(client, manager, plan, communities):
    version = str(plan.version)
    need_services.update_plan(manager, plan, fiscal_year=2025, title="别人改过的标题", category=plan.category,
                              budget_fen=plan.budget_fen, description="", communities=list(plan.communities),
                              targets=plan.targets())
    db.session.flush()

    with unchanged(plan):
        response = client.post(f"/procurement/plans/{plan.id}/edit",
                               data=_form(communities, title="我的标题", version=version))

    assert response.status_code == 409
    assert db.session.get(ProjectPlan, plan.id).title == "别人改过的标题"
    assert "我的标题" in response.get_data(as_text=True)  # the entries are kept


@pytest.mark.parametrize("changes", [
    pytest.param({"budget": "0"}, id="budget-zero"),
    pytest.param({"communities": []}, id="no-community"),
    pytest.param({"target_people": "2001"}, id="people-over-person-times"),
])
def test_a_bad_edit_is_refused_and_nothing_changes(client, manager, plan, communities, changes):
    with unchanged(plan):
        response = client.post(f"/procurement/plans/{plan.id}/edit",
                               data=_form(communities, version=str(plan.version), **changes))

    assert response.status_code == 422


def test_the_budget_cannot_fall_below_the_tenders_ceilings(client, manager, plan, communities):
    new_tender(manager, plan, ceiling_fen=40_000_000)

    with unchanged(plan):
        response = client.post(f"/procurement/plans/{plan.id}/edit",
                               data=_form(communities, budget="399,999.99", version=str(plan.version)))

    assert response.status_code == 422


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR, Role.EXPERT, Role.ORG_MANAGER])
def test_only_plan_managers_create_or_edit(client, login_as, plan, communities, role):
    login_as(user_for_role(role))

    with unchanged(plan):
        created = client.post("/procurement/plans/new", data=_form(communities))
        edited = client.post(f"/procurement/plans/{plan.id}/edit", data=_form(communities, version=str(plan.version)))

    assert (created.status_code, edited.status_code) == (403, 403)


def test_the_plan_page_shows_budget_committed_and_needs(client, manager, plan):
    need = submit_need(description="困境儿童家庭需要个案跟进和资源链接。")
    need_services.link_need(manager, plan, need)
    new_tender(manager, plan, ceiling_fen=30_000_000)

    html = client.get(f"/procurement/plans/{plan.id}").get_data(as_text=True)

    assert "¥480,000.00" in html and "¥300,000.00" in html
    assert need.receipt_code in html
