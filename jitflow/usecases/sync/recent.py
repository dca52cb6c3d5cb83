"""The bounded look at main's recent history that sync needs besides the tree.

Two things can't be read from one tree: which commit added each pending request, and which
active files a revocation PR deleted that no run has archived yet. Both are found walking
main's first parents back from the tip, and the walk stops early:

- every runner commit carries `Jitflow-Unsettled:` (the deletions still unsettled at the base
  its run started from, or `none`), so deletions older than the newest runner commit are read
  from that trailer instead of from history;
- pending requests are recent: the walk goes on only until each one's adding commit is found.

So a run reads the commits since the last runner commit (or since the oldest pending request),
not years of ledger. A trailer can lie only if someone forges a runner commit on main: `audit
verify` re-derives every trailer from history (`checkpoint_lies`) and flags a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import (
    FirstParentCommit,
    first_parent_commits,
    first_parent_count,
    first_parents_oldest_first,
)
from jitflow.adapters.git.reading import archived_among
from jitflow.adapters.git.remote import deepen, is_shallow
from jitflow.core.changes import is_active_path, is_request_path
from jitflow.core.ledger import RevokedDeletion
from jitflow.core.loading import ARCHIVE_DIR, request_id_for
from jitflow.usecases.sync.review_trailer import AWAITING_TRAILER, parse_awaiting

CHECKPOINT_TRAILER = "Jitflow-Unsettled"
_NONE = "none"
# Commits read per `git log`, growing until the walk may stop; each retry re-reads what the
# previous one read, so the total is at most twice the commits the walk needs.
_PAGES = (64, 1024, 16384, 262144)


def checkpoint_trailer(deletions: Iterable[RevokedDeletion]) -> str:
    """The trailer line a run puts on each commit it writes: unsettled deletions at its base."""
    listed = ", ".join(f"{d.id} {d.commit}" for d in sorted(deletions, key=lambda d: d.id))
    return f"{CHECKPOINT_TRAILER}: {listed or _NONE}"


def parse_checkpoint(value: str) -> dict[str, str] | None:
    """Request id -> deletion commit from a trailer value; None when it is not one."""
    value = value.strip()
    if not value:
        return None
    if value == _NONE:
        return {}
    found: dict[str, str] = {}
    for item in value.split(","):
        request_id, _, sha = item.strip().partition(" ")
        if not request_id or len(sha) < 40 or not all(c in "0123456789abcdef" for c in sha):
            return None
        found[request_id] = sha
    return found


@dataclass(frozen=True)
class RecentHistory:
    added_by: dict[str, tuple[str, datetime | None]]  # pending id -> adding commit, its time
    deletion_candidates: dict[str, str]  # id -> newest commit deleting requests/active/<id>
    commits_read: int
    # break-glass grants awaiting review at the newest runner commit (review_trailer.py);
    # None when the walk met no runner commit carrying the list
    awaiting_review: frozenset[str] | None = None


def read_recent(git: Git, tip: str, pending_ids: Iterable[str], runner_email: str) -> RecentHistory:
    """Walk main's first parents from `tip` only as far as the answers need."""
    wanted = set(pending_ids)
    shallow = is_shallow(git)
    for page in _PAGES:
        if shallow and first_parent_count(git, tip, page + 1) <= page:
            # A checkout without history (the workflows): fetch this page's commits and the
            # parent of the last first. Logged without its parent, a commit would be diffed
            # against nothing: every file of the ledger, the archive's too, read as added.
            deepen(git, tip, page + 1)
            shallow = is_shallow(git)
        commits = list(_first_parents(git, tip, page))
        complete = len(commits) < page and not shallow  # all of main's first parents are here
        # Unless the history ends here, the last commit is left for the next page: a commit is
        # examined only with its first parent present (sync reads the policies there).
        found = _scan(commits if complete else commits[:-1], wanted, runner_email)
        if complete or found.done(wanted):
            return found.result(len(commits))
    return _whole_history(git, tip, wanted)


@dataclass
class _Scan:
    added: dict[str, tuple[str, datetime | None]]
    deleted: dict[str, str]
    checkpoint: dict[str, str] | None = None
    archived: set[str] = field(default_factory=set)  # archive files added in the walk
    awaiting: frozenset[str] | None = None  # the checkpoint commit's review list

    def done(self, wanted: set[str]) -> bool:
        return self.checkpoint is not None and wanted <= self.added.keys()

    def result(self, commits_read: int) -> RecentHistory:
        deleted = dict(self.deleted)
        for request_id, sha in (self.checkpoint or {}).items():
            deleted.setdefault(request_id, sha)
        for request_id in self.archived:  # settled since (the runner's own moves, mostly)
            deleted.pop(request_id, None)
        return RecentHistory(self.added, deleted, commits_read, self.awaiting)


def _scan(commits: list[FirstParentCommit], wanted: set[str], runner_email: str) -> _Scan:
    """Adding commits of `wanted` and active-file deletions, newest first, down to the newest
    runner checkpoint (deletions) and the last of the adding commits."""
    scan = _Scan({}, {})
    for commit in commits:
        for status, path in commit.changes:
            if status == "A" and is_request_path(path) and request_id_for(path) in wanted:
                scan.added.setdefault(request_id_for(path), (commit.sha, commit.committed_at))
            elif status == "D" and scan.checkpoint is None and is_active_path(path):
                scan.deleted.setdefault(request_id_for(path), commit.sha)
            elif status == "A" and path.startswith(f"{ARCHIVE_DIR}/") and path.endswith(".yaml"):
                scan.archived.add(request_id_for(path))
        if scan.checkpoint is None and _is_runner(commit, runner_email):
            scan.checkpoint = parse_checkpoint(commit.trailer)
            scan.awaiting = parse_awaiting(commit.second_trailer)
        if scan.done(wanted):
            break
    return scan


def _whole_history(git: Git, tip: str, wanted: set[str]) -> RecentHistory:
    """No checkpoint in a quarter million commits: read everything once (old ledgers)."""
    added: dict[str, tuple[str, datetime | None]] = {}
    deleted: dict[str, str] = {}
    commits = list(_first_parents(git, tip, None))
    for commit in commits:
        for status, path in commit.changes:
            if status == "A" and is_request_path(path) and request_id_for(path) in wanted:
                added.setdefault(request_id_for(path), (commit.sha, commit.committed_at))
            elif status == "D" and is_active_path(path):
                deleted.setdefault(request_id_for(path), commit.sha)
    return RecentHistory(added, deleted, len(commits))


def _is_runner(commit: FirstParentCommit, runner_email: str) -> bool:
    return (
        parse_checkpoint(commit.trailer) is not None
        and commit.committer_email.lower() == runner_email.lower()
    )


def _first_parents(git: Git, tip: str, limit: int | None) -> Iterator[FirstParentCommit]:
    """Main's first-parent commits from `tip`, newest first, with the files each changed."""
    return first_parent_commits(git, tip, limit, CHECKPOINT_TRAILER, AWAITING_TRAILER)


def unsettled(
    git: Git, tip: str, candidates: dict[str, str], active_ids: Iterable[str]
) -> tuple[RevokedDeletion, ...]:
    """The candidates neither active again nor archived at `tip` (one bounded lookup)."""
    open_ids = set(candidates) - set(active_ids)
    archived = archived_among(git, tip, open_ids)
    return tuple(
        RevokedDeletion(i, sha) for i, sha in sorted(candidates.items()) if i in open_ids - archived
    )


__all__ = [
    "CHECKPOINT_TRAILER",
    "CheckpointCheck",
    "CheckpointLie",
    "RecentHistory",
    "checkpoint_lies",
    "checkpoint_trailer",
    "parse_checkpoint",
    "read_recent",
    "unsettled",
]


@dataclass(frozen=True)
class CheckpointLie:
    commit: str  # the runner commit whose trailer left the deletion out
    request_id: str
    deleted_in: str


def checkpoint_lies(git: Git, head: str, runner_email: str) -> Iterator[CheckpointLie]:
    """Re-derive every checkpoint from history, oldest first (`CheckpointCheck`)."""
    check = CheckpointCheck(runner_email)
    for commit in first_parents_oldest_first(git, head, CHECKPOINT_TRAILER):
        yield from check.see(commit)


@dataclass
class CheckpointCheck:
    """A runner commit's trailer must name each active file deleted on main before it that is
    still neither archived nor active again at its parent (naming more is harmless: sync looks
    those up). Fed main's first parents oldest first."""

    runner_email: str
    unsettled: dict[str, str] = field(default_factory=dict)

    def is_runner(self, commit: FirstParentCommit) -> bool:
        return _is_runner(commit, self.runner_email)

    def see(self, commit: FirstParentCommit) -> Iterator[CheckpointLie]:
        if self.is_runner(commit):
            listed = parse_checkpoint(commit.trailer) or {}
            for request_id, sha in sorted(self.unsettled.items()):
                if request_id not in listed:
                    yield CheckpointLie(commit.sha, request_id, sha)
        for status, path in commit.changes:
            if status == "D" and is_active_path(path):
                self.unsettled.setdefault(request_id_for(path), commit.sha)
        for status, path in commit.changes:
            archived = path.startswith(f"{ARCHIVE_DIR}/") and path.endswith(".yaml")
            if status == "A" and (archived or is_active_path(path)):
                self.unsettled.pop(request_id_for(path), None)
