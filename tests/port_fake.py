"""A plain-struct stand-in for the `PullFacts` port (like policy-bot's `pulltest.Context`):
tests fill in the answers GitHub would give, and the decision code can't tell the difference."""

from __future__ import annotations

from dataclasses import dataclass, field

from jitflow.core.model import PullRequestFacts
from jitflow.errors import GitHubError
from jitflow.usecases.port import PullFacts


@dataclass
class FakePullFacts:
    pulls: dict[int, PullRequestFacts] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)
    teams: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    unreadable_teams: set[tuple[str, str]] = field(default_factory=set)
    comments: list[tuple[int, str, str]] = field(default_factory=list)

    def pull_request(self, number: int) -> PullRequestFacts:
        if number not in self.pulls:
            raise GitHubError(f"no pull request #{number}")
        return self.pulls[number]

    def pulls_for_commit(self, sha: str) -> list[int]:
        return list(self.commit_pulls.get(sha, []))

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        return [n for n, p in self.pulls.items() if p.state == "open" and p.head_sha == sha]

    def ssh_public_keys(self, login: str) -> list[str]:
        return list(self.keys.get(login, []))

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        if (org, slug) in self.unreadable_teams:
            raise GitHubError(f"can't read team {org}/{slug}")
        return login in self.teams.get((org, slug), set())

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        self.comments.append((number, marker, body))
        return len(self.comments)


def as_port(fake: FakePullFacts) -> PullFacts:
    """Checked by mypy: the fake answers exactly the port's questions."""
    return fake
