"""Reading an access repository's state at a commit (policies, groups, ids, grants)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jitflow.adapters.git import Git
from jitflow.core.changes import is_request_path
from jitflow.core.ledger import parse_active_record
from jitflow.core.loading import (
    ACTIVE_DIR,
    GROUPS_PATH,
    POLICY_DIR,
    REQUEST_DIR,
    Loaded,
    parse_groups,
    parse_policy,
    request_id_for,
)
from jitflow.core.model import ActiveGrant, ChangedFile, ChangeStatus

_STATUS = {
    "A": ChangeStatus.ADDED,
    "M": ChangeStatus.MODIFIED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "C": ChangeStatus.COPIED,
    "T": ChangeStatus.TYPE_CHANGED,
}


@dataclass(frozen=True)
class Snapshot:
    """What a commit says about policies, groups and existing requests."""

    commit: str
    existing_ids: frozenset[str]
    active: tuple[ActiveGrant, ...]
    groups: Loaded
    # Requests merged but not issued yet (requests/<id>.yaml): they count against limits.
    waiting: tuple[ActiveGrant, ...] = ()


def changed_files(git: Git, base: str, head: str) -> list[ChangedFile]:
    """The change set of `head` against its merge base with `base` (like a PR's diff)."""
    merge_base = git.run("merge-base", base, head)
    raw = git.execute(["diff", "--raw", "-z", "-M", "--no-abbrev", merge_base, head]).stdout
    fields = raw.split(b"\0")
    files: list[ChangedFile] = []
    i = 0
    while i < len(fields) and fields[i]:
        meta = fields[i].decode().lstrip(":").split(" ")
        old_mode, new_mode, status = meta[0], meta[1], meta[4]
        kind = _STATUS.get(status[0], ChangeStatus.MODIFIED)
        if kind in (ChangeStatus.RENAMED, ChangeStatus.COPIED):
            old, new = (
                fields[i + 1].decode(errors="replace"),
                fields[i + 2].decode(errors="replace"),
            )
            files.append(ChangedFile(new, kind, new_mode, old))
            i += 3
        else:
            path = fields[i + 1].decode(errors="replace")
            mode = old_mode if kind is ChangeStatus.DELETED else new_mode
            files.append(ChangedFile(path, kind, mode))
            i += 2
    return files


def request_ids(paths: Iterable[str]) -> frozenset[str]:
    return frozenset(
        request_id_for(p) for p in paths if p.endswith(".yaml") and p.startswith(f"{REQUEST_DIR}/")
    )


def snapshot(git: Git, commit: str) -> Snapshot:
    """Ids and active grants at `commit`, read with two git processes whatever the history."""
    listing = git.execute(
        ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", f"{REQUEST_DIR}/"]
    ).stdout
    paths = [p.decode(errors="replace") for p in listing.split(b"\0") if p]
    active_paths = [p for p in paths if p.startswith(f"{ACTIVE_DIR}/") and p.count("/") == 2]
    waiting_paths = [p for p in paths if is_request_path(p)]
    wanted = [*active_paths, *waiting_paths, GROUPS_PATH]
    blobs = git.cat_blobs([f"{commit}:{p}" for p in wanted])
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
    return Snapshot(commit, request_ids(paths), active, parse_groups(blobs[-1]), waiting)


def parse_active(content: bytes, path: str) -> ActiveGrant | None:
    """The few fields of an active record that evaluation needs, or None when the record
    names neither policy nor requester (lenient by design: active records are written by
    the runner, and verified by `audit verify`)."""
    record = parse_active_record(content, request_id_for(path))
    if not record.policy and not record.requester:
        return None
    return ActiveGrant(record.id, record.policy, record.requester, record.expires_at)


def read_policies(git: Git, commit: str, names: Sequence[str]) -> dict[str, Loaded]:
    """Parse the named policies at `commit`; names with no file are left out."""
    unique = sorted(set(names))
    paths = [f"{POLICY_DIR}/{name}.yaml" for name in unique]
    blobs = git.cat_blobs([f"{commit}:{p}" for p in paths])
    return {
        name: parse_policy(blob, path)
        for name, path, blob in zip(unique, paths, blobs, strict=True)
        if blob is not None
    }


def all_policy_names(git: Git, commit: str) -> list[str]:
    listing = git.execute(
        ["ls-tree", "-z", "--name-only", "--full-tree", commit, "--", f"{POLICY_DIR}/"]
    ).stdout
    names = []
    for entry in listing.split(b"\0"):
        path = entry.decode(errors="replace")
        if path.endswith(".yaml") and path != GROUPS_PATH and path.count("/") == 1:
            names.append(path.split("/")[1].removesuffix(".yaml"))
    return sorted(names)


__all__ = [
    "Snapshot",
    "all_policy_names",
    "changed_files",
    "is_request_path",
    "parse_active",
    "read_policies",
    "snapshot",
]
