"""CLI start-up stays light: no Vault, GitHub or YAML library is imported unless used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _fresh_python(code: str, *args: str) -> str:
    """What `code` prints in a new interpreter (nothing imported before it runs)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from jitflow.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(','.join(m for m in ('github', 'hvac', 'yaml', 'jsonschema', 'pyrage', 'requests') if m in sys.modules))\n"
    )
    assert _fresh_python(probe).strip() == ""


def test_every_command_has_help() -> None:
    from click.testing import CliRunner

    from jitflow.cli import cli

    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert command.help, f"{name} has no help text"


# What a hot command must not load. sync runs every five minutes and on every merge, check on
# every PR event, audit over the whole history: none of them pays for another command's code.
# (Module sets, not timings: bench/scale_bench.py and bench/access_bench.py print the times.)
_REPORTS = ("jitflow.reporters.audit_html", "jitflow.usecases.audit.evidence", "jinja2")
_SERVICES = ("github", "hvac", "requests", "jitflow.adapters.github", "jitflow.adapters.vault")
HOT_PATHS = {
    "sync": (["sync", "--dry-run"], (*_REPORTS, "jitflow.usecases.audit.verify")),
    "check": (
        ["check", "--base", "main", "--head", "main"],
        (*_REPORTS, *_SERVICES, "jitflow.usecases.sync"),
    ),
    "audit": (
        ["audit", "--format", "json"],
        (*_REPORTS, *_SERVICES, "jsonschema", "yaml", "jitflow.core.model"),
    ),
}

_PROBE = """
import json, sys
from click.testing import CliRunner
from jitflow.cli import cli
args, unwanted = json.loads(sys.argv[1])
result = CliRunner().invoke(cli, args, env={"VAULT_ADDR": None, "GITHUB_TOKEN": None})
print(json.dumps([result.exit_code, result.output, [m for m in unwanted if m in sys.modules]]))
"""


@pytest.mark.parametrize("command", sorted(HOT_PATHS))
def test_a_hot_command_loads_only_what_it_uses(command: str, tmp_path: Path) -> None:
    """sync gets as far as its Vault settings (every module of its path imported), check and
    audit run to the end on a one-commit repository."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    (tmp_path / "README").write_text("x\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=a", "-c", "user.email=a@example.com"]
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    args, unwanted = HOT_PATHS[command]
    probe = json.dumps([[*args, "--repo", str(tmp_path)], unwanted])
    exit_code, output, loaded = json.loads(_fresh_python(_PROBE, probe))
    expected_exit = {"sync": 2, "check": 1, "audit": 0}[command]  # sync: VAULT_ADDR not set
    assert exit_code == expected_exit, output
    assert loaded == []


def test_a_github_gateway_loads_pygithub_only_when_it_first_asks() -> None:
    """A sync with nothing to ask GitHub (nothing pending or due) never loads PyGithub."""
    probe = (
        "import sys\n"
        "from jitflow.adapters.github import GitHubGateway\n"
        "env = {'GITHUB_TOKEN': 't', 'GITHUB_REPOSITORY': 'o/r', 'GITHUB_API_URL': 'http://127.0.0.1:9'}\n"
        "with GitHubGateway.from_env(env) as gateway:\n"
        "    before = 'github' in sys.modules\n"
        "    gateway._repo_obj()  # lazy in PyGithub too: no request\n"
        "    print(before, 'github' in sys.modules)\n"
    )
    assert _fresh_python(probe).split() == ["False", "True"]
