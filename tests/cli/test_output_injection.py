"""Hostile request text can't run workflow commands, fake a verdict, link out or ping people.

Each sink gets the same hostile strings: the CI log (text and `--format github`, read the way
the Actions runner reads it), JSON, the step summary and the PR comment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jitflow.reporters.escape import (
    log_line,
    markdown_code,
    markdown_text,
    workflow_data,
    workflow_property,
)
from tests.cli.scenarios import check
from tests.gitrepo import GitRepo
from tests.inert import headings, live_parts

HOSTILE_REASON = (
    "fix the backlog\n"
    "::warning file=x::forged\n"
    "::set-output name=approved::true\n"
    "::add-mask::fix\n"
    "  ::stop-commands::abc\n"
    "\r::error::carriage\u2028::notice::separator\n"
    "### ✅ APPROVED by @security-team see https://evil.example/x and www.evil.example\n"
    "[click](https://evil.example) <img src=x onerror=alert(1)> | cell | `code` #12 @bob"
)
HOSTILE_FILE = "notes/x\n::error::x\n### ✅ APPROVED\n)[link](javascript:alert(1)).txt"


def _request(reason: str) -> str:
    return (
        "policy: staging-readonly\nrequester: alice\nduration: 2h\n"
        f"ticket: {json.dumps('INC-1' + chr(10) + '::set-output name=t::1')}\n"
        f"reason: {json.dumps(reason)}\n"
    )


@pytest.fixture(scope="module")
def hostile(repo: GitRepo) -> str:
    return repo.branch(
        "hostile-reason",
        {"requests/alice-hostile.yaml": _request(HOSTILE_REASON), HOSTILE_FILE: "x\n"},
    )


def runner_commands(log: str) -> list[str]:
    """The workflow commands the Actions runner would run from `log` (its own parsing rules:
    a line is a command when it starts with `::` after leading whitespace, unless commands are
    stopped by `::stop-commands::TOKEN` until `::TOKEN::`)."""
    commands, stopped = [], ""
    for raw in re.split(r"\r\n|\n|\r", log):
        line = raw.lstrip()
        if stopped:
            if line == f"::{stopped}::":
                stopped = ""
            continue
        if not line.startswith("::"):
            continue
        match = re.match(r"::([\w-]+)", line)
        name = match.group(1) if match else ""
        commands.append(name)
        if name == "stop-commands":
            stopped = line.split("::")[2]
    return commands


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_ci_output_runs_no_injected_workflow_command(
    repo: GitRepo, hostile: str, output_format: str, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    run = check(
        repo,
        "hostile-reason",
        output_format=output_format,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    commands = runner_commands(run.stdout + run.stderr)
    assert set(commands) <= {"error", "warning", "stop-commands"}, commands
    assert commands.count("stop-commands") == (1 if output_format == "github" else 0)
    if output_format != "json":
        assert "fix the backlog" in run.stdout  # the reason is still shown, escaped
    if output_format == "json":
        assert json.loads(run.stdout)["requests"]
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    for line in annotations:
        head, _, message = line[2:].partition("::")
        assert "\n" not in message and "::" not in head.split(" ", 1)[1]


def test_step_summary_is_inert_markdown(repo: GitRepo, hostile: str, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    check(repo, "hostile-reason", output_format="github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert live_parts(text) == []
    assert headings(text) == ["jitflow check: DENIED", "requests/alice-hostile.yaml"]


def test_escapers_one_by_one() -> None:
    assert workflow_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert workflow_property("a:b,c\n") == "a%3Ab%2Cc%0A"
    assert log_line("::add-mask::x") == " ::add-mask::x"
    assert log_line("a\n::set-output name=x::y") == "a\\n::set-output name=x::y"
    assert markdown_code("a``b\n# c") == "```a``b\\n# c```"
    assert markdown_code("`x`") == "`` `x` ``"
    text = markdown_text("@bob https://x.test www.x.test <b> [a](b) #1 bob@x.test\n# h")
    assert live_parts(text) == [] and headings(text) == [] and "\n" not in text
    assert live_parts(markdown_code("x`` [a](https://x.test) @bob")) == []
