"""An area's results page shows an evaluation's total, grade and satisfaction once it is finalized,
never while it is being scored."""
from __future__ import annotations

import pytest

from svcproc.evaluations.labels import GRADE_LABELS
from svcproc.evaluations.models import RoundStatus
from tests.builders.evaluations import EvalWorld, build_eval_world
from tests.helpers import in_page

pytestmark = pytest.mark.usefixtures("shared_connection")


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_eval_world)


@pytest.fixture
def world(built, clock) -> EvalWorld:
    clock.set(built["now"])
    return EvalWorld(built)


def _project_row(html: str, title: str) -> str:
    start = html.index(title)
    return html[start:html.index("</tr>", start)]


def test_a_finalized_evaluation_is_published_with_its_grade_and_satisfaction(client, world):
    round_ = world.finalized()

    html = client.get(f"/areas/{world.communities[0].id}").get_data(as_text=True)

    row = _project_row(html, world.contract.title)
    assert str(round_.total) in row and in_page(lambda: str(GRADE_LABELS[round_.grade])) in row
    assert "92.0 %" in row          # 46 of the 50 surveyed


@pytest.mark.parametrize("status", [RoundStatus.PLANNED, RoundStatus.SCORING])
def test_an_evaluation_not_yet_finalized_shows_nothing(client, world, status):
    round_ = world.round_in(status)

    html = client.get(f"/areas/{world.communities[0].id}").get_data(as_text=True)

    row = _project_row(html, world.contract.title)
    assert "92.0 %" not in row
    assert not any(in_page(lambda g=g: str(label)) in row for g, label in GRADE_LABELS.items())
    assert round_.total is None
