"""The decision and sync signatures are typed: no `Any` in a parameter, return or field.

What the gate and sync may ask GitHub and Vault is a typed port (jitflow.usecases.port); an
`Any` there would let a gateway method be called that no Protocol lists, unseen by mypy.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jitflow

_ROOT = Path(jitflow.__file__).parent
_TYPED = [
    "usecases/port.py",
    "usecases/pull_decision.py",
    "usecases/gate.py",
    "usecases/check.py",
    "usecases/creds.py",
    "usecases/sync",
    "usecases/audit/vault_checks.py",
    "core/approvals.py",
    "core/evaluation.py",
    "core/merge.py",
    "core/contributors.py",
    "core/sshkeys.py",
    "core/changes.py",
    "core/grants.py",
]


def _files() -> list[Path]:
    found: list[Path] = []
    for name in _TYPED:
        path = _ROOT / name
        found += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return found


def _mentions_any(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    return any(
        (isinstance(node, ast.Name) and node.id == "Any")
        or (isinstance(node, ast.Attribute) and node.attr == "Any")
        or (isinstance(node, ast.Constant) and isinstance(node.value, str) and "Any" in node.value)
        for node in ast.walk(annotation)
    )


def _offenders(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(_ROOT.parent)
    found = []
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            annotations += [a.annotation for a in every if a is not None]
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript):
            annotations.append(node.value)  # a type alias such as `Fresh = tuple[...]`
        found += [f"{where}:{node.lineno}" for a in annotations if _mentions_any(a)]
    return found


def test_no_any_in_decision_and_sync_signatures() -> None:
    files = _files()
    assert len(files) > 20  # the list above still names real modules
    offenders = [o for path in files for o in _offenders(path)]
    assert offenders == []


def test_the_check_sees_an_any() -> None:
    tree = ast.parse("def f(vault: Any) -> None: ...\n")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert _mentions_any(function.args.args[0].annotation)
