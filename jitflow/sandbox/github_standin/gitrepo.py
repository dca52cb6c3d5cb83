"""What the stand-in reads from (and writes to) its bare repository.

Everything GitHub derives from git (PR files, commits, merge commits) is
computed here from real git objects, so tests see the diffs jitflow will see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin.webflow import WebFlow

ZERO_SHA = "0" * 40
_GITHUB_COMMITTER = {
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: str  # YYYY-MM-DDTHH:MM:SSZ


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added / modified / removed / renamed
    sha: str
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None = None

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass(frozen=True)
class MergeOutcome:
    tree: str | None  # None when the branches conflict
    conflicts: tuple[str, ...] = ()


def _utc(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_STATUS = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "T": "modified"}
_LOG_FORMAT = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"


class BareRepo:
    """Read-mostly view of the bare repository behind the stand-in."""

    def __init__(self, path: Path) -> None:
        self.git = Git(path)
        self.path = path
        # Object ids are immutable, so results keyed by them can be cached forever.
        self.files = lru_cache(maxsize=256)(self._files)
        self.commit = lru_cache(maxsize=1024)(self._commit)
        self.merge_outcome = lru_cache(maxsize=256)(self._merge_outcome)
        self.raw_commit = lru_cache(maxsize=1024)(self._raw_commit)
        self.web_flow = WebFlow()

    def branches(self) -> dict[str, str]:
        out = self.git.run(
            "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads"
        )
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def resolve(self, ref: str) -> str | None:
        """A branch name, full sha or abbreviated sha -> commit sha (None if unknown)."""
        for candidate in (f"refs/heads/{ref}", ref):
            result = self.git.execute(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"],
                check=False,
            )
            if result.returncode == 0:
                return result.text.strip()
        return None

    def merge_base(self, base: str, head: str) -> str | None:
        result = self.git.execute(["merge-base", base, head], check=False)
        return result.text.strip() if result.returncode == 0 else None

    def rev_list(self, base: str, head: str) -> tuple[str, ...]:
        """Commits on head that are not on base, oldest first (what a PR lists)."""
        out = self.git.run("rev-list", "--reverse", "--topo-order", f"{base}..{head}")
        return tuple(out.split())

    def contains(self, ancestor: str, descendant: str) -> bool:
        return self.git.ok("merge-base", "--is-ancestor", ancestor, descendant)

    def _commit(self, sha: str) -> CommitInfo:
        out = self.git.run("log", "-1", f"--format={_LOG_FORMAT}", sha, "--")
        fields = out.rstrip("\x1e").split("\x00")
        return CommitInfo(
            sha=fields[0],
            tree=fields[1],
            parents=tuple(fields[2].split()),
            author=Person(fields[3], fields[4], _utc(fields[5])),
            committer=Person(fields[6], fields[7], _utc(fields[8])),
            message=fields[9].rstrip("\n"),
        )

    def _raw_commit(self, sha: str) -> bytes:
        return self.git.execute(["cat-file", "commit", sha]).stdout

    def verification(self, info: CommitInfo) -> dict[str, Any]:
        """GitHub's `commit.verification` of a commit (webflow.py)."""
        return self.web_flow.verification(self.raw_commit(info.sha), info.committer.date)

    def sign_as_github(self, sha: str) -> str:
        """A commit GitHub made, signed with its web-flow key (a new object id)."""
        signed = self.web_flow.signed(self.raw_commit(sha))
        return self.git.run("hash-object", "-t", "commit", "-w", "--stdin", input=signed)

    def _files(self, base: str, head: str) -> tuple[FileChange, ...]:
        """The change from `base` to `head`, one entry per file, like GitHub's file list."""
        raw = self.git.execute(["diff", "--raw", "-z", "-M", "--abbrev=40", base, head]).stdout
        numstat = self.git.execute(["diff", "--numstat", "-z", "-M", base, head]).stdout
        counts = _parse_numstat(numstat)
        changes = []
        for status, old_sha, new_sha, old_path, new_path in _parse_raw(raw):
            added, deleted = counts.get(new_path, (0, 0))
            paths = [old_path, new_path] if old_path != new_path else [new_path]
            changes.append(
                FileChange(
                    filename=new_path,
                    status=_STATUS.get(status[0], "changed"),
                    sha=new_sha if new_sha != ZERO_SHA else old_sha,
                    additions=added,
                    deletions=deleted,
                    patch=self._patch(base, head, paths),
                    previous_filename=old_path if status[0] == "R" else None,
                )
            )
        return tuple(changes)

    def _patch(self, base: str, head: str, paths: list[str]) -> str | None:
        """The unified diff hunks of one file (GitHub omits the headers; binaries have none)."""
        text = self.git.run("diff", "-M", base, head, "--", *paths)
        start = text.find("\n@@")
        return text[start + 1 :] if start >= 0 else None

    def _merge_outcome(self, base: str, head: str) -> MergeOutcome:
        result = self.git.execute(
            ["merge-tree", "--write-tree", "--name-only", "--no-messages", base, head], check=False
        )
        lines = result.text.splitlines()
        if result.returncode == 0:
            return MergeOutcome(tree=lines[0])
        if result.returncode == 1:
            return MergeOutcome(tree=None, conflicts=tuple(lines[1:]))
        raise RuntimeError(f"git merge-tree failed: {result.stderr.decode(errors='replace')}")

    def commit_tree(
        self, tree: str, parents: tuple[str, ...], message: str, author: tuple[str, str]
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {**_GITHUB_COMMITTER, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
        return self.sign_as_github(self.git.run(*args, input=message.encode(), env=env))

    def update_branch(self, branch: str, new: str, old: str) -> bool:
        """Move a branch only if it still points at `old` (false when someone pushed)."""
        return self.git.ok("update-ref", f"refs/heads/{branch}", new, old)


def _parse_raw(data: bytes) -> list[tuple[str, str, str, str, str]]:
    parts = data.decode("utf-8", errors="surrogateescape").split("\0")
    entries = []
    i = 0
    while i < len(parts) and parts[i]:
        meta = parts[i].lstrip(":").split(" ")
        old_sha, new_sha, status = meta[2], meta[3], meta[4]
        if status[0] in "RC":
            old_path, new_path = parts[i + 1], parts[i + 2]
            i += 3
        else:
            old_path = new_path = parts[i + 1]
            i += 2
        entries.append((status, old_sha, new_sha, old_path, new_path))
    return entries


def _parse_numstat(data: bytes) -> dict[str, tuple[int, int]]:
    parts = data.decode("utf-8", errors="surrogateescape").split("\0")
    counts: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(parts) and parts[i]:
        added, deleted, path = parts[i].split("\t", 2)
        if path == "":  # a rename: the next two fields are the old and new path
            path = parts[i + 2]
            i += 3
        else:
            i += 1
        counts[path] = (int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0)
    return counts
