"""Turning a stream of parsed commits into per-request trails and audit rows (pure, no I/O).

The reader feeds commits newest first in topological order (every commit after all of its
children), so a request's life arrives backwards: end, issue, merge, then the PR branch commit
that first added `requests/<id>.yaml`. A trail is complete -- and leaves memory -- once its
first commit is seen, so memory stays bounded by the requests in flight, not by history.

Evidence of a break-glass post-hoc review is a commit on main whose message carries the
trailers `Jitflow-Event: post-review`, `Jitflow-Request: <id>` and `Jitflow-Reviewed-By:
<login>` (or `Jitflow-Approved-By:`), or a top-level `post_review: {by: <login>, at: <ISO>}`
block in the request's archive record. The reviewer must not be the requester and the review
must land within the policy's `break_glass.post_review_within` after issue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from jitflow.core import loading
from jitflow.core.approvals import members
from jitflow.core.model import Groups, Policy

REQUEST_PATH = re.compile(r"^requests/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
ACTIVE_PATH = re.compile(r"^requests/active/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
ARCHIVE_PATH = re.compile(r"^requests/archive/\d{4}/\d{2}/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
_PR_NUMBER = re.compile(r"^Merge pull request #(\d+)\b|\(#(\d+)\)\s*$")
_TRAILER = re.compile(r"^([A-Za-z0-9-]+):\s*(.*)$")


class Outcome(StrEnum):
    """Where a request's life stands, or how it ended."""

    WAITING = "waiting"  # merged, not issued yet (future start)
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class FileChange:
    """One path a commit changed (renames are reported as delete + add)."""

    status: str  # A, M, D, T
    path: str
    old_blob: str
    new_blob: str


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committer_email: str
    committed_at: datetime
    message: str
    changes: tuple[FileChange, ...]
    on_main: bool

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class CommitRef:
    """Who made a commit and when: the evidence a report row points at."""

    sha: str
    at: datetime
    name: str
    email: str


@dataclass(frozen=True)
class ForeignWrite:
    """A change to the runner-owned ledger folders by someone other than the runner."""

    sha: str
    path: str
    author_email: str
    committer_email: str


@dataclass
class RequestTrail:
    """Everything history says about one request id; mutable only while the fold builds it."""

    id: str
    requested: CommitRef | None = None
    merge: CommitRef | None = None
    merge_parents: tuple[str, ...] = ()
    merge_pr: int | None = None
    request_blob: str | None = None  # requests/<id>.yaml as merged
    issue: CommitRef | None = None
    issue_trailers: Mapping[str, str] = field(default_factory=dict)
    end: CommitRef | None = None
    end_event: str = ""
    revocation: CommitRef | None = None
    record_blob: str | None = None  # the newest ledger text: archive, active or request
    post_reviews: list[tuple[CommitRef, str]] = field(default_factory=list)
    foreign_writes: list[ForeignWrite] = field(default_factory=list)
    modified_after_merge: list[str] = field(default_factory=list)

    @property
    def is_on_main(self) -> bool:
        return bool(self.merge or self.issue or self.end or self.foreign_writes)


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a message's last paragraph (git's trailer block)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    trailers: dict[str, str] = {}
    for line in paragraphs[-1].splitlines():
        match = _TRAILER.match(line.strip())
        if match:
            trailers[match.group(1).lower()] = match.group(2).strip()
    return trailers


def pr_number(subject: str) -> int | None:
    """The PR number GitHub writes into merge and squash commit subjects."""
    match = _PR_NUMBER.search(subject)
    if not match:
        return None
    return int(match.group(1) or match.group(2))


class HistoryFolder:
    """Folds commits (newest first, topological) into completed request trails."""

    def __init__(self, runner_email: str) -> None:
        self.runner_email = runner_email.lower()
        self._open: dict[str, RequestTrail] = {}

    def _trail(self, request_id: str) -> RequestTrail:
        trail = self._open.get(request_id)
        if trail is None:
            trail = self._open[request_id] = RequestTrail(request_id)
        return trail

    def _by_runner(self, commit: Commit) -> bool:
        return (
            commit.author_email.lower() == self.runner_email
            and commit.committer_email.lower() == self.runner_email
        )

    def feed(self, commit: Commit) -> list[RequestTrail]:
        """Take one commit; return the trails it completed."""
        ref = CommitRef(commit.sha, commit.committed_at, commit.author_name, commit.author_email)
        trailers = parse_trailers(commit.message)
        if trailers.get("jitflow-event") == "post-review" and commit.on_main:
            reviewer = trailers.get("jitflow-reviewed-by") or trailers.get("jitflow-approved-by")
            for request_id in _split(trailers.get("jitflow-request", "")):
                self._trail(request_id).post_reviews.append((ref, reviewer or ""))
        deletes_only_active = bool(commit.changes) and all(
            c.status == "D" and ACTIVE_PATH.match(c.path) for c in commit.changes
        )
        done: list[RequestTrail] = []
        for change in commit.changes:
            if match := ARCHIVE_PATH.match(change.path):
                self._ledger_change(commit, ref, change, match.group(1), trailers, archive=True)
            elif match := ACTIVE_PATH.match(change.path):
                trail = self._trail(match.group(1))
                if change.status == "D" and deletes_only_active:
                    if commit.on_main:
                        trail.revocation = trail.revocation or ref
                        trail.record_blob = trail.record_blob or change.old_blob
                    elif trail.revocation is None:
                        trail.foreign_writes.append(_foreign(commit, change))
                    continue
                self._ledger_change(commit, ref, change, match.group(1), trailers, archive=False)
            elif match := REQUEST_PATH.match(change.path):
                finished = self._request_change(commit, ref, change, match.group(1))
                if finished:
                    done.append(finished)
        return done

    def _ledger_change(
        self,
        commit: Commit,
        ref: CommitRef,
        change: FileChange,
        request_id: str,
        trailers: Mapping[str, str],
        *,
        archive: bool,
    ) -> None:
        trail = self._trail(request_id)
        if not self._by_runner(commit):
            trail.foreign_writes.append(_foreign(commit, change))
        if change.status == "D" or not commit.on_main:
            return
        trail.record_blob = trail.record_blob or change.new_blob
        if archive and change.status == "A" and trail.end is None:
            trail.end = ref
            trail.end_event = trailers.get("jitflow-event", "")
        elif not archive and change.status == "A":
            trail.issue = ref
            trail.issue_trailers = dict(trailers)

    def _request_change(
        self, commit: Commit, ref: CommitRef, change: FileChange, request_id: str
    ) -> RequestTrail | None:
        if commit.on_main:
            if change.status == "M":
                self._trail(request_id).modified_after_merge.append(commit.sha)
            if change.status != "A":
                return None
            trail = self._trail(request_id)
            trail.merge = ref
            trail.merge_parents = commit.parents
            trail.merge_pr = pr_number(commit.subject)
            trail.request_blob = change.new_blob
            trail.record_blob = trail.record_blob or change.new_blob
            if len(commit.parents) > 1:
                return None  # the PR branch commit that added it comes later
            trail.requested = ref
            return self._open.pop(request_id)
        branch_trail = self._open.get(request_id)
        if change.status != "A" or branch_trail is None or branch_trail.merge is None:
            return None
        branch_trail.requested = ref
        return self._open.pop(request_id)

    def finish(self) -> list[RequestTrail]:
        """The trails still open when history ran out (odd shapes, forged ledger files)."""
        rest = [t for t in self._open.values() if t.is_on_main]
        self._open.clear()
        return rest


def _foreign(commit: Commit, change: FileChange) -> ForeignWrite:
    return ForeignWrite(commit.sha, change.path, commit.author_email, commit.committer_email)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# -- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    request_commit: str = ""
    merge_commit: str = ""
    issue_commit: str = ""
    end_commit: str = ""
    revocation_commit: str = ""


@dataclass(frozen=True)
class AuditRow:
    """One request as the audit report shows it."""

    id: str
    requester: str
    policy: str
    kind: str
    resource: str
    reason: str
    ticket: str
    break_glass: bool
    requested_at: datetime | None
    approvers: tuple[str, ...]
    merged_at: datetime | None
    merged_by: str
    pr: int | None
    issued_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    outcome: Outcome
    ended_by: str
    outcome_detail: str
    evidence: Evidence

    def span(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The time the grant existed (or the request's moment when never issued)."""
        start = self.issued_at or self.merged_at or self.requested_at
        if start is None:
            return None
        end = self.ended_at or start
        if self.outcome in (Outcome.ACTIVE, Outcome.WAITING) and self.ended_at is None:
            end = max(now, self.expires_at or now)  # still running: at least until expiry
        return start, max(start, end)

    def overlaps(self, since: datetime | None, until: datetime | None, now: datetime) -> bool:
        span = self.span(now)
        if span is None:
            return since is None and until is None
        return (until is None or span[0] <= until) and (since is None or span[1] >= since)


def parse_time(value: object) -> datetime | None:
    """A ledger timestamp (`2026-11-22T10:00:05Z`) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime | None) -> str:
    """The ledger's timestamp form, or "" for a time that is not known."""
    return loading.format_time(value) if value else ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def describe_resource(grant: Mapping[str, Any]) -> str:
    """A short name of what was granted, used to group the timeline."""
    kind = _text(grant.get("kind"))
    if grant.get("group"):
        return f"group {grant['group']}"
    if grant.get("mount") or grant.get("role"):
        return "/".join(p for p in (_text(grant.get("mount")), _text(grant.get("role"))) if p)
    policies = grant.get("policies")
    if isinstance(policies, list) and policies:
        return "policies " + ",".join(str(p) for p in policies)
    return kind


def _resource(grant: Mapping[str, Any], policy: str) -> str:
    """What was granted; a kind with no mount/role/group (a vault token) is named by policy."""
    if not grant:
        return ""
    described = describe_resource(grant)
    return f"{described} ({policy})" if described == _text(grant.get("kind")) else described


def build_row(trail: RequestTrail, record: Mapping[str, Any] | None) -> AuditRow:
    """Combine a trail with its newest ledger record (archive, active or request text)."""
    data = _mapping(record)
    grant = _mapping(data.get("grant"))
    ended = _mapping(data.get("ended"))
    trailers = trail.issue_trailers
    if ended:
        outcome = _outcome(_text(ended.get("reason")) or trail.end_event)
    elif trail.end is not None:
        outcome = _outcome(trail.end_event)
    elif trail.revocation is not None:
        outcome = Outcome.REVOKED
    elif grant or trail.issue is not None:
        outcome = Outcome.ACTIVE
    else:
        outcome = Outcome.WAITING
    approvers = grant.get("approved_by")
    if not isinstance(approvers, list):
        approvers = _split(trailers.get("jitflow-approved-by", ""))
    findings = ended.get("findings")
    detail = ""
    if isinstance(findings, list):
        detail = "; ".join(
            f"{_text(_mapping(f).get('code'))}: {_text(_mapping(f).get('message'))}"
            for f in findings
        )
    ended_by = _text(ended.get("by"))
    if not ended_by and trail.revocation is not None:
        ended_by = trail.revocation.name
    pr = grant.get("pr", trail.merge_pr)
    return AuditRow(
        id=trail.id,
        requester=_text(data.get("requester")) or trailers.get("jitflow-requester", ""),
        policy=_text(data.get("policy")) or trailers.get("jitflow-policy", ""),
        kind=_text(grant.get("kind")),
        resource=_resource(grant, _text(data.get("policy"))),
        reason=_text(data.get("reason")),
        ticket=_text(data.get("ticket")),
        break_glass=data.get("break_glass") is True or grant.get("break_glass") is True,
        requested_at=trail.requested.at if trail.requested else None,
        approvers=tuple(str(a) for a in approvers),
        merged_at=parse_time(grant.get("merged_at")) or (trail.merge.at if trail.merge else None),
        merged_by=_text(grant.get("merged_by")) or (trail.merge.name if trail.merge else ""),
        pr=pr if isinstance(pr, int) else None,
        issued_at=parse_time(grant.get("issued_at")) or (trail.issue.at if trail.issue else None),
        expires_at=parse_time(grant.get("expires_at"))
        or parse_time(trailers.get("jitflow-expires")),
        ended_at=parse_time(ended.get("at"))
        or (trail.end.at if trail.end else None)
        or (trail.revocation.at if trail.revocation else None),
        outcome=outcome,
        ended_by=ended_by,
        outcome_detail=detail,
        evidence=Evidence(
            request_commit=trail.requested.sha if trail.requested else "",
            merge_commit=trail.merge.sha if trail.merge else "",
            issue_commit=trail.issue.sha if trail.issue else "",
            end_commit=trail.end.sha if trail.end else "",
            revocation_commit=trail.revocation.sha if trail.revocation else "",
        ),
    )


def _outcome(text: str) -> Outcome:
    aliases = {"expire": "expired", "revoke": "revoked", "deny": "denied", "fail": "failed"}
    try:
        return Outcome(aliases.get(text, text))
    except ValueError:
        return Outcome.EXPIRED if not text else Outcome.FAILED


# -- approval rules ---------------------------------------------------------------------


def approval_shortfalls(
    policy: Policy, groups: Groups, requester: str, approved_by: Sequence[str]
) -> list[str]:
    """Why recorded approvals don't satisfy the policy's rules (empty when they do).

    The requester never counts, except once per rule they are eligible for when the policy
    sets `allow_self_approval` (the same reading as `jitflow.core.approvals`). GitHub teams
    can't be resolved offline, so team members count for nobody here.
    """
    approvers = {a.lower() for a in approved_by}
    approvers.discard(requester.lower())
    problems = []
    for number, rule in enumerate(policy.approval_rules, start=1):
        eligible = members(rule.approvers, groups, {})
        got = approvers & eligible
        if policy.allow_self_approval and requester.lower() in eligible:
            got = got | {requester.lower()}
        if len(got) < rule.count:
            problems.append(
                f"rule {number} needs {rule.count} approval(s) from "
                f"{rule.approvers.describe()}; the record has {len(got)}"
            )
    return problems
