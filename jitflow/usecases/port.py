"""The typed port through which the gate and sync ask GitHub for a PR's facts.

Modelled on policy-bot's `pull.Context`: the decision may ask exactly these questions and no
others, so what decides a grant is visible in one place and a test can answer them with a
plain-struct fake (`tests/port_fake.py`). The GitHub adapter implements it; nothing here
imports an adapter.
"""

from __future__ import annotations

from typing import Protocol

from jitflow.core.model import PullRequestFacts


class PullFacts(Protocol):
    """What deciding a request PR may ask GitHub (read only)."""

    def pull_request(self, number: int) -> PullRequestFacts:
        """The PR: author, base (branch and commit) and head, files, commits with the
        identities GitHub resolves, reviews with their commit and time, and the merge facts
        (merged, merged_at, merged_by, merge_commit_sha as GitHub reports them)."""
        ...

    def pulls_for_commit(self, sha: str) -> list[int]:
        """Merged PRs GitHub associates with commit `sha` (merge, squash, rebased copies)."""
        ...

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        """Open PRs whose head is `sha` (merge queue entries)."""
        ...

    def ssh_public_keys(self, login: str) -> list[str]:
        """The SSH public keys @login publishes on GitHub."""
        ...

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """Whether @login is an active member of org/slug; raises when it can't be read."""
        ...


class Commenter(Protocol):
    """Writing the one jitflow comment per marker on a PR."""

    def upsert_comment(self, number: int, marker: str, body: str) -> int: ...


class GatePort(PullFacts, Commenter, Protocol):
    """The gate: the decision's facts, plus posting its statuses and comment."""

    def set_status(
        self,
        sha: str,
        context: str,
        state: str,
        description: str,
        target_url: str | None = None,
    ) -> None: ...


class SyncPort(PullFacts, Commenter, Protocol):
    """Sync: the decision's facts, plus telling the PR what happened."""
