"""Reading commits' trees and diffs: a change set, the ledger's listings, archive lookups.

Each answer costs a few git processes whatever the length of the history or the archive.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from jitflow.adapters.git.remote import ensure_merge_base, fetch_blobs_under
from jitflow.adapters.git.runner import Git, tree_entries
from jitflow.core.loading import ACTIVE_DIR, ARCHIVE_DIR, REQUEST_DIR
from jitflow.core.model import ChangedFile, ChangeStatus
from jitflow.errors import GitError

_STATUS = {
    "A": ChangeStatus.ADDED,
    "M": ChangeStatus.MODIFIED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "C": ChangeStatus.COPIED,
    "T": ChangeStatus.TYPE_CHANGED,
}


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


def ledger_paths(git: Git, commit: str) -> list[str]:
    """The entries directly under requests/ and requests/active/ at `commit`: the pending and
    active files (and the archive folder's name), never the archive's contents."""
    return names_in(git, commit, f"{REQUEST_DIR}/", f"{ACTIVE_DIR}/")


def names_in(git: Git, commit: str, *folders: str) -> list[str]:
    """The paths of the entries directly in `folders` (each ending in "/") at `commit`."""
    listing = git.execute(
        ["ls-tree", "-z", "--name-only", "--full-tree", commit, "--", *folders]
    ).stdout
    return [p.decode(errors="replace") for p in listing.split(b"\0") if p]


def files_below(git: Git, commit: str, folder: str) -> list[str]:
    """The paths of every file below `folder` (ending in "/") at `commit`, however deep."""
    listing = git.execute(
        ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", folder]
    ).stdout
    return [p.decode(errors="replace") for p in listing.split(b"\0") if p]


def entries_in(git: Git, commit: str, folder: str) -> list[tuple[str, str, str]] | None:
    """(mode, object id, path) of the entries directly in `folder` at `commit`; None when
    `commit` is not here."""
    result = git.execute(["ls-tree", "-z", "--full-tree", commit, "--", folder], check=False)
    if result.returncode != 0:
        return None
    return tree_entries(result.stdout, "replace")


def read_files(git: Git, commit: str, paths: Sequence[str]) -> list[bytes | None]:
    """The content of each of `paths` at `commit` (None where there is no such file), read
    in one process."""
    return git.cat_blobs([f"{commit}:{p}" for p in paths])


def read_files_at(git: Git, wanted: Sequence[tuple[str, str]]) -> list[bytes | None]:
    """The content of each (commit, path) in `wanted` (None where there is no such file), read
    in one process."""
    return git.cat_blobs([f"{commit}:{path}" for commit, path in wanted])


def blob_id(git: Git, commit: str, path: str) -> str | None:
    """The object id of `path` at `commit`; None when either is not here."""
    found = git.execute(["rev-parse", "--verify", "--quiet", f"{commit}:{path}"], check=False)
    return found.stdout.decode().strip() if found.returncode == 0 else None


def files_containing(git: Git, commit: str, text: str, folders: Sequence[str]) -> list[str]:
    """The paths of the files below `folders` at `commit` whose content holds `text` (an
    empty list when none does, or a folder is not there)."""
    fetch_blobs_under(git, commit, folders)  # in a partial clone: one request, not one per file
    result = git.execute(
        ["grep", "-l", "-z", "-F", "-e", text, commit, "--", *folders], check=False
    )
    names = [n.decode(errors="replace") for n in result.stdout.split(b"\0") if n]
    return [n.partition(":")[2] for n in names]


def archived_among(git: Git, commit: str, ids: Iterable[str]) -> frozenset[str]:
    """Which of `ids` have a file somewhere under the archive at `commit`, in three processes:
    the year folders, their month folders with their tree ids, then those month trees read at
    once. Only trees are read, never a record, so a partial clone without the archive's blobs
    (the sync workflow's checkout) fetches nothing to answer."""
    wanted = sorted({i for i in ids if i and "/" not in i})
    if not wanted:
        return frozenset()
    months = _archive_months(git, commit)
    return frozenset(
        i for i in wanted if any(m is not None and _has_entry(m, f"{i}.yaml") for m in months)
    )


# (repository, commit id) -> the archive's month trees there. A commit's trees never change,
# and one sync decision asks about the same base several times (~60 ms each at 100,000
# archived grants); two entries bound the memory (~5 MB of trees each at that size).
_MONTHS_SEEN: dict[tuple[Path, str], tuple[bytes | None, ...]] = {}
# (repository, commit id) -> the month trees being read in the background (`prefetch_archive`).
_MONTHS_COMING: dict[tuple[Path, str], Callable[[], list[bytes | None]]] = {}
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def prefetch_archive(git: Git, commit: str) -> None:
    """Start reading the archive's month trees at `commit` (a full commit id) in the background,
    for an `archived_among` at the same commit to come: git inflates them (~30 ms at 100,000
    archived grants in a clone) while the caller reads and parses the change. The same trees
    are read, so every answer is the one a lookup without it gives."""
    key = (git.path, commit)
    if not _FULL_ID.fullmatch(commit) or key in _MONTHS_SEEN or key in _MONTHS_COMING:
        return
    if len(_MONTHS_COMING) >= 2:  # never picked up: wait for the oldest, so nothing piles up
        with contextlib.suppress(GitError):  # nobody asked for its answers, nor for its error
            _MONTHS_COMING.pop(next(iter(_MONTHS_COMING)))()
    _MONTHS_COMING[key] = git.cat_blobs_later(_month_tree_ids(git, commit))


def _archive_months(git: Git, commit: str) -> tuple[bytes | None, ...]:
    """The raw month trees of the archive at `commit` (the year folders, then their month
    folders, then those trees at once), remembered when `commit` is a full commit id."""
    key = (git.path, commit)
    if key in _MONTHS_SEEN:
        return _MONTHS_SEEN[key]
    coming = _MONTHS_COMING.pop(key, None)
    months = tuple(coming() if coming else git.cat_blobs(_month_tree_ids(git, commit)))
    if _FULL_ID.fullmatch(commit) and None not in months:  # a name may move; a gap may fill
        if len(_MONTHS_SEEN) >= 2:
            _MONTHS_SEEN.pop(next(iter(_MONTHS_SEEN)))
        _MONTHS_SEEN[key] = months
    return months


def _month_tree_ids(git: Git, commit: str) -> list[str]:
    """The tree ids of the archive's month folders at `commit` (two small `ls-tree`s)."""
    years = [f"{path}/" for path, _ in _subfolders(git, commit, [f"{ARCHIVE_DIR}/"])]
    return [tree for _, tree in _subfolders(git, commit, years)]


def _has_entry(tree: bytes, name: str) -> bool:
    """Whether a raw tree object (`<mode> <name>\\0<20-byte id>` entries) has `name`."""
    needle = b" " + name.encode() + b"\0"
    at = tree.find(needle)
    while at != -1:
        if tree[max(0, at - 5) : at].isdigit():  # the entry's mode, not bytes of an object id
            return True
        at = tree.find(needle, at + 1)
    return False


def _subfolders(git: Git, commit: str, parents: Sequence[str]) -> list[tuple[str, str]]:
    """(path, tree id) of the folders directly under each of `parents` at `commit`."""
    if not parents:
        return []
    out = git.execute(["ls-tree", "-d", "-z", "--full-tree", commit, "--", *parents]).stdout
    folders = []
    for record in out.split(b"\0"):
        meta, _, path = record.partition(b"\t")
        if path and b"\n" not in path:
            folders.append((path.decode(errors="replace"), meta.split(b" ")[2].decode()))
    return folders
