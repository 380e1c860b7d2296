"""Community needs: the public form and receipt code, triage by bureau staff, and who sees the contact."""
from __future__ import annotations

import json
import re

import pytest

from svcproc.core.errors import ValidationError
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import needs as need_services
from svcproc.procurement.labels import NEED_STATUS_LABELS
from svcproc.procurement.models import CommunityNeed, NeedStatus, ServiceCategory
from svcproc.registry.models import AreaLevel
from tests.builders.accounts import UserFactory, user_for_role
from tests.builders.procurement import make_plan, submit_need
from tests.builders.registry import AreaFactory, CommunityFactory
from tests.helpers import audit_events, count, in_page, unchanged

DESCRIPTION = "小区里独居老人多，希望社工定期上门探访、陪同就医。"


def _form(community, **changes) -> dict:
    data = {"community_id": str(community.id), "category": "elderly", "description": DESCRIPTION,
            "contact_name": "李大爷", "contact_phone": "13900002222"}
    data.update(changes)
    return data


@pytest.fixture
def community():
    return CommunityFactory(name="玉林北路社区")


@pytest.fixture
def need(community):
    return submit_need(community)


@pytest.fixture
def manager(login_as, staff):
    return login_as(staff)


# --- the public form ----------------------------------------------------------------------------


def test_anyone_submits_a_need_and_gets_a_receipt_code(client, clock, community):
    response = client.post("/needs/new", data=_form(community))

    need = db.session.execute(db.select(CommunityNeed)).unique().scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/needs/track?code={need.receipt_code}"
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{10}", need.receipt_code)
    assert (need.community_id, need.category, need.description) == (community.id, ServiceCategory.ELDERLY, DESCRIPTION)
    assert (need.contact_name, need.contact_phone) == ("李大爷", "13900002222")
    assert need.status == NeedStatus.SUBMITTED
    assert need.submitted_at == need.status_changed_at == clock.now


def test_the_form_names_every_community_by_its_path_in_as_many_statements_however_many_streets(client, community,
                                                                                               count_queries):
    """Each choice reads its community's street and district; they come with the communities."""
    def statements():
        db.session.flush()
        db.session.expunge_all()  # nothing already at hand: what the page reads, it reads itself
        with count_queries() as counted:
            html = client.get("/needs/new").get_data(as_text=True)
        return counted.count, html

    few, _html = statements()
    others = [CommunityFactory(name=f"新社区{n}") for n in range(4)]  # each under a street of its own
    many, html = statements()

    assert many == few
    for other in others:
        assert in_page(f"{other.parent.parent.name} / {other.parent.name} / {other.name}") in html


def test_the_audit_event_of_a_new_need_leaves_out_the_contact(client, clock, community):
    client.post("/needs/new", data=_form(community))

    [event] = audit_events("need.submitted")
    need = db.session.execute(db.select(CommunityNeed)).unique().scalar_one()
    assert (event.actor_id, event.actor_name, event.object_id) == (None, "public", str(need.id))
    assert set(event.changes) == {"community_id", "category", "receipt_code"}
    trail = json.dumps(event.changes, ensure_ascii=False)
    assert "李大爷" not in trail and "13900002222" not in trail and "2222" not in trail


@pytest.mark.parametrize("changes", [
    pytest.param({"community_id": "street"}, id="a-street-not-a-community"),
    pytest.param({"community_id": "999999"}, id="no-such-community"),
    pytest.param({"community_id": ""}, id="no-community"),
    pytest.param({"description": "要探访"}, id="description-too-short"),
    pytest.param({"description": "          "}, id="description-blank"),
    pytest.param({"category": "weather"}, id="unknown-category"),
    pytest.param({"contact_phone": "call me"}, id="bad-phone"),
])
def test_a_bad_need_is_refused_and_nothing_is_stored(client, community, changes):
    if changes.get("community_id") == "street":
        changes = {"community_id": str(community.parent_id)}

    with unchanged():
        response = client.post("/needs/new", data=_form(community, **changes))

    assert response.status_code == 422
    assert count(CommunityNeed) == 0


@pytest.mark.parametrize("level", [AreaLevel.DISTRICT, AreaLevel.STREET])
def test_the_service_refuses_a_need_from_anything_but_a_community(level):
    area = AreaFactory(level=level)

    with unchanged(), pytest.raises(ValidationError) as refused:
        need_services.submit_need(community=area, category=ServiceCategory.ELDERLY, description=DESCRIPTION)

    assert refused.value.field == "community_id"


def test_the_service_counts_the_description_without_surrounding_blanks(community):
    with unchanged(), pytest.raises(ValidationError) as refused:
        need_services.submit_need(community=community, category=ServiceCategory.ELDERLY,
                                  description="   要人探访老人    ")

    assert refused.value.field == "description"


# --- following a need ---------------------------------------------------------------------------


def test_the_receipt_code_shows_the_status(client, need):
    response = client.get("/needs/track", query_string={"code": need.receipt_code.lower()})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert need.receipt_code in html
    assert in_page(lambda: str(NEED_STATUS_LABELS[NeedStatus.SUBMITTED])) in html
    assert "李大爷" not in html and need.contact_phone not in html


def test_an_unknown_receipt_code_is_404(client, need):
    response = client.get("/needs/track", query_string={"code": "ZZZZZZZZZZ"})

    assert response.status_code == 404


def test_a_declined_need_shows_the_reason_to_the_resident(client, need, staff):
    need_services.decline_need(staff, need, "路灯建设不属于社会工作服务范围。")

    html = client.get("/needs/track", query_string={"code": need.receipt_code}).get_data(as_text=True)

    assert "路灯建设不属于社会工作服务范围。" in html


def test_a_merged_need_shows_the_surviving_needs_status(client, clock, need, staff):
    plan = make_plan(staff, title="独居老人关爱项目")
    survivor = submit_need(description="独居老人需要有人定期探访和心理慰藉。")
    need_services.merge_need(staff, need, survivor)
    need_services.adopt_need(staff, survivor, plan)

    html = client.get("/needs/track", query_string={"code": need.receipt_code}).get_data(as_text=True)

    assert in_page(lambda: str(NEED_STATUS_LABELS[NeedStatus.ADOPTED])) in html
    assert survivor.receipt_code in html
    assert "独居老人关爱项目" in html


# --- triage by bureau staff -----------------------------------------------------------------------


def _post(client, need, action, **data):
    return client.post(f"/procurement/needs/{need.id}/{action}", data=data)


def _reload(need) -> CommunityNeed:
    return db.session.get(CommunityNeed, need.id)


def test_staff_adopt_a_need(client, clock, need, manager):
    response = _post(client, need, "adopt")

    assert response.status_code == 303
    saved = _reload(need)
    assert (saved.status, saved.status_changed_at) == (NeedStatus.ADOPTED, clock.now)
    [event] = audit_events("need.adopted")
    assert event.actor_id == manager.id
    assert event.changes == {"status": ["submitted", "adopted"]}


def test_staff_decline_a_need_with_a_reason(client, need, manager):
    response = _post(client, need, "decline", reason="  不属于社会工作服务范围。 ")

    assert response.status_code == 303
    assert (_reload(need).status, _reload(need).status_reason) == (NeedStatus.DECLINED, "不属于社会工作服务范围。")
    assert audit_events("need.declined")[0].changes["status_reason"] == ["", "不属于社会工作服务范围。"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_needs_a_reason(client, need, manager, reason):
    with unchanged(need):
        response = _post(client, need, "decline", reason=reason)

    assert response.status_code == 422
    assert _reload(need).status == NeedStatus.SUBMITTED


@pytest.mark.parametrize("status", [NeedStatus.SUBMITTED, NeedStatus.ADOPTED])
def test_a_new_or_adopted_need_can_be_marked_addressed(client, need, staff, manager, status):
    if status == NeedStatus.ADOPTED:
        need_services.adopt_need(staff, need)

    response = _post(client, need, "address", reason="社区已开设老年人手机课堂。")

    assert response.status_code == 303
    assert (_reload(need).status, _reload(need).status_reason) == (NeedStatus.ADDRESSED, "社区已开设老年人手机课堂。")


def _into_status(need, status, staff):
    if status == NeedStatus.ADOPTED:
        need_services.adopt_need(staff, need)
    elif status == NeedStatus.DECLINED:
        need_services.decline_need(staff, need, "不属于服务范围。")
    elif status == NeedStatus.ADDRESSED:
        need_services.address_need(staff, need, "已解决。")
    elif status == NeedStatus.MERGED:
        need_services.merge_need(staff, need, submit_need(description="另一条相同的需求，内容相近。"))


# Which actions each status still allows: only a new need is triaged; an adopted one can still be
# marked addressed; declined, addressed and merged needs are closed.
ALLOWED = {
    NeedStatus.SUBMITTED: {"adopt", "decline", "address", "merge"},
    NeedStatus.ADOPTED: {"address"},
    NeedStatus.DECLINED: set(),
    NeedStatus.ADDRESSED: set(),
    NeedStatus.MERGED: set(),
}


@pytest.mark.parametrize("status, action", [
    (status, action) for status in NeedStatus for action in ("adopt", "decline", "address", "merge")
    if action not in ALLOWED[status]])
def test_a_closed_need_refuses_further_triage(client, need, staff, manager, status, action):
    _into_status(need, status, staff)
    target = submit_need(description="另一条需求，用来合并的目标。")

    with unchanged(need):
        response = _post(client, need, action, reason="理由", into=target.receipt_code)

    assert response.status_code == 409
    assert _reload(need).status == status


def test_staff_merge_a_duplicate(client, need, manager):
    survivor = submit_need(description="独居老人需要有人定期探访和心理慰藉。")

    response = _post(client, need, "merge", into=survivor.receipt_code.lower())

    saved = _reload(need)
    assert response.status_code == 303
    assert (saved.status, saved.merged_into_id) == (NeedStatus.MERGED, survivor.id)
    assert survivor.receipt_code in saved.status_reason
    assert audit_events("need.merged")[0].changes["merged_into_id"] == [None, survivor.id]


@pytest.mark.parametrize("target", ["itself", "a-duplicate", "unknown", "blank"])
def test_a_merge_needs_a_surviving_need(client, need, staff, manager, target):
    if target == "itself":
        code = need.receipt_code
    elif target == "a-duplicate":
        duplicate = submit_need(description="一条已经被合并的重复需求。")
        need_services.merge_need(staff, duplicate, submit_need(description="被合并进去的那条需求。"))
        code = duplicate.receipt_code
    else:
        code = "ZZZZZZZZZZ" if target == "unknown" else ""

    with unchanged(need):
        response = _post(client, need, "merge", into=code)

    assert response.status_code == 422
    assert _reload(need).status == NeedStatus.SUBMITTED


def test_an_unknown_action_is_404(client, need, manager):
    with unchanged(need):
        response = _post(client, need, "approve")

    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR, Role.EXPERT, Role.ORG_MANAGER, Role.EVALUATOR])
@pytest.mark.parametrize("action", ["adopt", "decline", "address", "merge"])
def test_only_staff_with_needs_manage_triage(client, login_as, need, role, action):
    login_as(user_for_role(role))
    target = submit_need(description="另一条需求，用来合并的目标。")

    with unchanged(need):
        response = _post(client, need, action, reason="理由", into=target.receipt_code)

    assert response.status_code == 403


@pytest.mark.parametrize("need_status", [NeedStatus.SUBMITTED, NeedStatus.DECLINED])
def test_linking_a_need_to_a_plan_adopts_it_only_while_open(staff, need, need_status):
    _into_status(need, need_status, staff)
    plan = make_plan(staff)

    if need_status == NeedStatus.SUBMITTED:
        need_services.link_need(staff, plan, need)
        assert (need.status, need.plan_id) == (NeedStatus.ADOPTED, plan.id)
    else:
        with unchanged(need), pytest.raises(ValidationError):
            need_services.link_need(staff, plan, need)


# --- who sees the contact -------------------------------------------------------------------------


@pytest.mark.parametrize("role, sees", [(Role.PROCUREMENT, True), (Role.ADMIN, False), (Role.AUDITOR, False)])
def test_the_contact_is_masked_for_everyone_without_needs_manage(client, login_as, need, role, sees):
    login_as(UserFactory(role=role))

    html = client.get(f"/procurement/needs/{need.id}").get_data(as_text=True)

    assert ("13900001111" in html) is sees
    assert ("王阿姨" in html) is sees
    if not sees:
        assert "139****1111" in html and "王**" in html


@pytest.mark.parametrize("role, url", [
    (Role.PROCUREMENT, "/procurement/needs"), (Role.ADMIN, "/procurement/needs"),
    (Role.AUDITOR, "/procurement/needs?q={code}"), (Role.PROCUREMENT, "/procurement/plans/{plan}"),
    (Role.AUDITOR, "/audit"), (Role.AUDITOR, "/audit/export.csv"), (Role.ADMIN, "/audit?object_type=need"),
])
def test_lists_and_the_trail_never_show_the_contact(client, login_as, need, staff, role, url):
    plan = make_plan(staff, needs=[need])
    login_as(UserFactory(role=role))

    response = client.get(url.format(code=need.receipt_code, plan=plan.id))

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert need.receipt_code in text
    assert "13900001111" not in text and "王阿姨" not in text


def test_the_residents_phone_is_stored_sealed_and_shown_masked():
    import sqlalchemy as sa

    need = submit_need(CommunityFactory(), contact_phone="13900002222")
    db.session.flush()

    raw = db.session.execute(sa.text("SELECT * FROM community_need WHERE id = :id"), {"id": need.id}).mappings().one()
    assert "13900002222" not in repr(dict(raw)) and b"13900002222" not in bytes(raw["contact_phone_sealed"])
    assert raw["contact_phone_masked"] == "139****2222"
    db.session.expire(need)
    assert need.contact_phone == "13900002222"
