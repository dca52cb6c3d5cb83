"""Reading an access repository's state at a commit (policies, groups, ids, grants)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


@dataclass(frozen=True)
class LedgerFiles:
    """The ledger at a commit except its archive (which grows for ever), read in two git
    processes: what the gate's snapshot and sync's state are both made of."""

    paths: list[str]  # the entries directly under requests/ and requests/active/
    pending: dict[str, bytes | None]  # requests/<id>.yaml -> content
    active: dict[str, bytes | None]  # requests/active/<name> -> content
    extra: list[bytes | None]  # the other files asked for, in order


def read_ledger_files(git: Git, commit: str, extra: Sequence[str] = ()) -> LedgerFiles:
    """The pending and active files at `commit`, with the `extra` files, in one read."""
    paths = ledger_paths(git, commit)
    active = [p for p in paths if p.startswith(f"{ACTIVE_DIR}/") and p.count("/") == 2]
    pending = [p for p in paths if is_request_path(p)]
    blobs = read_files(git, commit, [*active, *pending, *extra])
    return LedgerFiles(
        paths,
        dict(zip(pending, blobs[len(active) : len(active) + len(pending)], strict=True)),
        dict(zip(active, blobs[: len(active)], strict=True)),
        blobs[len(active) + len(pending) :],
    )


def snapshot(git: Git, commit: str, asked_ids: Iterable[str] = ()) -> Snapshot:
    """Ids and active grants at `commit`, in a few git processes whatever the history.

    `existing_ids` holds every pending and active id, but of the archive (which grows for ever)
    only the ids in `asked_ids`: the ids a change is about are looked up, never the whole
    archive listed, so a check costs the same at 100 or 100,000 archived grants.
    """
    files = read_ledger_files(git, commit, [ONCALL_PATH, GROUPS_PATH])
    existing = request_ids(files.paths) | archived_among(git, commit, asked_ids)
    oncall, groups_file = files.extra
    groups = with_rotations(parse_groups(groups_file), parse_oncall(oncall))
    return Snapshot(commit, existing, _grants(files.active), groups, _grants(files.pending))


def _grants(blobs: Mapping[str, bytes | None]) -> tuple[ActiveGrant, ...]:
    """The grants the files (path -> content) describe, as `parse_active` reads them."""
    return tuple(
        grant
        for path, blob in blobs.items()
        if blob is not None and (grant := parse_active(blob, path)) is not None
    )


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
