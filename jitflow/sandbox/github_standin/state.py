"""The stand-in's in-memory records: what GitHub keeps outside git.

These are mutable on purpose (a PR changes state over its life); every access
goes through the stand-in's single lock, so the HTTP threads never race.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def timestamp(moment: datetime | None = None) -> str:
    """GitHub's timestamp format: second precision, UTC, trailing Z."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ids:
    """Monotonic ids, one sequence per kind, so ids never collide within a kind."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, kind: str) -> int:
        start = {"user": 1001, "pull": 5001, "review": 80001, "comment": 90001}.get(kind, 10001)
        return next(self._counters.setdefault(kind, itertools.count(start)))


@dataclass
class User:
    id: int
    login: str
    token: str
    ssh_keys: list[tuple[int, str]]
    can_read_org: bool  # the token may read the organisation's teams (Members: read)
    kind: str = "User"  # or "Organization", or "Bot" (a GitHub App's installation)
    # A person's classic token without read:org sees no team (404, as GitHub hides what a
    # token can't read); integration tokens (GITHUB_TOKEN, an App's) are told 403.
    hides_teams: bool = False
    created_at: str = field(default_factory=timestamp)
    app_id: int | None = None  # the GitHub App a "Bot" acts for (rulesets' bypass actors)
    # Verified emails: a commit is attributed to this account when its email is one of these
    # (or the account's noreply address); any other email is linked to no account.
    emails: list[str] = field(default_factory=list)


@dataclass
class Activity:
    """One ref update GitHub records with the account that made it (GET .../activity)."""

    id: int
    ref: str  # refs/heads/<branch>
    before: str
    after: str
    actor: str | None
    activity_type: str  # push / force_push / branch_creation / branch_deletion / pr_merge
    timestamp: str


@dataclass
class Team:
    id: int
    org: str
    slug: str
    members: set[str]


@dataclass
class Review:
    id: int
    user: str
    state: str  # APPROVED / CHANGES_REQUESTED / COMMENTED / DISMISSED / PENDING
    body: str
    commit_id: str
    submitted_at: str | None


@dataclass
class TimelineEvent:
    """What happened to a PR, in order (the webhook deliveries GitHub would send)."""

    event: str  # opened / synchronize / reviewed / dismissed / edited / closed / merged
    at: str
    actor: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class IssueEvent:
    """One entry of `GET /issues/{n}/events` (e.g. `base_ref_changed`), with who and when."""

    id: int
    event: str
    actor: str
    created_at: str


@dataclass
class Pull:
    number: int
    id: int
    author: str
    head_ref: str
    base_ref: str
    title: str
    body: str
    head_sha: str
    base_sha: str
    created_at: str
    updated_at: str
    state: str = "open"
    draft: bool = False
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    # Frozen at merge time: the base commit the PR was merged onto.
    merged_base_sha: str | None = None
    # The commits the merge put on the base branch (the merge/squash commit, or each
    # rebased commit); GitHub associates them all with the PR.
    landed_commits: tuple[str, ...] = ()
    reviews: list[Review] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    issue_events: list[IssueEvent] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: str
    updated_at: str


@dataclass
class Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class Fault:
    """A fault-injection rule: the next `times` matching requests fail with `status`."""

    method: str
    path_regex: str
    status: int
    times: int
    headers: dict[str, str]


@dataclass
class Store:
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    # Actions settings of the repository: variable -> (value, set at); secret -> set at
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    tips: dict[str, str] = field(default_factory=dict)  # branch -> sha last seen
    ids: Ids = field(default_factory=Ids)
    next_number: int = 1
    # Every login ever registered here (lower-cased): one registered again after a rename
    # belongs to a new account with a new id (accounts.py).
    used_logins: set[str] = field(default_factory=set)

    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.token == token), None)

    def review(self, pull: Pull, review_id: int) -> Review | None:
        return next((r for r in pull.reviews if r.id == review_id), None)
