"""Writing transitions as commits with `git fast-import` streams (pushed by `remote.push`).

A thousand transitions are a thousand commits but a few git processes, not thousands; the
commits that end grants are built while Vault revokes them (`LedgerWriter`). The push is
never forced: a rejected push means main moved, and the caller re-plans on it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from jitflow.adapters.git.runner import Git, GitResult
from jitflow.core.ledger import RUNNER_EMAIL, RUNNER_NAME
from jitflow.core.sshsig import split_signature, with_signature
from jitflow.errors import GitError, JitflowError

_WORK_REF = "refs/jitflow/sync"
_work_refs = itertools.count()  # one work ref per import, so two can run at once


class Signer(Protocol):
    """Makes the armored SSH signature of a commit payload (adapters/vault/ledger.py)."""

    def sign(self, payload: bytes) -> str: ...


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
    ref: str, base: str, commits: Sequence[LedgerCommit], identity: Identity, trailer: str = ""
) -> bytes:
    """`trailer`, when given, is one more line for every message's trailer block."""
    parts: list[bytes] = []
    for index, commit in enumerate(commits):
        stamp = int(commit.when.timestamp())
        who = f"{identity.name} <{identity.email}> {stamp} +0000\n".encode()
        parts.append(f"commit {ref}\n".encode())
        parts.append(b"author " + who + b"committer " + who)
        message = commit.message.rstrip("\n") + f"\n{trailer}\n" if trailer else commit.message
        parts.append(_data(message.encode()))
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


@dataclass(frozen=True)
class WrittenAs:
    """Whose the ledger's commits are: the runner's identity, its signer (None: unsigned),
    and the trailer every commit carries (the run's checkpoint, sync/recent.py)."""

    identity: Identity
    signer: Signer | None = None
    trailer: str = ""


def write_commits(git: Git, base: str, commits: Sequence[LedgerCommit], by: WrittenAs) -> str:
    """Build the commits on top of `base` (nothing else touched); return the new tip."""
    identity, signer, trailer = by.identity, by.signer, by.trailer
    if not commits:
        return base
    ref = f"{_WORK_REF}-{os.getpid()}-{next(_work_refs)}"
    git.execute(["update-ref", "-d", ref], check=False)
    stream = fast_import_stream(ref, base, commits, identity, trailer)
    try:
        result = git.execute(
            ["fast-import", "--quiet", "--done", "--force"],
            input=stream,
            env=_heap_env(),
            check=False,
        )
        if result.returncode != 0:
            raise GitError(fast_import_failure(git, len(commits), result))
        tip = git.rev_parse(ref)
    finally:
        git.execute(["update-ref", "-d", ref], check=False)
    return sign_chain(git, base, tip, signer) if signer is not None else tip


def sign_chain(git: Git, base: str, tip: str, signer: Signer) -> str:
    """The commits `base..tip` again, each signed, on the same trees; return the new tip.

    fast-import can't sign, so its commits are re-made with a `gpgsig` header: payloads are
    signed in-process and all objects written by one `git hash-object` (no process per
    commit). The unsigned originals stay unreferenced, for garbage collection.
    """
    shas = git.run("rev-list", "--reverse", "--first-parent", f"{base}..{tip}").split()
    parent = base
    objects = []
    for raw in git.cat_blobs(shas):
        if raw is None:
            raise GitError("a ledger commit vanished while it was being signed")
        payload, _ = split_signature(raw)
        head, sep, message = payload.partition(b"\n\n")
        lines = [
            f"parent {parent}".encode() if line.startswith(b"parent ") else line
            for line in head.split(b"\n")
        ]
        payload = b"\n".join(lines) + sep + message
        signed = with_signature(payload, signer.sign(payload))
        parent = hashlib.sha1(b"commit %d\0" % len(signed) + signed).hexdigest()  # noqa: S324
        objects.append(signed)
    with tempfile.TemporaryDirectory(prefix="jitflow-ledger-") as tmp:
        paths = []
        for index, signed in enumerate(objects):
            path = os.path.join(tmp, str(index))
            with open(path, "wb") as handle:
                handle.write(signed)
            paths.append(path)
        written = git.execute(
            ["hash-object", "-w", "-t", "commit", "--stdin-paths"],
            input=("\n".join(paths) + "\n").encode(),
        ).stdout.split()
    if not written or written[-1].decode() != parent:
        raise GitError("git stored the signed ledger commits under unexpected ids")
    return parent


# Below this much free space, a failed write is most likely the full disk.
_LOW_DISK_BYTES = 64 * 1024 * 1024


def fast_import_failure(git: Git, count: int, result: GitResult) -> str:
    """What failed when git could not store the ledger commits, and what the operator does.

    A full disk often leaves git with nothing to say, so the free space is checked here.
    """
    said = (result.stderr + result.stdout).decode("utf-8", errors="replace").strip()
    said = said.splitlines()[-1] if said else f"git said nothing (exit code {result.returncode})"
    where = git.path / ".git" if (git.path / ".git").exists() else git.path
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        free = None
    disk = (
        f"the disk holding {where} has {free // (1024 * 1024)} MiB free"
        if free is not None
        else f"the free space at {where} could not be read"
    )
    hint = (
        "free space on the runner (or give it a bigger disk)"
        if free is None or free < _LOW_DISK_BYTES
        else f"check that {where} is writable and not damaged (`git fsck`)"
    )
    return (
        f"writing {count} ledger commit(s) with `git fast-import` failed in {git.path}: {said}; "
        f"{disk}. Nothing was recorded or pushed; what Vault issued or revoked stays "
        f"consistent and the next sync records it. To fix: {hint}, then run `jitflow sync` again"
    )


Stamp = Callable[[Sequence[LedgerCommit]], list[LedgerCommit]]


class LedgerWriter:
    """Writes one sync attempt's commits on top of `base`, possibly started early.

    Building the trees of a thousand commits takes git about as long as Vault takes to
    revoke a thousand tokens, so the sync hands over the commits it will make if every
    revocation succeeds (`start_early`) and git builds them meanwhile. `write` then reuses
    that work when the final commits begin with exactly those (the usual case), and writes
    from scratch otherwise. Nothing is recorded until the push: early commits only exist as
    unreferenced objects, which git's garbage collection drops when unused.
    """

    def __init__(
        self,
        git: Git,
        base: str,
        identity: Identity,
        signer: Signer | None = None,
        trailer: str = "",
    ) -> None:
        self.git = git
        self.base = base
        self.identity = identity
        self.signer = signer
        self.trailer = trailer  # the run's checkpoint (sync/recent.py), on every commit
        # what the run adds to each commit given those before it (sync/review_trailer.py), set
        # before the first write; stamping a prefix of commits gives a prefix of the stamped
        self.stamp: Stamp = list
        self._by = WrittenAs(identity, signer, trailer)
        self._early: tuple[list[LedgerCommit], Future[str]] | None = None

    def start_early(self, commits: Sequence[LedgerCommit]) -> None:
        """Start writing `commits` in the background (replacing any earlier start)."""
        self._settle()
        if commits:
            early = list(commits)
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-writer")
            stamped = self.stamp(early)
            future = pool.submit(write_commits, self.git, self.base, stamped, self._by)
            pool.shutdown(wait=False)
            self._early = (early, future)

    def write(self, commits: Sequence[LedgerCommit]) -> str:
        """The tip after `commits`, reusing the early start when it is a prefix of them."""
        early, self._early = self._early, None
        if early is not None:
            started, future = early
            prefix = len(started)
            reusable = len(commits) >= prefix and all(
                a is b for a, b in zip(started, commits[:prefix], strict=True)
            )
            tip = _result_or_none(future)
            if reusable and tip is not None:
                return write_commits(self.git, tip, self.stamp(commits)[prefix:], self._by)
        return write_commits(self.git, self.base, self.stamp(commits), self._by)

    def _settle(self) -> None:
        if self._early is not None:
            _result_or_none(self._early[1])
            self._early = None


def _result_or_none(future: Future[str]) -> str | None:
    """An early write's tip, or None when it failed: the commits are then written again
    from scratch, which reports any error that persists."""
    try:
        return future.result()
    except (JitflowError, OSError):
        return None


def _heap_env() -> dict[str, str]:
    """fast-import allocates and frees large buffers for every object it stores; glibc maps
    and unmaps each one, so a thousand commits cost a third of their time in page faults.
    Serving them from the heap instead removes that (other C libraries ignore the variable)."""
    tunables = [t for t in os.environ.get("GLIBC_TUNABLES", "").split(":") if t]
    tunables += ["glibc.malloc.mmap_threshold=33554432", "glibc.malloc.trim_threshold=67108864"]
    return {"GLIBC_TUNABLES": ":".join(tunables)}
