"""Reading the ledger's state on main: pending requests, active records, revocation deletions.

Everything is read from one commit with a handful of git processes, whatever the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.core.changes import is_active_path, is_request_path
from jitflow.core.ledger import (
    ActiveRecord,
    LedgerState,
    PendingRequest,
    RevokedDeletion,
    parse_active_record,
)
from jitflow.core.loading import ARCHIVE_DIR, REQUEST_DIR, parse_request, parse_time, request_id_for


@dataclass(frozen=True)
class MainState:
    """The ledger at one commit of main, plus the raw bytes the runner rewrites."""

    commit: str
    ledger: LedgerState
    request_bytes: dict[str, bytes]  # pending id -> request file
    active_bytes: dict[str, bytes]  # active id -> active file
    added_by: dict[str, str]  # pending id -> commit on main (first parent) that added it
    archived_ids: frozenset[str]


def read_state(git: Git, commit: str) -> MainState:
    listing = git.execute(
        ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", f"{REQUEST_DIR}/"]
    ).stdout
    paths = [p.decode(errors="replace") for p in listing.split(b"\0") if p]
    pending_paths = [p for p in paths if is_request_path(p)]
    active_paths = [p for p in paths if is_active_path(p)]
    archived = frozenset(
        request_id_for(p) for p in paths if p.startswith(f"{ARCHIVE_DIR}/") and p.endswith(".yaml")
    )
    blobs = git.cat_blobs([f"{commit}:{p}" for p in pending_paths + active_paths])
    request_bytes = {
        request_id_for(p): b or b"" for p, b in zip(pending_paths, blobs, strict=False)
    }
    active_bytes = {
        request_id_for(p): b or b""
        for p, b in zip(active_paths, blobs[len(pending_paths) :], strict=True)
    }
    added = _adding_commits(git, commit, pending_paths)
    pending = []
    for request_id, content in sorted(request_bytes.items()):
        loaded = parse_request(content, f"{REQUEST_DIR}/{request_id}.yaml")
        start = loaded.value.start if loaded.value is not None else None
        _, when = added.get(request_id, ("", None))
        pending.append(PendingRequest(request_id, start, when))
    active = tuple(parse_active_record(content, i) for i, content in active_bytes.items())
    deletions = _revocation_deletions(git, commit, set(active_bytes) | archived)
    return MainState(
        commit=commit,
        ledger=LedgerState(tuple(pending), active, deletions),
        request_bytes=request_bytes,
        active_bytes=active_bytes,
        added_by={i: sha for i, (sha, _) in added.items()},
        archived_ids=archived,
    )


def _adding_commits(
    git: Git, commit: str, paths: list[str]
) -> dict[str, tuple[str, datetime | None]]:
    """For each path, the first-parent commit of main that added it, and when (one process)."""
    if not paths:
        return {}
    out = git.execute(
        [
            "log",
            "--first-parent",
            "--diff-filter=A",
            "--name-only",
            "-z",
            "--format=%x01%H %cI",
            commit,
            "--",
            *paths,
        ]
    ).stdout.decode(errors="replace")
    found: dict[str, tuple[str, datetime | None]] = {}
    for chunk in out.split("\x01"):
        if not chunk.strip("\0\n"):
            continue
        header, _, rest = chunk.partition("\n")
        sha, _, when = header.strip("\0").partition(" ")
        for name in rest.replace("\n", "\0").split("\0"):
            name = name.strip()
            if name and is_request_path(name):
                found.setdefault(request_id_for(name), (sha, parse_time(when)))
    return found


def _revocation_deletions(
    git: Git, commit: str, settled: set[str] | frozenset[str]
) -> tuple[RevokedDeletion, ...]:
    """Active files deleted on main whose grant has not been archived yet."""
    out = git.execute(
        [
            "log",
            "--first-parent",
            "--diff-filter=D",
            "--name-only",
            "-z",
            "--format=%x01%H",
            commit,
            "--",
            "requests/active/",
        ]
    ).stdout.decode(errors="replace")
    found: dict[str, str] = {}
    for chunk in out.split("\x01"):
        if not chunk.strip("\0\n"):
            continue
        sha, _, rest = chunk.partition("\n")
        for name in rest.replace("\n", "\0").split("\0"):
            name = name.strip()
            if name and is_active_path(name):
                found.setdefault(request_id_for(name), sha.strip("\0"))
    return tuple(RevokedDeletion(i, sha) for i, sha in sorted(found.items()) if i not in settled)


def active_records(state: MainState) -> dict[str, ActiveRecord]:
    return {r.id: r for r in state.ledger.active}
