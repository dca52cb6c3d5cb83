"""All git knowledge lives in the git adapter (jitflow/adapters/git/): no other product module
runs git with an argv of its own.

Read from the source: a call of a `Git` runner method (`run`, `execute`, `ok`, `stream`,
`stream_chunks`) whose first argument is a git argv (a string, or a list or tuple starting
with a string or a `*spread`), and any argv list or tuple that starts with "git" (a
`subprocess` call), are allowed only in the adapter and in the sandbox (the GitHub stand-in
and the demo, which play GitHub and its users). Use-cases ask the adapter by intention instead
(`graph.is_ancestor(git, a, b)`, not `git.ok("merge-base", "--is-ancestor", a, b)`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jitflow"
ALLOWED = ("jitflow/adapters/git/", "jitflow/sandbox/")
RUNNER_METHODS = frozenset({"run", "execute", "ok", "stream", "stream_chunks"})


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_argv(node: ast.expr) -> bool:
    if _is_text(node) or isinstance(node, ast.Starred):
        return True
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        first = node.elts[0]
        return _is_text(first) or isinstance(first, ast.Starred)
    return False


def raw_git_calls(source: str) -> list[int]:
    """Line numbers of the git invocations in `source` (see the module's docstring)."""
    return sorted(set(_raw_git_lines(ast.parse(source))))


def _raw_git_lines(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if _runs_argv(node) or _starts_with_git(node):
            yield getattr(node, "lineno", 0)


def _runs_argv(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RUNNER_METHODS
        and bool(node.args)
        and _is_argv(node.args[0])
    )


def _starts_with_git(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.List | ast.Tuple)
        and bool(node.elts)
        and isinstance(node.elts[0], ast.Constant)
        and node.elts[0].value == "git"
    )


def test_only_the_git_adapter_runs_git() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent).as_posix()
        if where.startswith(ALLOWED):
            continue
        found += [f"{where}:{line}" for line in raw_git_calls(path.read_text(encoding="utf-8"))]
    assert found == [], "git run outside jitflow/adapters/git: " + ", ".join(found)


def test_the_check_sees_each_way_of_running_git() -> None:
    source = "\n".join(
        [
            'git.run("log", "-1")',
            'git.execute(["merge-base", a, b], check=False)',
            "git.ok(*args)",
            'Git(repo).stream("log", tip)',
            'subprocess.run(["git", "status"], check=True)',
            "subprocess.run(('git', 'fetch'))",
            "graph.is_ancestor(git, a, b)",
            "subprocess.run(command, check=False)",
            'click.echo("git")',
        ]
    )
    assert raw_git_calls(source) == [1, 2, 3, 4, 5, 6]
