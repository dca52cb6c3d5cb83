"""A stand-in whose clones push over HTTP with a user's token, so GitHub records who pushed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git, remote_auth_env
from jitflow.sandbox.github_standin import GitHubStandIn
from tests.standin_helpers import make_bare_repo, pygithub


@dataclass
class Repo:
    standin: GitHubStandIn
    root: Path

    def clone_as(self, login: str) -> Git:
        """A clone whose pushes go over HTTP with @login's token (GitHub records @login)."""
        env = {
            "GIT_AUTHOR_NAME": login,
            "GIT_AUTHOR_EMAIL": f"{login}@example.test",
            "GIT_COMMITTER_NAME": login,
            "GIT_COMMITTER_EMAIL": f"{login}@example.test",
            "GIT_TERMINAL_PROMPT": "0",
            **remote_auth_env(
                {
                    "GITHUB_TOKEN": self.standin.token_for(login),
                    "GITHUB_SERVER_URL": self.standin.api_url,
                }
            ),
        }
        target = self.root / f"{login}-{len(list(self.root.iterdir()))}"
        Git(self.root, env=env).run("clone", "--quiet", self.standin.git_url, str(target))
        return Git(target, env=env)

    def pr(self, login: str, number: int) -> Any:
        return pygithub(self.standin, login).get_repo("acme/access").get_pull(number)


def started(tmp_path: Path) -> Iterator[Repo]:
    """The `repo` fixture (tests/github/conftest.py): alice, bob and carol on a stand-in."""
    bare = make_bare_repo(tmp_path)
    with GitHubStandIn(bare) as standin:
        for login in ("alice", "bob", "carol"):
            standin.add_user(login)
        work = tmp_path / "clones"
        work.mkdir()
        yield Repo(standin, work)
