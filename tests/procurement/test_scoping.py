"""Each procurement list shows exactly the rows its view predicate allows, for every kind of person.

One world, built once: a draft tender, a published one with an answered and an unanswered question
and an undeclared panel, an opened one whose panel declared and scored, and one in publicity with
an objection; besides, needs and plans. For every registered procurement scope and every person,
`visible_<things>(user)` and `can_view_<thing>(user, obj)` must agree on every row.
"""
from __future__ import annotations

import pytest

from svcproc.accounts.models import User
from svcproc.core import scoping
from svcproc.core.permissions import Role
from svcproc.extensions import db
from svcproc.procurement import workflow
from svcproc.procurement.models import (Bid, Clarification, CommunityNeed, Objection, ProjectPlan, Tender,
                                        TenderStatus)
from tests.builders.accounts import user_for_role
from tests.builders.procurement import score_all, submit_need, tender_in

pytestmark = pytest.mark.usefixtures("shared_connection")
S = TenderStatus
MODELS = (CommunityNeed, ProjectPlan, Tender, Bid, Clarification, Objection)


def _build(clock) -> list[int]:
    people = [user_for_role(role) for role in Role]
    tender_in(S.DRAFT, clock)
    published = tender_in(S.PUBLISHED, clock, questions=("服务人员是否需要持证上岗？",))
    workflow.ask_question(published.managers[1], published.tender, "项目是否允许联合体投标？")
    opened = tender_in(S.OPENED, clock)
    score_all(opened)  # the panel declares (no conflict) and scores
    publicity = tender_in(S.IN_PUBLICITY, clock)
    clock.advance(hours=1)
    workflow.file_objection(publicity.managers[0], publicity.tender, "评分过程不公正，请复核专家评分。", [])
    submit_need(description="独居老人希望有人定期上门探访。")
    people += [published.managers[0], published.managers[1], published.experts[0], opened.experts[0],
               publicity.managers[0], publicity.managers[2], publicity.experts[0]]
    return [p.id for p in people]


@pytest.fixture(scope="module")
def people(build_once):
    return build_once(_build)


def test_every_procurement_record_kind_has_a_registered_scope():
    assert {m.__name__ for m in MODELS} <= set(scoping.SCOPES)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_lists_and_the_view_predicate_agree_for_every_person_and_row(people, model):
    scope = scoping.SCOPES[model.__name__]
    rows = db.session.execute(db.select(model)).unique().scalars().all()
    assert rows
    for user in (db.session.get(User, i) for i in people):
        expected = {row.id for row in rows if scope.can_view(user, row)}
        assert scoping.visible_ids(user, model) == expected, (user.role, user.username)
