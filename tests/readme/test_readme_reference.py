"""The README's reference stays true: every command, option, file field, exit code and
setting the code has is documented, and the reference names none the code lacks."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import click
import pytest

from jitflow.cli import cli
from jitflow.core.ledger import EndedBlock, GrantBlock
from jitflow.errors import ExitCode
from jitflow.usecases import policy_cases
from tests.readme import readme

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_CODE = re.compile(r"`([^`]+)`")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                yield path
            yield from _commands(command, path)
        else:
            yield path


def _command(path: tuple[str, ...]) -> click.Command | None:
    command: click.Command | None = cli
    for name in path:
        command = command.commands.get(name) if isinstance(command, click.Group) else None
    return command


def _reference(path: tuple[str, ...]) -> str:
    return readme.section("### jitflow " + " ".join(path))


def _synopsis(text: str) -> str:
    """The first fenced block of a reference entry."""
    return text.split("```", 2)[1]


def _documented_paths() -> list[tuple[str, ...]]:
    reference = readme.section("## Command reference")
    return [
        tuple(line.removeprefix("### jitflow ").split())
        for line in reference.splitlines()
        if line.startswith("### jitflow ")
    ]


COMMANDS = sorted(_commands(cli))


def test_every_command_has_a_reference_entry_and_every_entry_a_command() -> None:
    documented = _documented_paths()
    assert sorted(set(COMMANDS) - set(documented)) == []
    stale = [p for p in documented if _command(p) is None]
    assert stale == [], "reference entries for commands that don't exist"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_and_argument_of_a_command_is_documented(path: tuple[str, ...]) -> None:
    command = _command(path)
    assert command is not None
    text = _reference(path)
    synopsis = _synopsis(text)
    shared = readme.section("## Command reference").split("\n### ", 1)[0]  # e.g. --repo
    assert f"jitflow {' '.join(path)}" in synopsis
    missing = []
    for param in command.params:
        if isinstance(param, click.Option) and param.hidden:
            continue
        names = [o for o in param.opts if o.startswith("--")] or [param.human_readable_name]
        if not (isinstance(param, click.Argument) and isinstance(param.type, click.Choice)):
            missing += [f"{name} (not in the synopsis)" for name in names if name not in synopsis]
        if isinstance(param.type, click.Choice):
            choices = "|".join(str(c) for c in param.type.choices)
            if choices not in synopsis:
                missing.append(f"{names[0]}: choices {choices}")
        explained = any(f"`{n}" in text or f"`{n}" in shared for n in names)
        if isinstance(param, click.Option) and not explained:
            missing.append(f"{names[0]} (not explained below the synopsis)")
    assert missing == [], f"jitflow {' '.join(path)}: undocumented {missing}"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_the_reference_names_no_option_a_command_lacks(path: tuple[str, ...]) -> None:
    command = _command(path)
    assert command is not None
    known = {o for p in command.params for o in p.opts} | {"--help"}
    named = set(_FLAG.findall(_synopsis(_reference(path))))
    assert named <= known, f"jitflow {' '.join(path)} has no {sorted(named - known)}"


def test_global_options_are_documented() -> None:
    text = readme.section("## Command reference")
    assert "`jitflow --version`" in text and "`--help`" in text


def _schema(name: str) -> dict[str, Any]:
    source = resources.files("jitflow") / "core" / "schemas" / f"{name}.schema.json"
    loaded: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return loaded


def _fields(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every property (`grant.kind`, `approvals.rules[].from.users`)."""
    if "$ref" in node:
        node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[1]], **node}
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path
        if "$ref" in child:
            child = {**schema["$defs"][child["$ref"].rsplit("/", 1)[1]], **child}
        if child.get("type") == "array" and child.get("items", {}).get("type") == "object":
            yield f"{path}[]"
            yield from _fields(schema, child["items"], f"{path}[].")
        elif "properties" in child:
            yield from _fields(schema, child, f"{path}.")


def _leaves(paths: set[str]) -> set[str]:
    return {p for p in paths if not any(q.startswith((f"{p}.", f"{p}[")) for q in paths)}


def _table_fields(text: str) -> set[str]:
    """The code spans in the first column of the section's tables."""
    cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return {span for cell in cells for span in _CODE.findall(cell)}


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("request", "### Request: `requests/<id>.yaml`"),
        ("policy", "### Policy: `policies/<name>.yaml`"),
        ("outbound", "### Outbound delivery: `.jitflow/outbound.yaml`"),
    ],
)
def test_every_schema_field_is_in_the_file_formats_and_no_other(name: str, heading: str) -> None:
    schema = _schema(name)
    paths = set(_fields(schema, schema))
    documented = _table_fields(readme.section(heading))
    assert sorted(_leaves(paths) - documented) == [], f"{name}: fields missing from the README"
    assert sorted(documented - paths) == [], f"{name}: the README documents unknown fields"


def test_the_groups_format_is_documented() -> None:
    text = readme.section("### Groups: `policies/groups.yaml`")
    pattern = _schema("groups")["additionalProperties"]["items"]["pattern"]
    assert "github-team:" in pattern and "`github-team:org/slug`" in text


def test_every_ledger_field_is_documented() -> None:
    documented = _table_fields(
        readme.section("### Ledger: `requests/active/` and `requests/archive/`")
    )
    expected = {f"grant.{f.name}" for f in dataclasses.fields(GrantBlock)}
    expected |= {f"ended.{f.name}" for f in dataclasses.fields(EndedBlock)}
    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []


def test_every_policy_test_key_is_documented() -> None:
    documented = _table_fields(readme.section("### Policy tests: `policies/tests/<name>.yaml`"))
    expected = {k for k in policy_cases._CASE_KEYS if k not in ("context", "expect")}
    expected |= {f"context.{k}" for k in policy_cases._CONTEXT_KEYS}
    expected |= {f"expect.{k}" for k in policy_cases._EXPECT_KEYS}
    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []


def test_the_exit_codes_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\d) \| (.+) \|$", readme.section("## Exit codes"), re.M)
    assert [int(code) for code, _ in rows] == sorted(int(c) for c in ExitCode)


def test_every_jitflow_setting_is_documented() -> None:
    """JITFLOW_* variables the package reads (the GitHub stand-in's own are for tests)."""
    package = readme.ROOT / "jitflow"
    sources = [p for p in package.rglob("*.py") if "sandbox/github_standin" not in p.as_posix()]
    read = {m for p in sources for m in re.findall(r'"(JITFLOW_[A-Z_]+)"', p.read_text())}
    documented = set(re.findall(r"`(JITFLOW_[A-Z_]+)`", readme.section("### Environment")))
    assert sorted(read - documented) == []


def test_every_input_of_the_composite_action_is_documented() -> None:
    from jitflow.core.yamlio import load_yaml

    action = load_yaml((readme.ROOT / "action.yml").read_bytes(), "action.yml").data
    text = readme.section("### The composite action")
    assert sorted(i for i in action["inputs"] if f"`{i}`" not in text) == []
