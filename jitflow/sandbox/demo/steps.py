"""The demo's steps both chapters take (the story and its extension chapter): what alice asks
for, the check as the workflow runs it, and one sync run as the workflow does it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from jitflow.sandbox.demo.progress import StepFailed
from jitflow.sandbox.demo.world import BOT, OWNER, REPO, DemoWorld

if TYPE_CHECKING:
    from jitflow.usecases.request import CreatedRequest, RequestOptions
    from jitflow.usecases.sync.run_memory import SyncReport


@dataclass(frozen=True)
class Ask:
    """One access request alice makes, and who may approve it under the example policies."""

    policy: str
    duration: str
    reason: str
    approver: str
    ticket: str | None = None
    needs_postgres: bool = False


@dataclass(frozen=True)
class OpenedRequest:
    ask: Ask
    request_id: str
    number: int
    head_sha: str


def gate_statuses(world: DemoWorld, number: int, action: str, now: datetime) -> dict[str, str]:
    """What `jitflow check --event` does in the workflow; returns the statuses it set."""
    from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
    from jitflow.usecases.gate import GateOptions, run_gate

    pull = world.standin.pull(number)
    event_name = "pull_request" if action == "opened" else "pull_request_review"
    event = {
        "action": action if action == "opened" else "submitted",
        "number": number,
        "pull_request": pull,
        "repository": {"full_name": f"{OWNER}/{REPO}", "name": REPO, "owner": {"login": OWNER}},
        "sender": {"login": pull["user"]["login"]},
    }
    path = world.workdir / f"event-{event_name}-{number}.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    world.runner.run("fetch", "--quiet", "origin")
    run_gate(
        GateOptions(world.runner.path, path, now, world.runner_env, feedback=PULL_REQUEST_FEEDBACK)
    )
    latest: dict[str, str] = {}
    for status in world.standin.statuses(str(pull["head"]["sha"])):
        latest.setdefault(str(status["context"]), str(status["state"]))
    return latest


def alice_opens_pull(world: DemoWorld, options: RequestOptions) -> tuple[CreatedRequest, int]:
    """What alice does to ask: fetch, `jitflow request`, push the branch, open the PR (its
    number)."""
    from jitflow.usecases.publish import pull_request_text
    from jitflow.usecases.request import create_request

    world.alice.run("fetch", "--quiet", "origin")
    created = create_request(options)
    ref = f"refs/heads/{created.branch}"
    world.alice.run("push", "--quiet", "origin", f"{ref}:{ref}")
    title, body = pull_request_text(created)
    with world.github_as("alice") as github:
        number = github.create_pull(created.branch, "main", title, body)
    return created, number


def run_sync_as_the_workflow(world: DemoWorld, now: datetime) -> SyncReport:
    from jitflow.usecases.sync import SyncOptions, run_sync

    with world.github_as(BOT) as github:
        options = SyncOptions(world.runner.path, now)
        report = run_sync(options, world.runner_vault(), github, world.runner_env)
    if report.errors:
        raise StepFailed("; ".join(report.errors))
    return report


def run_demo_sync(world: DemoWorld, now: datetime) -> list[tuple[str, str, str]]:
    """One sync run as the workflow does it, at `now`: what it did (event, id, detail)."""
    return run_sync_as_the_workflow(world, now).done
