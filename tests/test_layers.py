"""Layers that point one way, read from the source itself (no app, no database):

- a record's status is written only by the transition door, `svcproc/core/workflow.py` (`move` sets
  the status, its timestamp and records the audit event together);
- the shared core knows no domain: nothing under `svcproc/core/` imports accounts, audit,
  contracts, …, neither at the top of a module nor inside a function (domains register their menus,
  panels, scopes and machines with the core instead);
- views (any module with routes) never commit or roll back themselves: the request's one
  transaction (`core/flow.py`) does.

Each rule has one test: no offender anywhere in the package.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "svcproc"
DOMAINS = ("accounts", "audit", "contracts", "delivery", "evaluations", "monitoring", "procurement", "registry",
           "reports")
THE_DOOR = "svcproc/core/workflow.py"


def _modules(under: str = ""):
    for path in sorted((PACKAGE / under).rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _where(path: str, node: ast.AST) -> str:
    return f"{path}:{node.lineno}"


# --- (a) status writes outside the transition door ------------------------------------------------


def _is_status_target(target: ast.AST) -> bool:
    if isinstance(target, ast.Attribute):
        return target.attr == "status"
    if isinstance(target, (ast.Tuple, ast.List)):  # a.status, a.result = ...
        return any(_is_status_target(element) for element in target.elts)
    if isinstance(target, ast.Starred):
        return _is_status_target(target.value)
    return False


def _writes_status(node: ast.AST) -> bool:
    if isinstance(node, ast.Assign):
        return any(_is_status_target(target) for target in node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return _is_status_target(node.target)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        # setattr(obj, "status", value) — a literal name; object.__setattr__ likewise
        if name in ("setattr", "__setattr__") and len(node.args) >= 2:
            named = node.args[1]
            return isinstance(named, ast.Constant) and named.value == "status"
    return False


def status_writes() -> list[str]:
    """Every place outside the door that assigns to an attribute named `status`, as "path:function"."""
    found = []
    for path, tree in _modules():
        if path == THE_DOOR:
            continue
        for function, node in _walk_with_function(tree):
            if _writes_status(node):
                found.append(f"{path}:{function}")
    return sorted(found)


def _walk_with_function(tree: ast.AST):
    """(enclosing function's qualified name or "<module>", node) for every node."""

    def visit(node: ast.AST, name: str):
        for child in ast.iter_child_nodes(node):
            inner = name
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = child.name if name == "<module>" else f"{name}.{child.name}"
            yield inner, child
            yield from visit(child, inner)

    yield from visit(tree, "<module>")


# --- (b) the core imports no domain --------------------------------------------------------------


def _imported_domains(path: str, node: ast.AST) -> set[str]:
    """The domain packages an import statement in module `path` names."""
    package = path[:-3].split("/")[:-1]  # svcproc/core/x.py -> ["svcproc", "core"]
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = package[: len(package) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        # `from .. import audit` names the package in the alias
        names = [module] + [f"{module}.{alias.name}" for alias in node.names]
    return {part.split(".")[1] for part in names
            if part.startswith("svcproc.") and len(part.split(".")) > 1 and part.split(".")[1] in DOMAINS}


def core_imports() -> list[str]:
    """"path:function -> domain" for every import of a domain package under svcproc/core/."""
    found = set()
    for path, tree in _modules("core"):
        for function, node in _walk_with_function(tree):
            for domain in _imported_domains(path, node):
                found.add(f"{path}:{function} -> {domain}")
        # importlib.import_module("svcproc.<domain>...") is an import too
        for function, node in _walk_with_function(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
                    and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).split(".")[1:2] and str(node.args[0].value).split(".")[1] in DOMAINS):
                found.add(f"{path}:{function} -> {str(node.args[0].value).split('.')[1]}")
    return sorted(found)


# --- (c) views leave the transaction to the request ----------------------------------------------


def _is_view_module(tree: ast.AST) -> bool:
    """A module with routes: it makes a Blueprint or decorates functions with `.route(`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in ("Blueprint", "route"):
                return True
    return False


def view_transaction_calls() -> list[str]:
    """"path:function.commit" or ".rollback" for every db.session.commit( / db.session.rollback( in a view module."""
    found = []
    for path, tree in _modules():
        if not _is_view_module(tree):
            continue
        for function, node in _walk_with_function(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("commit", "rollback")
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "session"):
                found.append(f"{path}:{function}.{node.func.attr}")
    return sorted(set(found))


def _in(path: str, functions: str) -> list[str]:
    return [f"{path}:{function}" for function in functions.split()]


# --- the tests -----------------------------------------------------------------------------------

RULES = {
    "status": (status_writes, "a status written outside svcproc/core/workflow.py (use the machine's `move`)"),
    "core": (core_imports, "a module under svcproc/core/ imports a domain (let the domain register instead)"),
    "views": (view_transaction_calls, "a view commits or rolls back itself (core/flow.py owns the transaction)"),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_no_offender(rule):
    find, what = RULES[rule]

    offenders = find()

    assert offenders == [], f"{what}:\n  " + "\n  ".join(offenders)


# --- the finders themselves ----------------------------------------------------------------------

SAMPLES_WRITING = ["x.status = 1", "x.status += 1", "x.status: int = 1", "setattr(x, 'status', 1)",
                   "job.status, job.result = 1, 2", "object.__setattr__(x, 'status', 1)"]
SAMPLES_NOT_WRITING = ["status = 1", "x.status_reason = 1", "y = x.status", "setattr(x, name, 1)",
                       "x.status == 1"]


@pytest.mark.parametrize("source", SAMPLES_WRITING)
def test_the_finder_sees_a_status_write(source):
    assert any(_writes_status(node) for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("source", SAMPLES_NOT_WRITING)
def test_the_finder_ignores_what_is_no_status_write(source):
    assert not any(_writes_status(node) for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("source, expected", [
    ("from ..audit.services import record", {"audit"}),
    ("from .. import contracts", {"contracts"}),
    ("import svcproc.delivery.models", {"delivery"}),
    ("from svcproc.reports import views", {"reports"}),
    ("from . import flow", set()),
    ("from ..extensions import db", set()),
])
def test_the_finder_sees_a_domain_import(source, expected):
    node = ast.parse(source).body[0]

    assert _imported_domains("svcproc/core/x.py", node) == expected
