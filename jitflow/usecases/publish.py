"""`jitflow request [--open]`: write the request branch; with `--open`, push it and open its
pull request (everything `--open` needs is checked before the branch is written)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.branches import delete_branch
from jitflow.adapters.git.remote import delete_remote_branch, push_branch, remote_url
from jitflow.core.durations import format_duration
from jitflow.core.links import links_from_remote
from jitflow.errors import JitflowError, UsageError
from jitflow.usecases.request import CreatedRequest, RequestOptions, create_request


@dataclass(frozen=True)
class OpenOptions:
    """`--open`: push the branch to `remote`, open its PR into `into`, with the GitHub
    settings and token of `environ`."""

    remote: str
    into: str
    environ: Mapping[str, str]


@dataclass(frozen=True)
class PublishOptions:
    """`jitflow request`'s options: the request, and whether (and where) to open its PR."""

    request: RequestOptions
    open: OpenOptions | None = None


@dataclass(frozen=True)
class Published:
    """The request branch written, and its pull request when one was opened."""

    created: CreatedRequest
    pull_request: str | None = None


def publish_request(options: PublishOptions) -> Published:
    """Check what `--open` needs (before any side effect), write the request branch, then
    push it and open its PR."""
    opening = options.open
    repo = options.request.repo
    environ = prepare_open(repo, opening.remote, opening.environ) if opening else None
    created = create_request(options.request)
    if opening is None or environ is None:
        return Published(created)
    return Published(created, open_request_pr(repo, created, opening.remote, opening.into, environ))


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


def prepare_open(repo: Path, remote: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Check everything `--open` needs before the first side effect (no branch, no push):
    the remote, a token, the repository (from GITHUB_REPOSITORY or the remote's URL).
    Returns the environment the gateway is built from."""
    from jitflow.adapters.github.http import settings_from_env

    git = Git(repo)
    url = remote_url(git, remote)
    if url is None:
        raise UsageError(
            f"--open pushes to the git remote {remote!r}, which {repo} does not have "
            "(`git remote -v` lists them; pass --remote NAME); nothing was written"
        )
    if not environ.get("GITHUB_TOKEN", "").strip():
        raise UsageError(
            "--open needs a GitHub token to open the pull request: export "
            'GITHUB_TOKEN="$(gh auth token)" (or a token with pull-requests: write), or leave '
            "out --open and push the branch yourself; nothing was written"
        )
    env = dict(environ)
    if not env.get("GITHUB_REPOSITORY", "").strip():
        links = links_from_remote(url)
        if links is None:
            raise UsageError(
                f"can't tell the GitHub repository from remote {remote!r} "
                f"({url}): export GITHUB_REPOSITORY=owner/name; nothing was written"
            )
        env["GITHUB_REPOSITORY"] = "/".join(links.base.rsplit("/", 2)[-2:])
    settings_from_env(env)
    return env


def open_request_pr(
    repo: Path,
    created: CreatedRequest,
    remote: str = "origin",
    base: str = "main",
    environ: Mapping[str, str] | None = None,
) -> str:
    """Push and open the PR; on failure remove the branch again, so a retry starts clean."""
    from jitflow.adapters.github import GitHubGateway

    git = Git(repo)
    pushed = False
    try:
        push_branch(git, remote, created.branch)
        pushed = True
        title, body = pull_request_text(created)
        with GitHubGateway.from_env(environ if environ is not None else os.environ) as gateway:
            number = gateway.create_pull(created.branch, base, title, body)
            return f"pull request #{number} ({gateway.repository})"
    except JitflowError:
        if pushed:
            delete_remote_branch(git, remote, created.branch)
        delete_branch(git, created.branch)
        raise
