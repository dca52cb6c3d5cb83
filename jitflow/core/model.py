"""Domain values: frozen dataclasses and enums, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from jitflow.core.kinds import GrantKind as GrantKind  # re-exported: the model's kinds


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Location:
    """Where in a file something is: 1-based line and column."""

    path: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Finding:
    """One reason a request or a change is refused (or a warning about it).

    `code` is stable and documented; `message` is for people.
    """

    code: str
    message: str
    path: str = ""
    line: int = 0
    column: int = 0
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class GrantSpec:
    """What Vault issues for a policy."""

    kind: GrantKind
    mount: str = ""
    role: str = ""
    policies: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    group: str = ""
    wrap_ttl: timedelta = timedelta(hours=1)
    # secret: where and how the grant's own token reads it; every parameter is the policy's
    path: str = ""
    method: str = "GET"
    params: tuple[tuple[str, str], ...] = ()
    ttl_param: str = ""  # the parameter jitflow sets to the grant's remaining seconds
    revocable: bool = True  # False: revoking the lease does not end the secret's validity

    def describe(self) -> str:
        if self.kind is GrantKind.SECRET:
            return f"secret read with {self.method} {self.path}"
        if self.kind is GrantKind.VAULT_TOKEN:
            return f"vault-token with policies {', '.join(self.policies) or '(none)'}"
        if self.kind is GrantKind.IDENTITY_GROUP:
            return f"identity-group membership in {self.group}"
        if self.kind is GrantKind.SSH:
            return f"ssh certificate from {self.mount}/{self.role} for {', '.join(self.principals)}"
        return f"{self.kind.value} credentials from {self.mount}/{self.role}"


@dataclass(frozen=True)
class Principals:
    """A set of people: GitHub logins and named groups."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    oncall: tuple[str, ...] = ()  # rotations of policies/rotations.yaml: whoever is on call

    def describe(self) -> str:
        parts = [f"group {g}" for g in self.groups] + [f"@{u}" for u in self.users]
        parts += [f"whoever is on call in {r}" for r in self.oncall]
        return ", ".join(parts) or "nobody"


@dataclass(frozen=True)
class ApprovalRule:
    count: int
    approvers: Principals


@dataclass(frozen=True)
class BreakGlass:
    allowed: bool = False
    max_duration: timedelta | None = None
    post_review_within: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ExtensionRule:
    """How a policy's grants may be extended (`extension:`)."""

    total_max: timedelta  # from the grant's first issue to its final end
    self_approve_up_to: timedelta | None = None  # the requester alone may extend by this much


DEFAULT_WARN_BEFORE = timedelta(minutes=10)


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    grant: GrantSpec
    default_duration: timedelta
    max_duration: timedelta
    requesters: Principals
    approval_rules: tuple[ApprovalRule, ...]
    allow_self_approval: bool = False
    reason_min_length: int = 0
    ticket_required: bool = False
    ticket_pattern: str | None = None
    active_per_requester: int | None = None
    max_start_ahead: timedelta = timedelta(days=7)
    break_glass: BreakGlass = BreakGlass()
    path: str = ""
    extension: ExtensionRule | None = None  # None: grants of this policy can't be extended
    warn_before: timedelta = DEFAULT_WARN_BEFORE  # the expiry warning's lead
    oncall_waives: tuple[str, ...] = ()  # rotations whose on-call requester needs no approval


@dataclass(frozen=True)
class Request:
    """A request file as written by the requester (fields as in the file)."""

    id: str
    path: str
    policy: str
    requester: str
    duration: timedelta | None
    duration_text: str
    reason: str
    ticket: str | None = None
    start: datetime | None = None
    ssh_public_key: str | None = None
    break_glass: bool = False
    extends: str | None = None  # the id of the active grant this request extends
    locations: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)

    def where(self, key: str) -> Location:
        return self.locations.get(key) or self.locations.get("", Location(self.path, 1, 1))

    def finding(self, code: str, key: str, message: str) -> Finding:
        """A finding about this request, placed at `key` of its file ("" for the file)."""
        loc = self.where(key)
        return Finding(code, message, loc.path, loc.line, loc.column)


@dataclass(frozen=True)
class OnCallOverride:
    """Someone else holds a rotation in [start, end) (a swap, a holiday)."""

    login: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rotation:
    """A weekly on-call rotation: `members` in turn, each for one week from a hand-off at
    `handoff` local time in `timezone`, the first on `start`; overrides win (the last listed)."""

    name: str
    members: tuple[str, ...]
    start: date
    handoff: time
    timezone: str
    overrides: tuple[OnCallOverride, ...] = ()


@dataclass(frozen=True)
class Account:
    """A GitHub account as GitHub reports it now: the login can change, the id never does."""

    login: str
    id: int
    created_at: datetime | None
    kind: str  # User / Organization / Bot


@dataclass(frozen=True)
class Groups:
    """Named groups of GitHub logins (and `github-team:org/slug` references)."""

    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: bool = False  # no policies/groups.yaml at all (every group is empty)
    # policies/rotations.yaml at the same commit, and who was on call in each rotation at the
    # decision's time (`core.oncall.at_time` fills it in; empty: nobody is on call)
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    on_call: Mapping[str, str] = field(default_factory=dict)
    # `github_ids:` of groups.yaml: each login named in policies, groups and rotations, by its
    # lower-cased login, with the GitHub account id it means (a login can change hands).
    github_ids: Mapping[str, int] = field(default_factory=dict)

    def of(self, name: str) -> tuple[str, ...]:
        return self.members.get(name, ())


class ChangeStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type-changed"


@dataclass(frozen=True)
class ChangedFile:
    """One file in a change set (a git diff or a PR's file list)."""

    path: str
    status: ChangeStatus
    mode: str = "100644"
    previous_path: str | None = None


class ReviewState(StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class Review:
    reviewer: str
    state: ReviewState
    commit_sha: str
    submitted_at: datetime
    reviewer_id: int | None = None  # the reviewer's GitHub account id (None: not reported)


@dataclass(frozen=True)
class ActiveGrant:
    """A grant currently active, as far as evaluation needs to know."""

    id: str
    policy: str
    requester: str
    expires_at: datetime | None = None
    started_at: datetime | None = None  # the first issue of the grant (before any extension)


@dataclass(frozen=True)
class PullCommit:
    """A commit on a PR branch, with the accounts GitHub ties it to.

    `author_login`/`committer_login` are None when the commit's email is linked to no
    account. `co_authors` are the `Co-authored-by:` trailers of the message as written
    ("Name <email>"): claims, not evidence. `verified` is GitHub's signature verdict.
    """

    sha: str
    author_login: str | None
    committer_login: str | None
    co_authors: tuple[str, ...] = ()
    verified: bool = False


@dataclass(frozen=True)
class Push:
    """One update of a branch (a PR's head, or main), with the account GitHub says made it."""

    actor: str | None  # None: an account GitHub no longer knows
    before: str
    after: str
    kind: str  # push / force_push / branch_creation / branch_deletion / pr_merge ...
    at: datetime | None = None  # GitHub's time of the update


@dataclass(frozen=True)
class PullRequestFacts:
    """Everything evaluation needs to know about a PR, independent of any GitHub library."""

    number: int
    author: str
    title: str
    state: str
    draft: bool
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    merged: bool = False
    merged_by: str | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    files: tuple[ChangedFile, ...] = ()
    reviews: tuple[Review, ...] = ()
    commits: tuple[PullCommit, ...] = ()
    # Who pushed to the head branch (GitHub's repository activity); None when not read.
    pushes: tuple[Push, ...] | None = None
    # When the PR was last retargeted onto another base branch (its `base_ref_changed` issue
    # event): a review before it saw a diff against another branch.
    base_changed_at: datetime | None = None
    author_id: int | None = None  # the PR author's GitHub account id (None: not reported)
