"""Reading the ledger's state on main: pending requests, active records, revocation deletions.

Everything is read from one commit and the commits since the last run, with a handful of git
processes, whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import archived_among, prefetch_archive
from jitflow.core.changes import is_active_path
from jitflow.core.ledger import (
    RUNNER_EMAIL,
    ActiveRecord,
    LedgerState,
    PendingRequest,
    parse_active_record,
)
from jitflow.core.loading import REQUEST_DIR, parse_request, request_id_for
from jitflow.usecases.repository import read_ledger_files
from jitflow.usecases.sync.recent import read_recent, unsettled


@dataclass(frozen=True)
class MainState:
    """The ledger at one commit of main, plus the raw bytes the runner rewrites."""

    commit: str
    ledger: LedgerState
    request_bytes: dict[str, bytes]  # pending id -> request file
    active_bytes: dict[str, bytes]  # active id -> active file
    added_by: dict[str, str]  # pending id -> commit on main (first parent) that added it
    archived_ids: frozenset[str] = frozenset()  # pending ids the archive already holds (reused)
    # break-glass grants awaiting review at the newest runner commit (sync/review_trailer.py);
    # None when no runner commit in the recent walk carries the list
    awaiting_review: frozenset[str] | None = None


def read_state(git: Git, commit: str, runner_email: str = RUNNER_EMAIL) -> MainState:
    """The ledger at `commit`: its tree (pending and active files only, never the archive)
    plus the bounded walk of recent first parents (`recent.read_recent`)."""
    files = read_ledger_files(git, commit)
    if files.pending:  # git reads the archive for the reused-id lookup while history is walked
        prefetch_archive(git, commit)
    request_bytes = {request_id_for(p): b or b"" for p, b in files.pending.items()}
    active_bytes = {
        request_id_for(p): b or b"" for p, b in files.active.items() if is_active_path(p)
    }
    recent = read_recent(git, commit, request_bytes, runner_email)
    added = recent.added_by
    pending = []
    for request_id, content in sorted(request_bytes.items()):
        loaded = parse_request(content, f"{REQUEST_DIR}/{request_id}.yaml")
        start = loaded.value.start if loaded.value is not None else None
        _, when = added.get(request_id, ("", None))
        pending.append(PendingRequest(request_id, start, when))
    active = tuple(parse_active_record(content, i) for i, content in active_bytes.items())
    deletions = unsettled(git, commit, recent.deletion_candidates, active_bytes)
    return MainState(
        commit=commit,
        ledger=LedgerState(tuple(pending), active, deletions),
        request_bytes=request_bytes,
        active_bytes=active_bytes,
        added_by={i: sha for i, (sha, _) in added.items()},
        archived_ids=archived_among(git, commit, request_bytes),
        awaiting_review=recent.awaiting_review,
    )


def active_record(state: MainState, request_id: str | None) -> ActiveRecord | None:
    """The active record of `request_id` on main (None: not active, or no id)."""
    return next((r for r in state.ledger.active if r.id == request_id), None)
