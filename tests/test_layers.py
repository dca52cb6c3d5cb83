"""Imports point down: cli -> usecases -> reporters, adapters -> core; the sandbox stays apart.

Read from the source (every import, lazy ones and TYPE_CHECKING ones too), so a newcomer can
trust the folders: the product (cli, usecases, reporters, adapters, core) never imports
`jitflow.sandbox` (the GitHub stand-in, the local servers, the demo), except the `demo`
command, lazily; the CLI builds adapters in cli/wiring.py only; and no modules import one
another round a loop, not even through an import inside a function. Each library that talks
to a system of record has one room: `github` (PyGithub) only inside adapters/github/, `hvac`
only inside adapters/vault/, `yaml` only in core/yamlio.py.

Use-cases may call reporters for the messages they deliver themselves (sync's PR comments,
the outbound events); the output of a command is rendered by its CLI module. The live gate
renders nothing: it returns its reports, and its caller gives it the words of its PR feedback.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jitflow"

# What each layer may import, besides itself and the top-level modules (jitflow, errors).
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "core": frozenset(),
    "adapters": frozenset({"core"}),
    "reporters": frozenset({"core"}),
    "usecases": frozenset({"core", "adapters", "reporters"}),
    "cli": frozenset({"usecases", "reporters", "core", "adapters"}),
    "sandbox": frozenset({"usecases", "reporters", "core", "adapters"}),
}
# The package's entry point (`python -m jitflow`) is the CLI's.
ENTRY = "jitflow.__main__"
# The CLI builds adapters in one module only; every other command module asks it.
ADAPTER_WIRING = frozenset({"jitflow.cli.wiring"})
# No import circle is tolerated.
KNOWN_CIRCLES: list[list[str]] = []
# The one product module that starts the sandbox: `jitflow demo`.
SANDBOX_DOORS = frozenset({"jitflow.cli.demo_cmd"})
# Where each of these libraries may be imported (a module, or a package and its modules).
LIBRARY_ROOMS: Mapping[str, str] = {
    "github": "jitflow.adapters.github",
    "hvac": "jitflow.adapters.vault",
    "yaml": "jitflow.core.yamlio",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(
    tree: ast.AST, modules: Collection[str], *, run_time_only: bool = False
) -> Iterator[str]:
    """The jitflow modules a module's source imports (only those that run, if asked: not the
    ones under `if TYPE_CHECKING:`).

    `from package import name` imports the submodule `package.name` where there is one, else
    the package itself.
    """
    for node in _walk(tree, skip_type_checking=run_time_only):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "jitflow")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jitflow"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in modules else str(node.module)


def _walk(tree: ast.AST, *, skip_type_checking: bool) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        test = node.test if isinstance(node, ast.If) else None
        if skip_type_checking and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from _walk(node, skip_type_checking=skip_type_checking)


def libraries(tree: ast.AST) -> Iterator[str]:
    """The top-level names of what a module's source imports, lazily or not."""
    for node in _walk(tree, skip_type_checking=False):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def out_of_room(modules: Mapping[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in modules.items():
        for library in sorted(set(libraries(tree)) & LIBRARY_ROOMS.keys()):
            room = LIBRARY_ROOMS[library]
            if name != room and not name.startswith(f"{room}."):
                found.append(f"{name} imports {library} (its room: {room})")
    return sorted(found)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else "top"


def sources() -> dict[str, ast.AST]:
    return {module_name(p): ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}


def wrong_way(modules: Mapping[str, ast.AST]) -> list[str]:
    found = []
    for name, tree in modules.items():
        mine = layer(name)
        for target in set(imported(tree, modules)):
            theirs = layer(target)
            if theirs in ("top", mine) or theirs in MAY_IMPORT.get(mine, frozenset()):
                continue
            if (theirs == "sandbox" and name in SANDBOX_DOORS) or name == ENTRY:
                continue
            found.append(f"{name} ({mine}) imports {target} ({theirs})")
    return sorted(found)


def circles(modules: Mapping[str, ast.AST]) -> list[list[str]]:
    """Groups of modules that import one another, directly or round a loop, at load time or
    inside a function (strongly connected)."""
    graph = {
        name: {t for t in imported(tree, modules, run_time_only=True) if t in modules and t != name}
        for name, tree in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            if group:
                found.append(sorted([node, *group]))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_product_module_imports_the_sandbox_and_no_import_points_up() -> None:
    assert wrong_way(sources()) == []


def test_only_the_cli_wiring_builds_adapters() -> None:
    modules = sources()
    builders = {
        name
        for name, tree in modules.items()
        if layer(name) == "cli" and any(layer(t) == "adapters" for t in imported(tree, modules))
    }
    assert builders <= ADAPTER_WIRING


def test_the_gate_use_case_renders_nothing() -> None:
    modules = sources()
    rendering = {
        target
        for target in imported(modules["jitflow.usecases.gate"], modules)
        if layer(target) == "reporters"
    }
    assert rendering == set()


def test_no_import_circle_not_even_through_a_lazy_import() -> None:
    assert circles(sources()) == KNOWN_CIRCLES


def test_github_hvac_and_yaml_are_each_imported_in_their_room_only() -> None:
    assert out_of_room(sources()) == []


def test_the_room_check_sees_a_library_imported_elsewhere() -> None:
    modules = {
        "jitflow.adapters.github.gateway": ast.parse("def f():\n    import github"),
        "jitflow.adapters.github_extra": ast.parse("from github.GithubRetry import GithubRetry"),
        "jitflow.usecases.x": ast.parse("def f():\n    import hvac.exceptions"),
        "jitflow.core.yamlio": ast.parse("import yaml"),
    }
    assert out_of_room(modules) == [
        "jitflow.adapters.github_extra imports github (its room: jitflow.adapters.github)",
        "jitflow.usecases.x imports hvac (its room: jitflow.adapters.vault)",
    ]


def test_the_checks_see_an_upward_import_a_sandbox_import_and_a_circle() -> None:
    modules = {
        "jitflow.core.a": ast.parse("from jitflow.usecases.b import x"),
        "jitflow.reporters.c": ast.parse("def f():\n    import jitflow.sandbox.demo"),
        "jitflow.cli.demo_cmd": ast.parse("def f():\n    from jitflow.sandbox import demo"),
        "jitflow.usecases.b": ast.parse("from jitflow.core import a"),
    }
    assert wrong_way(modules) == [
        "jitflow.core.a (core) imports jitflow.usecases.b (usecases)",
        "jitflow.reporters.c (reporters) imports jitflow.sandbox.demo (sandbox)",
    ]
    assert circles(modules) == [["jitflow.core.a", "jitflow.usecases.b"]]


def test_an_import_for_type_checking_only_makes_no_circle() -> None:
    modules = {
        "jitflow.core.a": ast.parse("from jitflow.core.b import x"),
        "jitflow.core.b": ast.parse(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from jitflow.core.a import y"
        ),
    }
    assert circles(modules) == []


def test_each_command_lives_in_the_cli_module_named_after_it() -> None:
    import click

    from jitflow.cli import cli

    def homes(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        for name, command in group.commands.items():
            words = (*path, name)
            assert command.callback is not None
            yield " ".join(words), command.callback.__module__
            if isinstance(command, click.Group):
                yield from homes(command, words)

    found = dict(homes(cli, ()))
    assert found, "no command registered"
    assert {
        command: module
        for command, module in found.items()
        if module != f"jitflow.cli.{command.replace(' ', '_')}_cmd"
    } == {}
