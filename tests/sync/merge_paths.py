"""Building request PRs of several commits and landing them every way GitHub allows."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.core.times import format_time
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import POLICIES, World

_numbers = itertools.count(1)

LOOSE_OPS_READ = (
    POLICIES["policies/ops-read.yaml"]
    .replace(b"max: 2h", b"max: 8h")
    .replace(
        b"    - {count: 1, from: {groups: [leads]}}\n",
        b"    - {count: 1, from: {groups: [sre]}}\n  allow_self_approval: true\n",
    )
)


def new_id(author: str = "alice") -> str:
    return f"{author}-ops-read-m{next(_numbers):03d}-{os.getpid() % 1000}"


def request_body(
    author: str = "alice", duration: str = "30m", start: datetime | None = None
) -> bytes:
    text = (
        f"policy: ops-read\nrequester: {author}\nduration: {duration}\n"
        "reason: investigating the orders backlog for the incident\n"
    )
    if start is not None:
        text += f"start: {format_time(start)}\n"
    return text.encode()


def commit_steps(
    world: World,
    branch: str,
    steps: Sequence[Mapping[str, bytes | None]],
    author: str = "alice",
    base: str = "origin/main",
) -> list[str]:
    """One commit per step on a new `branch` from `base`, pushed; their shas."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", branch, base)
    env = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.github.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author}@users.noreply.github.com",
    }
    shas = []
    for number, files in enumerate(steps, start=1):
        for name, data in files.items():
            target = git.path / name
            if data is None:
                git.run("rm", "--quiet", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            git.run("add", name)
        git.run("commit", "--quiet", "-m", f"step {number}", env=env)
        shas.append(git.rev_parse("HEAD"))
    git.run("push", "--quiet", "--force", "origin", branch)
    return shas


def attack_steps(request_id: str) -> list[dict[str, bytes | None]]:
    """c1 loosens ops-read (self-approval, 8h), c2 adds an 8h request, c3 reverts c1."""
    policy = "policies/ops-read.yaml"
    return [
        {policy: LOOSE_OPS_READ},
        {f"requests/{request_id}.yaml": request_body(duration="8h")},
        {policy: POLICIES[policy]},
    ]


def push_to_main(world: World, files: Mapping[str, bytes | None], login: str = "alice") -> str:
    """A direct push to main (no PR), as an admin or a bypass actor can."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", "direct", "origin/main")
    for name, data in files.items():
        if data is None:
            git.run("rm", "--quiet", name)
        else:
            (git.path / name).write_bytes(data)
            git.run("add", name)
    env = {"GIT_AUTHOR_NAME": login, "GIT_AUTHOR_EMAIL": f"{login}@users.noreply.github.com"}
    git.run("commit", "--quiet", "-m", "direct edit", env={**env, **_committer(login)})
    git.run("push", "--quiet", "origin", "direct:main")
    return git.rev_parse("HEAD")


def _committer(login: str) -> dict[str, str]:
    return {"GIT_COMMITTER_NAME": login, "GIT_COMMITTER_EMAIL": f"{login}@users.noreply.github.com"}


def soon(minutes: int) -> datetime:
    """A whole-second UTC time `minutes` from now."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def verify_clean(world: World, now: datetime | None = None) -> None:
    """`audit verify` over main finds nothing wrong."""
    when = now or datetime.now(UTC) + timedelta(minutes=1)
    report = run_verify(VerifyOptions(repo=world.bare, ref="main", now=when))
    assert report.violations == (), report.violations


def main_head(world: World) -> str:
    return Git(world.bare).rev_parse("main")
