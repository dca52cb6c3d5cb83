"""`jitflow request --open`: push the request branch and open its pull request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from jitflow.adapters.git import Git
from jitflow.core.durations import format_duration

if TYPE_CHECKING:
    from jitflow.usecases.request import CreatedRequest


def pull_request_text(created: CreatedRequest) -> tuple[str, str]:
    """Title and body generated from the request (the comment by check says the rest)."""
    decision = created.decision
    request, policy = decision.request, decision.policy
    assert request is not None and policy is not None
    duration = format_duration(decision.duration) if decision.duration else "the default"
    title = f"Access request: {policy.name} for {request.requester} ({duration})"
    lines = [
        f"**{request.requester}** requests **{policy.name}** for **{duration}**.",
        "",
        f"- Grants: {policy.grant.describe()}",
        f"- Reason: {request.reason}",
    ]
    if request.ticket:
        lines.append(f"- Ticket: {request.ticket}")
    lines += [
        "",
        f"Request file: `{created.path}`. jitflow's check will comment with what is still needed.",
    ]
    return title, "\n".join(lines)


def open_request_pr(
    repo: Path, created: CreatedRequest, remote: str = "origin", base: str = "main"
) -> str:
    from jitflow.adapters.github import GitHubGateway

    git = Git(repo)
    git.run("push", "--quiet", remote, f"refs/heads/{created.branch}:refs/heads/{created.branch}")
    title, body = pull_request_text(created)
    with GitHubGateway.from_env(os.environ) as gateway:
        number = gateway.create_pull(created.branch, base, title, body)
        return f"pull request #{number} ({gateway.repository})"
