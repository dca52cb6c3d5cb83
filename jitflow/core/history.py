"""Turning a stream of parsed commits into per-request trails (pure, no I/O).

The reader feeds commits newest first in topological order (every commit after all of its
children), so a request's life arrives backwards: end, issue, merge, then the PR branch commit
that first added `requests/<id>.yaml`. A trail is complete -- and leaves memory -- once its
first commit is seen, so memory stays bounded by the requests in flight, not by history. (`jitflow.core.audit_rows` turns trails into report rows.)

Evidence of a break-glass post-hoc review is a runner commit on main whose message carries
the trailers `Jitflow-Event: post-review`, `Jitflow-Request: <id>` and `Jitflow-Reviewed-By:
<login>` (or `Jitflow-Approved-By:`), or a top-level `post_review: {by: <login>, at: <ISO>}`
block in the request's archive record. The reviewer must not be the requester and the review
must land within the policy's `break_glass.post_review_within` after issue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from jitflow.core import times

REQUEST_PATH = re.compile(r"^requests/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
ACTIVE_PATH = re.compile(r"^requests/active/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
ARCHIVE_PATH = re.compile(r"^requests/archive/\d{4}/\d{2}/([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$")
# The three at once (a path is at most one of them), the id in group 1, 2 or 3 as it is one.
_ARCHIVE, _ACTIVE, _REQUEST = 1, 2, 3
LEDGER_PATH = re.compile(
    r"^requests/(?:archive/\d{4}/\d{2}/([A-Za-z0-9][A-Za-z0-9._-]*)"
    r"|active/([A-Za-z0-9][A-Za-z0-9._-]*)|([A-Za-z0-9][A-Za-z0-9._-]*))\.yaml$"
)
# A trailer key is ASCII, so a message whose trailers hold `jitflow-event` (in any case)
# contains it: messages without it need no trailer parsing to know they carry no event.
_EVENT_KEY = re.compile("jitflow-event", re.IGNORECASE)
_PR_NUMBER = re.compile(r"^Merge pull request #(\d+)\b|\(#(\d+)\)\s*$")


# FileChange, Commit and CommitRef are named tuples, not dataclasses: an audit builds one per
# commit and per changed path over the whole history, and a tuple is several times cheaper.
class FileChange(NamedTuple):
    """One path a commit changed (renames are reported as delete + add)."""

    status: str  # A, M, D, T
    path: str
    old_blob: str
    new_blob: str


class Commit(NamedTuple):
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


class CommitRef(NamedTuple):
    """Who made a commit and when: the evidence a report row points at."""

    sha: str
    at: datetime
    name: str
    email: str


class _Read(NamedTuple):
    """One commit as the folder read it: the commit, its reference, its trailers (None when
    not read yet: only commits that record an event or add a ledger file need them)."""

    commit: Commit
    ref: CommitRef
    trailers: Mapping[str, str] | None


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
    warnings: list[CommitRef] = field(default_factory=list)  # the runner's expiry warnings

    @property
    def is_on_main(self) -> bool:
        return bool(self.merge or self.issue or self.end or self.foreign_writes)


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a message's last paragraph (git's trailer block)."""
    # The text is stripped, so what precedes the last blank line is never blank itself.
    _, blank, last = message.strip().rpartition("\n\n")
    if not blank or ":" not in last:
        return {}
    trailers: dict[str, str] = {}
    for line in last.splitlines():  # `Key: value`, the key made of letters, digits and dashes
        key, colon, value = line.strip().partition(":")
        if colon and key.isascii() and key.replace("-", "a").isalnum():
            trailers[key.lower()] = value.strip()
    return trailers


def pr_number(subject: str) -> int | None:
    """The PR number GitHub writes into merge and squash commit subjects."""
    match = _PR_NUMBER.search(subject)
    if not match:
        return None
    return int(match.group(1) or match.group(2))


_NOREPLY = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


def login_matches(ref: CommitRef, login: str) -> bool:
    """Whether a commit is attributable to a GitHub login (name or noreply email)."""
    match = _NOREPLY.match(ref.email)
    wanted = login.lower()
    return ref.name.lower() == wanted or bool(match and match.group(1).lower() == wanted)


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
        read = _Read(commit, ref, _trailers_if_event(commit))
        trailers = read.trailers
        if trailers:
            event = trailers.get("jitflow-event")
            if event == "post-review":  # (only on main: _trailers_if_event)
                self._post_review(commit, ref, trailers)
            elif event == "warn" and self._by_runner(commit):
                for request_id in split_list(trailers.get("jitflow-request", "")):
                    self._trail(request_id).warnings.append(ref)
        done: list[RequestTrail] = []
        revokes: bool | None = None  # whether the commit only deletes active files; read once
        for change in commit.changes:
            match = LEDGER_PATH.match(change.path)
            if match is None:
                continue
            where, request_id = match.lastindex, match[match.lastindex or 0]
            if where == _ACTIVE and change.status == "D":
                if revokes is None:
                    revokes = _deletes_only_active(commit)
                if revokes:
                    self._revocation(read, change, request_id)
                    continue
            if where == _REQUEST:
                if finished := self._request_change(commit, ref, change, request_id):
                    done.append(finished)
            else:
                self._ledger_change(read, change, request_id, where == _ARCHIVE)
        return done

    def _revocation(self, read: _Read, change: FileChange, request_id: str) -> None:
        commit, ref, _ = read
        trail = self._trail(request_id)
        if commit.on_main:
            trail.revocation = trail.revocation or ref
            trail.record_blob = trail.record_blob or change.old_blob
        elif trail.revocation is None:
            trail.foreign_writes.append(_foreign(commit, change))

    def _post_review(self, commit: Commit, ref: CommitRef, trailers: Mapping[str, str]) -> None:
        """Evidence counts when the runner recorded it (from the approver's review on GitHub;
        `audit verify` checks the runner's signature): a commit claiming to be the reviewer's
        proves nothing, since its author is free text and a rebase merge keeps it on main."""
        reviewer = trailers.get("jitflow-reviewed-by") or trailers.get("jitflow-approved-by") or ""
        if not reviewer or not self._by_runner(commit):
            return
        at = parse_time(trailers.get("jitflow-reviewed-at"))
        review = ref if at is None else CommitRef(ref.sha, min(at, ref.at), ref.name, ref.email)
        for request_id in split_list(trailers.get("jitflow-request", "")):
            self._trail(request_id).post_reviews.append((review, reviewer))

    def _ledger_change(
        self, read: _Read, change: FileChange, request_id: str, archive: bool
    ) -> None:
        commit, ref, trailers = read
        trail = self._trail(request_id)
        if not self._by_runner(commit):
            trail.foreign_writes.append(_foreign(commit, change))
        if change.status == "D" or not commit.on_main:
            return
        trail.record_blob = trail.record_blob or change.new_blob
        if change.status != "A" or (archive and trail.end is not None):
            return
        if trailers is None:  # no Jitflow-Event key: its trailers were not read yet
            trailers = parse_trailers(commit.message)
        if archive:
            trail.end = ref
            trail.end_event = trailers.get("jitflow-event", "")
        else:
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

    def take_open(self) -> dict[str, RequestTrail]:
        """The trails still open, all of them (an incremental audit continues them into
        what it read before)."""
        rest, self._open = self._open, {}
        return rest

    def finish(self) -> list[RequestTrail]:
        """The trails still open when history ran out (odd shapes, forged ledger files)."""
        rest = [t for t in self._open.values() if t.is_on_main]
        self._open.clear()
        return rest


def continue_trail(newer: RequestTrail, older: RequestTrail) -> RequestTrail | None:
    """The trail the fold would have built had it read `newer`'s commits and then `older`'s
    (an open trail from new commits continuing one completed before them); None for the
    shapes where the fold's outcome depends on the interleaving (the caller then rereads
    the whole history)."""
    if newer.merge is not None or newer.requested is not None:
        return None  # a request (re-)added in the new commits: not a continuation
    if newer.revocation and not older.revocation and older.foreign_writes:
        return None  # an off-main active delete counts as foreign only before a revocation
    issue, issue_trailers = (
        (older.issue, older.issue_trailers) if older.issue else (newer.issue, newer.issue_trailers)
    )
    end, end_event = (newer.end, newer.end_event) if newer.end else (older.end, older.end_event)
    return RequestTrail(
        id=older.id,
        requested=older.requested,
        merge=older.merge,
        merge_parents=older.merge_parents,
        merge_pr=older.merge_pr,
        request_blob=older.request_blob,
        issue=issue,
        issue_trailers=issue_trailers,
        end=end,
        end_event=end_event,
        revocation=newer.revocation or older.revocation,
        record_blob=newer.record_blob or older.record_blob,
        post_reviews=newer.post_reviews + older.post_reviews,
        foreign_writes=newer.foreign_writes + older.foreign_writes,
        modified_after_merge=newer.modified_after_merge + older.modified_after_merge,
        warnings=newer.warnings + older.warnings,
    )


def _trailers_if_event(commit: Commit) -> dict[str, str] | None:
    """A main-line commit's trailers when its message may carry a `Jitflow-Event` (the events
    the fold reads are main's), else None."""
    if commit.on_main and _EVENT_KEY.search(commit.message):
        return parse_trailers(commit.message)
    return None


def _deletes_only_active(commit: Commit) -> bool:
    """Whether every change of the commit deletes an active grant file (a revocation)."""
    return bool(commit.changes) and all(
        c.status == "D" and ACTIVE_PATH.match(c.path) for c in commit.changes
    )


def _foreign(commit: Commit, change: FileChange) -> ForeignWrite:
    return ForeignWrite(commit.sha, change.path, commit.author_email, commit.committer_email)


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_time(value: object) -> datetime | None:
    """A ledger timestamp (`2026-11-22T10:00:05Z`) as UTC, or None when absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    return times.parse_time_or_none(value)
