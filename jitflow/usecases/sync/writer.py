"""Writing transitions as commits, all in one `git fast-import` stream, then one push.

A thousand transitions are a thousand commits but two git processes, not thousands. The
push is never forced: a rejected push means main moved, and the caller re-plans on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.core.ledger import RUNNER_EMAIL, RUNNER_NAME
from jitflow.errors import GitError

_WORK_REF = "refs/jitflow/sync"


@dataclass(frozen=True)
class LedgerCommit:
    """One transition: its message and the files it writes (bytes) or deletes (None)."""

    message: str
    files: Mapping[str, bytes | None]
    when: datetime


@dataclass(frozen=True)
class Identity:
    name: str = RUNNER_NAME
    email: str = RUNNER_EMAIL

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Identity:
        return cls(
            environ.get("JITFLOW_RUNNER_NAME") or RUNNER_NAME,
            environ.get("JITFLOW_RUNNER_EMAIL") or RUNNER_EMAIL,
        )


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream(
    ref: str, base: str, commits: Sequence[LedgerCommit], identity: Identity
) -> bytes:
    parts: list[bytes] = []
    for index, commit in enumerate(commits):
        stamp = int(commit.when.timestamp())
        who = f"{identity.name} <{identity.email}> {stamp} +0000\n".encode()
        parts.append(f"commit {ref}\n".encode())
        parts.append(b"author " + who + b"committer " + who)
        parts.append(_data(commit.message.encode()))
        if index == 0:
            parts.append(f"from {base}\n".encode())
        for path, content in sorted(commit.files.items()):
            if "\n" in path or path.startswith('"'):
                raise GitError(f"refusing to write the odd path {path!r} to the ledger")
            if content is None:
                parts.append(f"D {path}\n".encode())
            else:
                parts.append(f"M 100644 inline {path}\n".encode() + _data(content))
        parts.append(b"\n")
    parts.append(b"done\n")
    return b"".join(parts)


def write_commits(git: Git, base: str, commits: Sequence[LedgerCommit], identity: Identity) -> str:
    """Build the commits on top of `base` (nothing else touched); return the new tip."""
    if not commits:
        return base
    ref = f"{_WORK_REF}-{os.getpid()}"
    git.execute(["update-ref", "-d", ref], check=False)
    stream = fast_import_stream(ref, base, commits, identity)
    try:
        git.execute(["fast-import", "--quiet", "--done", "--force"], input=stream)
        return git.rev_parse(ref)
    finally:
        git.execute(["update-ref", "-d", ref], check=False)


def push(git: Git, remote: str, branch: str, tip: str) -> bool:
    """Push `tip` to `branch`; False when the remote moved on (re-plan), raise on other failures."""
    result = git.execute(
        ["push", "--porcelain", "--quiet", remote, f"{tip}:refs/heads/{branch}"], check=False
    )
    if result.returncode == 0:
        return True
    said = (result.stdout + result.stderr).decode(errors="replace")
    if any(m in said for m in ("[rejected]", "non-fast-forward", "fetch first", "stale info")):
        return False
    raise GitError(
        f"pushing the ledger to {remote}/{branch} failed: {said.strip() or 'no message'}; "
        "nothing was lost: the Vault side is done and the next sync records it"
    )


def fetch(git: Git, remote: str, branch: str) -> str:
    """Fetch `branch` and return its tip."""
    git.run(
        "fetch",
        "--quiet",
        "--no-tags",
        remote,
        f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
    )
    return git.rev_parse(f"refs/remotes/{remote}/{branch}")
