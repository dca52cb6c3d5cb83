"""A request PR on the GitHub stand-in, evaluated by `check --event` as Actions would run it."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.check_report import CheckReport
from jitflow.errors import ExitCode
from jitflow.reporters.check import render_reports
from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.usecases.gate import GateOptions, run_gate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "mallory", "jitflow-bot")


@dataclass(frozen=True)
class GateRun:
    """What `check --event --format json` exits with and prints, and the reports behind it."""

    exit_code: ExitCode
    reports: tuple[CheckReport, ...]
    output: str


def seed_files() -> dict[str, bytes]:
    files = {f"policies/{p.name}": p.read_bytes() for p in POLICIES.glob("*.yaml")}
    files["requests/.gitkeep"] = b""
    return files


def request_yaml(requester: str = "alice", policy: str = "orders-db-write", **extra: str) -> bytes:
    fields = {
        "policy": policy,
        "requester": requester,
        "duration": "30m",
        "reason": "Fix stuck rows in orders.status for INC-4211",
        "ticket": "INC-4211",
        **extra,
    }
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items()).encode()


@dataclass
class Scenario:
    standin: GitHubStandIn
    bare: Path
    checkout: Path
    tmp: Path

    def __post_init__(self) -> None:
        # Like GitHub, serve commits by id even after a force-push left them unreachable.
        Git(self.bare).run("config", "uploadpack.allowAnySHA1InWant", "true")
        self.tokens = {login: self.standin.add_user(login) for login in USERS}
        self.work = Git(self.tmp / "author-work")
        Git(self.tmp).run("clone", "--quiet", str(self.bare), str(self.work.path))

    def commit(
        self, branch: str, files: Mapping[str, bytes | None], login: str = "alice", new: bool = True
    ) -> str:
        """Commit `files` on `branch` as `login` and push it to the stand-in's repository."""
        git = self.work
        if new:
            git.run("checkout", "--quiet", "-B", branch, "origin/main")
        else:
            git.run("checkout", "--quiet", branch)
        for path, content in files.items():
            target = git.path / path
            if content is None:
                git.run("rm", "--quiet", path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            git.run("add", path)
        identity = {
            "GIT_AUTHOR_NAME": login,
            "GIT_AUTHOR_EMAIL": f"{login}@users.noreply.github.com",
            "GIT_COMMITTER_NAME": login,
            "GIT_COMMITTER_EMAIL": f"{login}@users.noreply.github.com",
        }
        git.run("commit", "--quiet", "-m", f"change by {login}", env=identity)
        git.run("push", "--quiet", "--force", "origin", branch)
        return git.run("rev-parse", "HEAD")

    def open(self, branch: str, author: str = "alice") -> int:
        return self.standin.create_pull(author, branch, "main", title=f"Request from {author}")

    def event(self, kind: str, number: int, actor: str) -> Path:
        """A real GitHub example payload, pointed at this PR."""
        name = {
            "pull_request": "pull_request.synchronize.json",
            "pull_request_review": "pull_request_review.submitted.json",
        }[kind]
        payload: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / name).read_text()))
        pull = self.standin.pull(number)
        payload["pull_request"] = {
            **payload["pull_request"],
            **{k: pull[k] for k in ("number", "user", "head", "base", "state")},
        }
        payload["sender"] = {**payload["sender"], "login": actor}
        path = self.tmp / f"event-{kind}-{number}.json"
        path.write_text(json.dumps(payload))
        return path

    def run_check(
        self,
        number: int,
        kind: str = "pull_request",
        actor: str = "alice",
        extra_env: Mapping[str, str] | None = None,
    ) -> GateRun:
        checkout = Git(self.checkout)
        checkout.run("fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*")
        environ = {
            "GITHUB_TOKEN": self.tokens["jitflow-bot"],
            "GITHUB_API_URL": self.standin.api_url,
            "GITHUB_REPOSITORY": self.standin.full_name,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "42",
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
            **(extra_env or {}),
        }
        event = self.event(kind, number, actor)
        options = GateOptions(self.checkout, event, NOW, environ, feedback=PULL_REQUEST_FEEDBACK)
        result = run_gate(options)
        output = result.note + render_reports(result.reports, "json")
        return GateRun(result.exit_code, result.reports, output)

    def status(self, sha: str, context: str) -> dict[str, Any]:
        matching = [s for s in self.standin.statuses(sha) if s["context"] == context]
        assert matching, f"no status {context} on {sha}"
        return matching[0]

    def comment(self, number: int) -> str:
        bodies = [c["body"] for c in self.standin.comments(number) if "jitflow" in c["body"]]
        assert len(bodies) == 1, f"expected exactly one jitflow comment, got {len(bodies)}"
        return str(bodies[0])
