"""Classifying a PR's change set: a request PR may only add regular files under requests/.

A revocation PR may only delete files under requests/active/. Everything else (policies,
groups, workflows, the package, renames, modifications, symlinks, executables) is a
`forbidden-change`, so a PR can never widen its own rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from jitflow.core.model import ChangedFile, ChangeStatus, Finding

REGULAR_FILE = "100644"


class ChangeKind(StrEnum):
    REQUEST = "request"  # adds request files only
    REVOCATION = "revocation"  # deletes active grants only
    UNRELATED = "unrelated"  # touches nothing under requests/: not jitflow's business
    INVALID = "invalid"  # touches requests/ and something it must not


@dataclass(frozen=True)
class ChangeSet:
    kind: ChangeKind
    request_paths: tuple[str, ...]
    revoked_ids: tuple[str, ...]
    findings: tuple[Finding, ...]


def is_request_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and parts[0] == "requests" and parts[1].endswith(".yaml")


def is_active_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[:2] == ["requests", "active"] and parts[2].endswith(".yaml")


def classify(files: Sequence[ChangedFile]) -> ChangeSet:
    touches_requests = any(
        f.path.startswith("requests/") or (f.previous_path or "").startswith("requests/")
        for f in files
    )
    if not touches_requests:
        return ChangeSet(ChangeKind.UNRELATED, (), (), ())
    additions = [f for f in files if _is_request_addition(f)]
    deletions = [f for f in files if f.status is ChangeStatus.DELETED and is_active_path(f.path)]
    if deletions and not additions and len(deletions) == len(files):
        ids = tuple(f.path.rsplit("/", 1)[1].removesuffix(".yaml") for f in deletions)
        return ChangeSet(ChangeKind.REVOCATION, (), ids, ())
    findings = tuple(_forbidden(f) for f in files if not _is_request_addition(f))
    paths = tuple(sorted(f.path for f in additions))
    kind = ChangeKind.INVALID if findings else ChangeKind.REQUEST
    return ChangeSet(kind, paths, (), findings)


def _is_request_addition(change: ChangedFile) -> bool:
    return (
        change.status is ChangeStatus.ADDED
        and change.mode == REGULAR_FILE
        and is_request_path(change.path)
    )


def _forbidden(change: ChangedFile) -> Finding:
    path = change.path
    if change.status is ChangeStatus.RENAMED:
        why = f"renames {change.previous_path} to {path}"
    elif change.status is ChangeStatus.COPIED:
        why = f"copies {change.previous_path} to {path}"
    elif change.status is ChangeStatus.DELETED:
        why = f"deletes {path}"
    elif change.status in (ChangeStatus.MODIFIED, ChangeStatus.TYPE_CHANGED):
        why = f"modifies {path}"
    elif change.mode == "120000":
        why = f"adds a symbolic link {path}"
    elif change.mode != REGULAR_FILE:
        why = f"adds {path} with file mode {change.mode} (only regular, non-executable files)"
    elif path.startswith("requests/") and path.endswith(".yml"):
        why = f"adds {path}: request files end in .yaml"
    elif path.startswith("requests/"):
        why = f"adds {path}: requests go directly under requests/ as <id>.yaml"
    else:
        why = f"touches {path}"
    return Finding(
        "forbidden-change",
        f"this PR {why}; a request PR may only add new files requests/<id>.yaml "
        "(policy, group, workflow and ledger changes travel in their own PRs)",
        path,
        1 if change.status is not ChangeStatus.DELETED else 0,
        1 if change.status is not ChangeStatus.DELETED else 0,
    )
