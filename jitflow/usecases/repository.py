"""Reading an access repository's state at a commit (policies, groups, ids, grants)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import archived_among, ledger_paths, names_in, read_files
from jitflow.core.changes import is_request_path
from jitflow.core.ledger import parse_active_record
from jitflow.core.loading import (
    ACTIVE_DIR,
    GROUPS_PATH,
    NOT_POLICIES,
    ONCALL_PATH,
    POLICY_DIR,
    REQUEST_DIR,
    Loaded,
    parse_groups,
    parse_oncall,
    parse_policy,
    request_id_for,
    with_rotations,
)
from jitflow.core.model import ActiveGrant


@dataclass(frozen=True)
class Snapshot:
    """What a commit says about policies, groups and existing requests."""

    commit: str
    existing_ids: frozenset[str]
    active: tuple[ActiveGrant, ...]
    groups: Loaded
    # Requests merged but not issued yet (requests/<id>.yaml): they count against limits.
    waiting: tuple[ActiveGrant, ...] = ()


def request_ids(paths: Iterable[str]) -> frozenset[str]:
    return frozenset(
        request_id_for(p) for p in paths if p.endswith(".yaml") and p.startswith(f"{REQUEST_DIR}/")
    )


def snapshot(git: Git, commit: str, asked_ids: Iterable[str] = ()) -> Snapshot:
    """Ids and active grants at `commit`, in a few git processes whatever the history.

    `existing_ids` holds every pending and active id, but of the archive (which grows for ever)
    only the ids in `asked_ids`: the ids a change is about are looked up, never the whole
    archive listed, so a check costs the same at 100 or 100,000 archived grants.
    """
    paths = ledger_paths(git, commit)
    active_paths = [p for p in paths if p.startswith(f"{ACTIVE_DIR}/") and p.count("/") == 2]
    waiting_paths = [p for p in paths if is_request_path(p)]
    wanted = [*active_paths, *waiting_paths, ONCALL_PATH, GROUPS_PATH]
    blobs = read_files(git, commit, wanted)
    active = tuple(
        grant
        for path, blob in zip(active_paths, blobs, strict=False)
        if blob is not None and (grant := parse_active(blob, path)) is not None
    )
    waiting = tuple(
        grant
        for path, blob in zip(waiting_paths, blobs[len(active_paths) :], strict=False)
        if blob is not None and (grant := parse_active(blob, path)) is not None
    )
    existing = request_ids(paths) | archived_among(git, commit, asked_ids)
    groups = with_rotations(parse_groups(blobs[-1]), parse_oncall(blobs[-2]))
    return Snapshot(commit, existing, active, groups, waiting)


def parse_active(content: bytes, path: str) -> ActiveGrant | None:
    """The few fields of an active record that evaluation needs, or None when the record
    names neither policy nor requester (lenient by design: active records are written by
    the runner, and verified by `audit verify`)."""
    record = parse_active_record(content, request_id_for(path))
    if not record.policy and not record.requester:
        return None
    return ActiveGrant(
        record.id, record.policy, record.requester, record.expires_at, record.started_at
    )


def read_policies(git: Git, commit: str, names: Sequence[str]) -> dict[str, Loaded]:
    """Parse the named policies at `commit`; names with no file are left out."""
    unique = sorted(set(names))
    paths = [f"{POLICY_DIR}/{name}.yaml" for name in unique]
    blobs = read_files(git, commit, paths)
    return {
        name: parse_policy(blob, path)
        for name, path, blob in zip(unique, paths, blobs, strict=True)
        if blob is not None
    }


def all_policy_names(git: Git, commit: str) -> list[str]:
    names = []
    for path in names_in(git, commit, f"{POLICY_DIR}/"):
        if path.endswith(".yaml") and path not in NOT_POLICIES and path.count("/") == 1:
            names.append(path.split("/")[1].removesuffix(".yaml"))
    return sorted(names)


__all__ = [
    "Snapshot",
    "all_policy_names",
    "is_request_path",
    "parse_active",
    "read_policies",
    "snapshot",
]
