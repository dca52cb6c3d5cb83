"""The ledger is append-only: checks over every commit on main, newest first.

A record, once written, is never edited or deleted: the only allowed changes to
`requests/active/` and `requests/archive/` are adding a record, moving an active record to the
archive (the archive file starts with the active file byte for byte) and a revocation PR
deleting active files. A ledger commit changes nothing but ledger paths (and deletes the
request file it records). Codes: `ledger-record-rewritten`, `ledger-record-removed`,
`ledger-commit-outside-ledger`.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from jitflow.core.history import (
    ACTIVE_PATH,
    ARCHIVE_PATH,
    REQUEST_PATH,
    Commit,
    FileChange,
    RequestTrail,
    parse_trailers,
)
from jitflow.core.times import format_time
from jitflow.core.verify_report import Violation
from jitflow.usecases.audit.dates import Clocks, LedgerDates
from jitflow.usecases.audit.signatures import PendingSignature


@dataclass(frozen=True)
class RecordMove:
    """An active record and the archive record that replaced it: the second must extend
    the first."""

    request_id: str
    commit: str
    active_blob: str
    archive_blob: str
    archive_path: str


def _ledger_id(path: str) -> str | None:
    match = ACTIVE_PATH.match(path) or ARCHIVE_PATH.match(path)
    return match.group(1) if match else None


class AppendOnlyChecker:
    """Fed commits newest first; collects violations and the record moves to compare."""

    def __init__(self, runner_email: str, clocks: Clocks) -> None:
        self.runner_email = runner_email.lower()
        self.violations: list[Violation] = []
        self.dates = LedgerDates(clocks)  # ledger commits' dates against main's (dates.py)
        self.moves: list[RecordMove] = []
        self.to_verify: list[PendingSignature] = []  # ledger commits: signatures to check
        self.signed = 0  # ledger commits whose signature was checked
        self._archived: dict[str, tuple[str, str, str]] = {}  # id -> (blob, commit, path)

    def claims_runner(self, commit: Commit) -> bool:
        return self.runner_email in (commit.author_email.lower(), commit.committer_email.lower())

    def is_revocation(self, commit: Commit) -> bool:
        """A change whose only changes delete active files (a revocation PR)."""
        return bool(commit.changes) and all(
            c.status == "D" and ACTIVE_PATH.match(c.path) for c in commit.changes
        )

    def is_ledger_commit(self, commit: Commit) -> bool:
        """A commit that writes the ledger or claims to be the runner's."""
        touches = any(_ledger_id(c.path) for c in commit.changes)
        return (touches and not self.is_revocation(commit)) or self.claims_runner(commit)

    def feed(self, commit: Commit) -> None:
        if not commit.on_main:
            return
        rid: str | None = None
        if self.is_ledger_commit(commit):
            self._check_scope(commit)
            ids = sorted({i for c in commit.changes if (i := _ledger_id(c.path))})
            rid = ids[0] if ids else parse_trailers(commit.message).get("jitflow-request", "")
            self.to_verify.append(PendingSignature(commit.sha, commit.committed_at, rid))
        self.dates.feed(commit, rid)
        archived_here = {
            m.group(1)
            for c in commit.changes
            if c.status == "A" and (m := ARCHIVE_PATH.match(c.path))
        }
        revocation = self.is_revocation(commit)
        for change in commit.changes:
            if match := ARCHIVE_PATH.match(change.path):
                self._archive_change(commit, change, match.group(1))
            elif match := ACTIVE_PATH.match(change.path):
                rid = match.group(1)
                if change.status == "M":
                    self._flag("ledger-record-rewritten", rid, commit, change.path, "edited")
                elif change.status == "D" and rid not in archived_here and not revocation:
                    self._flag(
                        "ledger-record-removed", rid, commit, change.path, "deleted unarchived"
                    )
                elif change.status == "A":
                    self._pair(rid, change.new_blob)

    def _archive_change(self, commit: Commit, change: FileChange, rid: str) -> None:
        status, path = change.status, change.path
        if status == "A":
            self._archived[rid] = (change.new_blob, commit.sha, path)
        elif status == "M":
            self._flag("ledger-record-rewritten", rid, commit, path, "edited")
        elif status == "D":
            self._flag("ledger-record-removed", rid, commit, path, "deleted")

    def _pair(self, rid: str, active_blob: str) -> None:
        archived = self._archived.pop(rid, None)
        if archived is not None:
            blob, sha, path = archived
            self.moves.append(RecordMove(rid, sha, active_blob, blob, path))

    def _flag(self, code: str, rid: str, commit: Commit, path: str, what: str) -> None:
        message = (
            f"{path} was {what} by {commit.author_email} after it was written: ledger "
            "records are append-only (only moves from active/ to archive/)"
        )
        self.violations.append(Violation(code, rid, commit.sha, message))

    def _check_scope(self, commit: Commit) -> None:
        outside = [
            c.path
            for c in commit.changes
            if not _ledger_id(c.path) and not (c.status == "D" and REQUEST_PATH.match(c.path))
        ]
        if outside:
            ids = sorted({i for c in commit.changes if (i := _ledger_id(c.path))})
            self.violations.append(
                Violation(
                    "ledger-commit-outside-ledger",
                    ids[0] if ids else "",
                    commit.sha,
                    f"a ledger commit (by {commit.author_email}) also changes "
                    f"{', '.join(sorted(outside)[:5])}"
                    + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
                    + ": the runner writes only requests/active/ and requests/archive/",
                )
            )


def check_moves(moves: list[RecordMove], blobs: list[bytes | None]) -> list[Violation]:
    """`blobs` holds each move's active then archive content, in order."""
    found = []
    for index, move in enumerate(moves):
        active, archive = blobs[2 * index], blobs[2 * index + 1]
        if active is None or archive is None or archive.startswith(active):
            continue
        found.append(
            Violation(
                "ledger-record-rewritten",
                move.request_id,
                move.commit,
                f"{move.archive_path} does not start with the active record as issued "
                f"(blob {move.active_blob[:12]}): the record was rewritten when archived",
            )
        )
    return found


def check_presence(
    trail: RequestTrail, present: Container[str], now: datetime, tolerance: timedelta
) -> list[Violation]:
    """An issued grant keeps a record on main for ever (active or archived), and a
    revocation PR's deletion is followed by the runner's end record."""
    written = trail.issue or trail.end
    if written is None:
        return []
    if trail.revocation is not None and trail.end is None:
        if now - trail.revocation.at <= tolerance:
            return []  # the next sync archives it
        return [
            Violation(
                "revocation-not-recorded",
                trail.id,
                trail.revocation.sha,
                f"a revocation merged at {format_time(trail.revocation.at)} deleted "
                f"requests/active/{trail.id}.yaml but no end record follows (was main "
                "rewritten, or did sync never run?)",
            )
        ]
    if trail.id in present:
        return []
    return [
        Violation(
            "grant-vanished",
            trail.id,
            written.sha,
            f"recorded by {written.sha[:12]}, but neither requests/active/{trail.id}.yaml "
            "nor an archive record exists on main: the record vanished from the ledger",
        )
    ]
