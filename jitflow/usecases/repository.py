"""Reading an access repository's state at a commit (policies, groups, ids, grants)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jitflow.adapters.git import Git
from jitflow.core.changes import is_request_path
from jitflow.core.ledger import parse_active_record
from jitflow.core.loading import (
    ACTIVE_DIR,
    ARCHIVE_DIR,
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
    """The change set of `head` against its merge base with `base` (like a PR's diff).
    A shallow checkout (the workflows') is deepened until the two meet."""
    found = git.execute(["merge-base", base, head], check=False)
    if found.returncode != 0:
        ensure_merge_base(git, base, head)
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
    existing = request_ids(paths) | archived_among(git, commit, asked_ids)
    groups = with_rotations(parse_groups(blobs[-1]), parse_oncall(blobs[-2]))
    return Snapshot(commit, existing, active, groups, waiting)


def ledger_paths(git: Git, commit: str) -> list[str]:
    """The entries directly under requests/ and requests/active/ at `commit`: the pending and
    active files (and the archive folder's name), never the archive's contents."""
    listing = git.execute(
        [
            "ls-tree",
            "-z",
            "--name-only",
            "--full-tree",
            commit,
            "--",
            f"{REQUEST_DIR}/",
            f"{ACTIVE_DIR}/",
        ]
    ).stdout
    return [p.decode(errors="replace") for p in listing.split(b"\0") if p]


def archived_among(git: Git, commit: str, ids: Iterable[str]) -> frozenset[str]:
    """Which of `ids` have a file somewhere under the archive at `commit` (bounded lookups:
    one listing of the archive's folders, then one existence check per folder and id)."""
    wanted = sorted({i for i in ids if i and "/" not in i})
    if not wanted:
        return frozenset()
    folders = _subfolders(git, commit, [f"{ARCHIVE_DIR}/"])  # years, then their months:
    folders = _subfolders(git, commit, [f"{f}/" for f in folders])  # never the files
    specs = [
        (request_id, f"{commit}:{folder}/{request_id}.yaml")
        for folder in folders
        for request_id in wanted
    ]
    found = git.objects_exist([spec for _, spec in specs])
    return frozenset(
        request_id for (request_id, _), there in zip(specs, found, strict=True) if there
    )


def _subfolders(git: Git, commit: str, parents: Sequence[str]) -> list[str]:
    if not parents:
        return []
    out = git.execute(
        ["ls-tree", "-d", "-z", "--name-only", "--full-tree", commit, "--", *parents]
    ).stdout
    return [f.decode(errors="replace") for f in out.split(b"\0") if f and b"\n" not in f]


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
        if path.endswith(".yaml") and path not in NOT_POLICIES and path.count("/") == 1:
            names.append(path.split("/")[1].removesuffix(".yaml"))
    return sorted(names)


__all__ = [
    "Snapshot",
    "all_policy_names",
    "changed_files",
    "deepen",
    "ensure_merge_base",
    "fetch_missing",
    "is_request_path",
    "ledger_paths",
    "parse_active",
    "read_policies",
    "snapshot",
]


# -- fetching what a shallow checkout lacks (workflows check out without history) -----------

_DEEPEN = (32, 256, 2048, 16384)


def is_shallow(git: Git) -> bool:
    return git.run("rev-parse", "--is-shallow-repository") == "true"


def fetch_missing(git: Git, shas: Iterable[str], remote: str = "origin") -> None:
    """Fetch the commits that are not here. In a shallow checkout only the commits themselves
    (depth 1): without a depth, git would send every ancestor below the shallow boundary,
    i.e. the whole history."""
    missing = [
        s for s in dict.fromkeys(shas) if s and not git.ok("cat-file", "-e", f"{s}^{{commit}}")
    ]
    if not missing:
        return
    depth = ["--depth=1"] if is_shallow(git) else []
    git.execute(["fetch", "--no-tags", "--quiet", *depth, remote, *missing], check=False)


def ensure_merge_base(git: Git, base: str, head: str, remote: str = "origin") -> None:
    """Deepen a shallow checkout until `base` and `head` meet (a PR's fork point is usually
    a few commits back), then, if they still don't, fetch their whole history once."""
    if git.ok("merge-base", base, head) or not is_shallow(git):
        return
    for depth in _DEEPEN:
        git.execute(
            ["fetch", "--no-tags", "--quiet", f"--depth={depth}", remote, base, head], check=False
        )
        if git.ok("merge-base", base, head):
            return
    git.execute(["fetch", "--no-tags", "--quiet", "--unshallow", remote], check=False)


def deepen(git: Git, tip: str, depth: int, remote: str = "origin") -> None:
    """Fetch the `depth` newest commits below `tip` into a shallow checkout."""
    git.execute(["fetch", "--no-tags", "--quiet", f"--depth={depth}", remote, tip], check=False)
