"""The evaluation state machines as tables: each verb moves a round, a rectification item or a
template version from exactly its sources, through the one door; from every other state it is
refused with the rule in words, and nothing changes. And no status is written anywhere else."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

import svcproc
from svcproc.core.errors import DomainError
from svcproc.core.jobs import JOB, JobStatus
from svcproc.evaluations import indicators
from svcproc.evaluations import workflow as ev
from svcproc.evaluations.models import ItemStatus as I, RoundStatus as R, VersionStatus as V
from svcproc.evaluations.states import ITEM, ROUND, VERSION
from tests.evaluations.conftest import TODAY, unchanged
from tests.helpers import audit_events

pytestmark = pytest.mark.usefixtures("shared_connection")

# The rules, written out by hand: verb -> (from, to, audit event).
ROUND_TABLE = {
    "open": ({R.PLANNED}, R.SCORING, "evaluation.scoring_opened"),
    "finalize": ({R.SCORING}, R.FINALIZED, "evaluation.finalized"),
    "reopen": ({R.FINALIZED}, R.SCORING, "evaluation.reopened"),
    "cancel": ({R.PLANNED, R.SCORING}, R.CANCELLED, "evaluation.cancelled"),
}
ITEM_TABLE = {
    "respond": ({I.OPEN}, I.RESPONDED, "rectification.responded"),
    "close": ({I.RESPONDED}, I.CLOSED, "rectification.closed"),
    "reopen": ({I.RESPONDED, I.CLOSED}, I.OPEN, "rectification.reopened"),
}
VERSION_TABLE = {
    "publish": ({V.DRAFT}, V.PUBLISHED, "template_version.published"),
    "retire": ({V.PUBLISHED}, V.RETIRED, "template_version.retired"),
}
JOB_TABLE = {
    "start": ({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.RUNNING, "job.started"),
    "finish": ({JobStatus.RUNNING}, JobStatus.DONE, "job.finished"),
    "fail": ({JobStatus.QUEUED, JobStatus.RUNNING}, JobStatus.FAILED, "job.failed"),
}


@pytest.mark.parametrize("machine, table", [(ROUND, ROUND_TABLE), (ITEM, ITEM_TABLE), (VERSION, VERSION_TABLE),
                                            (JOB, JOB_TABLE)], ids=["round", "item", "version", "job"])
def test_the_machines_declare_the_rules(machine, table):
    assert {verb: (set(t.sources), t.target, t.event) for verb, t in machine.transitions.items()} == table


ROUND_ACTIONS = {
    "open": lambda world, round_: ev.open_scoring(world.staff, round_),
    "finalize": lambda world, round_: ev.finalize(world.staff, round_),
    "reopen": lambda world, round_: ev.reopen(world.admin, round_, "评分有误，重新评分。"),
    "cancel": lambda world, round_: ev.cancel(world.staff, round_, "项目调整。"),
}


@pytest.mark.parametrize("verb, status", [(verb, status) for verb, (sources, _t, _e) in ROUND_TABLE.items()
                                          for status in R if status not in sources])
def test_a_round_refuses_a_verb_its_state_does_not_allow(world, verb, status):
    round_ = world.round_in(status)

    with unchanged(round_, *round_.evaluators):
        with pytest.raises(DomainError) as refused:
            ROUND_ACTIONS[verb](world, round_)

    assert ev.status_label(status) in refused.value.message


def _item_in(world, status: I):
    round_ = world.round_in(R.SCORING)
    finding = ev.add_finding(world.staff, round_, "签到表缺少服务对象签名。")
    item = ev.add_item(world.staff, finding, action="补齐签名", owner="项目主管", deadline=TODAY + timedelta(days=30))
    if status != I.OPEN:
        ev.respond(world.manager, item, "已补齐签名。", [])
    if status == I.CLOSED:
        ev.close_item(world.staff, item, "已核实。")
    assert item.status == status
    return item


ITEM_ACTIONS = {
    "respond": lambda world, item: ev.respond(world.manager, item, "再次回复。", []),
    "close": lambda world, item: ev.close_item(world.staff, item, "已核实。"),
    "reopen": lambda world, item: ev.reopen_item(world.staff, item, "仍未整改。"),
}


@pytest.mark.parametrize("verb, status", [(verb, status) for verb, (sources, _t, _e) in ITEM_TABLE.items()
                                          for status in I if status not in sources])
def test_an_item_refuses_a_verb_its_state_does_not_allow(world, verb, status):
    item = _item_in(world, status)

    with unchanged(item, *item.responses):
        with pytest.raises(DomainError):
            ITEM_ACTIONS[verb](world, item)


def _version_in(world, status: V):
    if status == V.PUBLISHED:
        return world.small
    template = indicators.create_template(world.admin, name="居家养老服务评估指标")
    version = template.latest
    if status == V.RETIRED:
        indicators.publish_version(world.admin, version)
        indicators.retire_version(world.admin, version)
    return version


VERSION_ACTIONS = {
    "publish": lambda world, version: indicators.publish_version(world.admin, version),
    "retire": lambda world, version: indicators.retire_version(world.admin, version),
}


@pytest.mark.parametrize("verb, status", [(verb, status) for verb, (sources, _t, _e) in VERSION_TABLE.items()
                                          for status in V if status not in sources])
def test_a_version_refuses_a_verb_its_state_does_not_allow(world, verb, status):
    version = _version_in(world, status)

    with unchanged(version):
        with pytest.raises(DomainError):
            VERSION_ACTIONS[verb](world, version)


def test_a_move_sets_the_status_and_its_time_together_and_records_the_event(world, clock):
    round_ = world.round_in(R.PLANNED)
    clock.advance(hours=2)

    ev.cancel(world.staff, round_, "项目调整。")

    assert (round_.status, round_.status_changed_at, round_.status_reason) == (R.CANCELLED, clock.now, "项目调整。")
    [event] = audit_events("evaluation.cancelled", object_id=str(round_.id))
    assert event.changes == {"status": ["planned", "cancelled"], "reason": [None, "项目调整。"]}


# --- one door -------------------------------------------------------------------------------------

PACKAGE = Path(svcproc.__file__).parent
# The parts of the package this suite answers for; the door itself is core/workflow.py.
CHECKED = [PACKAGE / "evaluations", PACKAGE / "reports", PACKAGE / "audit", PACKAGE / "core" / "jobs.py"]


def _status_writes(path: Path) -> list[str]:
    writes = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for part in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(part, ast.Attribute) and part.attr == "status":
                    writes.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status":
            writes.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return writes


def test_no_status_is_written_outside_the_transition_door():
    files = [f for place in CHECKED for f in ([place] if place.is_file() else sorted(place.rglob("*.py")))]

    assert files and [w for f in files for w in _status_writes(f)] == []
