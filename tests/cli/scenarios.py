"""Shared scenario helpers: the base repository every check scenario branches from, and a
way to run `jitflow check` in-process and read its JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from jitflow.cli import cli
from tests.gitrepo import GitRepo, example_policy_files

NOW = "2026-11-22T10:00:00Z"

ACTIVE_CAROL = "carol-orders-db-write-20261121-act1"
ARCHIVED = "alice-staging-readonly-20261015-arc1"
PENDING = "dave-k8s-prod-admins-20261121-pen1"

GOOD_REQUEST = """\
policy: staging-readonly
requester: alice
duration: 2h
reason: read the staging secrets to debug the checkout flow
"""


def request_yaml(**fields: object) -> str:
    """A request file with the given top-level values written as plain YAML scalars."""
    lines = []
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def base_files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = dict(example_policy_files())
    files["requests/.gitkeep"] = ""
    files[f"requests/{PENDING}.yaml"] = (
        "policy: k8s-prod-admins\nrequester: dave\nreason: rotate the ingress certificates\n"
    )
    files[f"requests/active/{ACTIVE_CAROL}.yaml"] = (
        "policy: orders-db-write\nrequester: carol\nduration: 30m\n"
        "reason: fix the stuck refunds in the orders table\nticket: INC-1\n"
        "grant:\n  kind: database\n  issued_at: '2026-11-22T09:50:00Z'\n"
        "  expires_at: '2026-11-22T10:20:00Z'\n"
    )
    files[f"requests/archive/2026/10/{ARCHIVED}.yaml"] = (
        "policy: staging-readonly\nrequester: alice\nreason: old one\n"
        "ended:\n  at: '2026-10-15T12:00:00Z'\n  reason: expired\n"
    )
    files["README.md"] = "# access\n"
    files[".github/workflows/check.yml"] = "name: check\n"
    return files


def make_base(path: Path) -> GitRepo:
    repo = GitRepo.create(path)
    repo.commit(base_files(), branch="main", author="admin", message="base")
    return repo


@dataclass(frozen=True)
class CheckRun:
    exit_code: int
    stdout: str
    stderr: str
    result: Result

    @property
    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stdout)
        return loaded

    def all_findings(self) -> list[dict[str, Any]]:
        data = self.json
        return [*data["findings"], *(f for r in data["requests"] for f in r["findings"])]

    def codes(self) -> set[str]:
        return {f["code"] for f in self.all_findings()}

    def finding(self, code: str) -> dict[str, Any]:
        matches = [f for f in self.all_findings() if f["code"] == code]
        assert matches, f"no {code} finding in {self.all_findings()}"
        return matches[0]


def run_cli(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def check(
    repo: GitRepo,
    head: str,
    author: str = "alice",
    *,
    base: str = "main",
    output_format: str = "json",
    now: str = NOW,
    env: dict[str, str] | None = None,
) -> CheckRun:
    args = ["check", "--repo", str(repo.path), "--base", base, "--head", head]
    if author:
        args += ["--author", author]
    args += ["--now", now, "--format", output_format]
    result = run_cli(args, env=env)
    return CheckRun(result.exit_code, result.stdout, result.stderr, result)
