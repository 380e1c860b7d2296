"""No code of the contract and delivery packages writes a status itself: every change goes through
the one door (core/workflow.py StateMachine.move), which audits it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import svcproc

PACKAGES = ("contracts", "delivery")


def _status_writes(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        flat = [t for target in targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
        if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in flat):
            lines.append(node.lineno)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status"):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("package", PACKAGES)
def test_no_status_is_written_outside_the_door(package):
    root = Path(svcproc.__file__).parent / package
    found = {str(p.relative_to(root.parent)): lines for p in sorted(root.rglob("*.py")) if (lines := _status_writes(p))}
    assert found == {}
