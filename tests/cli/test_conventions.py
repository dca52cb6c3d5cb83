"""CLI conventions users expect from gh, terraform and pip-audit: `-h`, help on every option,
one metavar per kind of value (the one the README's synopsis shows), whole command
summaries, `--format json` wherever a command reports, shell completion with policy names
and grant ids, and colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.cli.style import paint
from tests.readme import readme


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


COMMANDS = sorted(_commands(cli))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_dash_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "-h"], prog_name="jitflow")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: jitflow {' '.join(path)}")


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_has_help_and_the_readmes_metavar(path: tuple[str, ...]) -> None:
    command = _command(path)
    if isinstance(command, click.Group) and not command.invoke_without_command:
        return  # `jitflow policy` only groups its subcommands
    ctx = click.Context(command, info_name=path[-1])
    synopsis = readme.section("### jitflow " + " ".join(path)).split("```", 2)[1]
    problems = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        if not param.help:
            problems.append(f"{param.opts[0]}: no help")
        if param.is_flag or isinstance(param.type, click.Choice):
            continue
        metavar = param.make_metavar(ctx)
        if f"{param.opts[0]} {metavar}" not in " ".join(synopsis.split()):
            problems.append(f"{param.opts[0]} {metavar} is not what the README shows")
    assert problems == []


def test_command_summaries_are_whole_sentences() -> None:
    for path in [(), ("audit",), ("policy",)]:
        text = CliRunner().invoke(cli, [*path, "--help"]).output
        commands = text.split("Commands:", 1)[1]
        assert "..." not in commands, commands


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[" in paint("  ✗ repository.codeowners: missing", Terminal())
    assert paint("  ✗ repository.codeowners: missing", io.StringIO()) == (
        "  ✗ repository.codeowners: missing"
    )
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in paint("  ✗ repository.codeowners: missing", Terminal())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert "\x1b[" not in paint("FAIL x", Terminal())


def _complete(args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from click.shell_completion import ShellComplete

    monkeypatch.chdir(cwd)
    words = args.split(" ")
    completion = ShellComplete(cli, {}, "jitflow", "_JITFLOW_COMPLETE")
    return [c.value for c in completion.get_completions(words[:-1], words[-1])]


def test_completion_offers_policy_names_and_grant_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    for name in ("groups", "orders-db-write", "prod-ssh"):
        (tmp_path / "policies" / f"{name}.yaml").write_text("x: 1\n")
    (tmp_path / "requests/active").mkdir(parents=True)
    (tmp_path / "requests/active/alice-prod-ssh-1.yaml").write_text("x: 1\n")
    assert _complete("request pro", tmp_path, monkeypatch) == ["prod-ssh"]
    assert _complete("request ", tmp_path, monkeypatch) == ["orders-db-write", "prod-ssh"]
    assert _complete("creds a", tmp_path, monkeypatch) == ["alice-prod-ssh-1"]
    assert _complete("revoke ", tmp_path, monkeypatch) == ["alice-prod-ssh-1"]
    assert _complete("sync --revoke ", tmp_path, monkeypatch) == ["alice-prod-ssh-1"]


def test_completion_is_documented() -> None:
    assert "_JITFLOW_COMPLETE=bash_source jitflow" in readme.readme_text()


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.cli.scenarios import make_base

    repo = make_base(tmp_path_factory.mktemp("conventions") / "access")
    repo.checkout("main")
    return repo.path


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (["policy", "test", "--repo", str(ROOT)], {"passed", "results"}),
        (["audit", "verify", "--now", "2026-11-22T10:00:00Z"], {"ok", "violations", "head"}),
        (["policy", "impact", "--base", "main", "--head", "main"], {"changed", "replayed"}),
        (
            [
                "request",
                "staging-readonly",
                "--reason",
                "read the staging secrets",
                "--as",
                "alice",
            ],
            {"id", "path", "branch", "commit", "pull_request"},
        ),
    ],
    ids=["policy-test", "audit-verify", "policy-impact", "request"],
)
def test_reporting_commands_print_json(base: Path, args: list[str], keys: set[str]) -> None:
    repo = [] if "--repo" in args else ["--repo", str(base)]
    result = CliRunner().invoke(cli, [*args, *repo, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert keys <= set(json.loads(result.stdout))


def test_sync_json_lists_the_plan() -> None:
    from jitflow.core.ledger import Action, Transition
    from jitflow.reporters.sync import sync_record
    from jitflow.usecases.sync.run_memory import SyncReport

    report = SyncReport(planned=[Transition(Action.EXPIRE, "alice-x", "expired at 10:00")])
    record = sync_record(report, dry_run=True)
    assert json.loads(json.dumps(record))["planned"] == [
        {"action": "expire", "id": "alice-x", "why": "expired at 10:00"}
    ]
