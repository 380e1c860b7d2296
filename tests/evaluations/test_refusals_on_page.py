"""A refused action answers on the page it was sent from, with the rule beside the form and nothing
changed: submitting scores with some missing, finalizing before everyone has scored, saving the
round's schedule with the dates the wrong way round, closing an item nobody responded to."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import gettext

from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import RoundStatus
from tests.evaluations.conftest import TODAY, unchanged
from tests.helpers import in_page, login

pytestmark = pytest.mark.usefixtures("shared_connection")


def _refusal_on(response, page_marker: str, message: str) -> None:
    html = response.get_data(as_text=True)
    assert page_marker in html, "the answer is the page the person was on"
    assert 'id="refusal"' in html and message in html


def test_submitting_with_scores_missing_answers_on_the_scoring_page(client, world):
    round_ = world.round_in(RoundStatus.SCORING)
    member = world.member(round_, "tp1")
    ev.declare(world.users["tp1"], member, related=False)
    login(client, world.users["tp1"])
    page = f"/evaluations/rounds/{round_.id}/score"
    names = ", ".join(ev.missing_scores(member))

    with unchanged(round_, member):
        response = client.post(f"{page}/submit", headers={"Referer": f"http://localhost{page}"})

    assert response.status_code == 409
    _refusal_on(response, f'action="{page}/submit"', in_page(lambda: gettext(
        "Give points and a comment for every indicator; still missing: %(names)s.", names=names)))


def test_finalizing_too_early_answers_on_the_rounds_page(client, world):
    round_ = world.round_in(RoundStatus.SCORING)
    login(client, world.staff)
    page = f"/evaluations/rounds/{round_.id}"

    with unchanged(round_, *round_.evaluators):
        response = client.post(f"{page}/finalize", headers={"Referer": f"http://localhost{page}"})

    assert response.status_code == 409
    _refusal_on(response, f'action="{page}/finalize"', "评估员甲")


def test_a_refused_schedule_keeps_what_was_typed_on_the_rounds_page(client, world):
    round_ = world.round_in(RoundStatus.PLANNED)
    login(client, world.staff)

    with unchanged(round_):
        response = client.post(f"/evaluations/rounds/{round_.id}/schedule", data={
            "title": "改过的标题", "scheduled_start": str(TODAY + timedelta(days=5)), "scheduled_end": str(TODAY)})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="改过的标题"' in html and f'action="/evaluations/rounds/{round_.id}/schedule"' in html


def test_closing_an_item_nobody_responded_to_answers_on_the_rounds_page(client, world):
    round_ = world.round_in(RoundStatus.SCORING)
    finding = ev.add_finding(world.staff, round_, "签到表缺少服务对象签名。")
    item = ev.add_item(world.staff, finding, action="补齐签名", owner="项目主管", deadline=TODAY + timedelta(days=30))
    login(client, world.staff)
    page = f"/evaluations/rounds/{round_.id}"

    with unchanged(item):
        response = client.post(f"/evaluations/items/{item.id}/close", data={"note": "已核实"},
                               headers={"Referer": f"http://localhost{page}"})

    assert response.status_code == 409
    _refusal_on(response, f'id="item-{item.id}"', in_page(lambda: gettext(
        "Only an item the organization has responded to can be closed.")))
