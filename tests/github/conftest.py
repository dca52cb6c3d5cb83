"""A GitHub stand-in shared by the adapter tests, plus a work clone to push branches from.

Every test makes its own branch and PR, so tests don't depend on each other's state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from jitflow.adapters.git import Git
from jitflow.adapters.github import GatewaySettings, GitHubGateway
from tests.github.http_repo import Repo, started

OWNER, REPO = "acme", "access"


@dataclass(frozen=True)
class World:
    """The stand-in, the people in it and a clone that pushes to its repository."""

    server: Any  # a GitHubStandIn
    clone: Git
    tokens: dict[str, str] = field(repr=False)  # secrets stay out of test output

    @property
    def api_url(self) -> str:
        return str(self.server.api_url)

    def gateway(self, user: str = "jitflow-bot", **options: Any) -> GitHubGateway:
        """A gateway acting as `user`, with test-speed backoff and no write pacing."""
        settings = GatewaySettings(self.tokens[user], f"{OWNER}/{REPO}", self.api_url)
        fast = {"backoff": 0.01, "min_write_interval": 0.0, **options}
        return GitHubGateway(replace(settings, **fast))


def _commit(clone: Git, author: str, committer: str, message: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.github.com",
        "GIT_COMMITTER_NAME": committer,
        "GIT_COMMITTER_EMAIL": f"{committer}@users.noreply.github.com",
    }
    clone.run("commit", "-q", "-m", message, env=env)
    return clone.rev_parse("HEAD")


@pytest.fixture(scope="session")
def github_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from jitflow.sandbox.github_standin import GitHubStandIn

    root = tmp_path_factory.mktemp("github-adapter")
    bare = root / "access.git"
    Git(root).run("init", "-q", "--bare", "-b", "main", str(bare))
    clone = Git(root / "work")
    Git(root).run("clone", "-q", str(bare), str(clone.path))
    clone.run("checkout", "-q", "-b", "main")
    for name in ("keep.yaml", "edit.yaml", "gone.yaml", "old-name.yaml"):
        (clone.path / "requests" / name).parent.mkdir(exist_ok=True)
        (clone.path / "requests" / name).write_text(f"id: {name}\nreason: a long enough reason\n")
    clone.run("add", "-A")
    _commit(clone, "alice", "alice", "initial")
    clone.run("push", "-q", "origin", "main")

    server = GitHubStandIn(bare, owner=OWNER, repo=REPO)
    server.start()
    try:
        tokens = {
            "alice": server.add_user("alice", ssh_keys=("ssh-ed25519 AAAAC3alice alice@laptop",)),
            "bob": server.add_user("bob"),
            "carol": server.add_user("carol"),
            "jitflow-bot": server.add_user("jitflow-bot", can_read_org=True),
            "no-org": server.add_user("no-org", can_read_org=False),
        }
        server.add_team(OWNER, "admins", ["bob"])
        yield World(server, clone, tokens)
    finally:
        server.stop()


_branch_numbers = itertools.count(1)


@pytest.fixture
def push_branch(github_world: World) -> Callable[..., tuple[str, str]]:
    """Push a branch off main: `changes(work_tree)` edits files; returns (branch, head sha)."""

    def push(
        changes: Callable[[Path], None], *, author: str = "alice", committer: str = "alice"
    ) -> tuple[str, str]:
        clone = github_world.clone
        branch = f"request-{next(_branch_numbers)}"
        clone.run("fetch", "-q", "origin", "main")
        clone.run("checkout", "-q", "-B", branch, "origin/main")
        changes(clone.path)
        clone.run("add", "-A")
        sha = _commit(clone, author, committer, f"change on {branch}")
        clone.run("push", "-q", "origin", branch)
        return branch, sha

    return push


_request_numbers = itertools.count(1)


def add_request(work: Path) -> None:
    """A change that adds a request file no other branch has."""
    number = next(_request_numbers)
    (work / "requests" / f"new-{number}.yaml").write_text(f"id: new-{number}\n")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    """A stand-in of its own whose clones push over HTTP as alice, bob or carol."""
    yield from started(tmp_path)
