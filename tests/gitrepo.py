"""Build real git repositories for scenarios, with git plumbing (fast, no work-tree churn).

A scenario is a commit built on a parent by adding, replacing or deleting paths. Many
scenarios share one repository: each lives on its own branch, so the expensive part (the
repository and its base commit) is made once per test module.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git import Git

FIXED_DATE = "2026-11-20T08:00:00Z"
REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICIES = REPO_ROOT / "policies"


@dataclass(frozen=True)
class Entry:
    """A file with an explicit git mode: 100644 regular, 100755 executable, 120000 symlink."""

    content: bytes
    mode: str = "100644"


def symlink(target: str) -> Entry:
    return Entry(target.encode(), "120000")


def executable(content: str | bytes) -> Entry:
    return Entry(content.encode() if isinstance(content, str) else content, "100755")


FileValue = str | bytes | Entry | None  # None deletes the path


def _entry(value: str | bytes | Entry) -> Entry:
    if isinstance(value, Entry):
        return value
    return Entry(value.encode() if isinstance(value, str) else value)


def example_policy_files() -> dict[str, bytes]:
    """The shipped example policies and groups, keyed by repository path."""
    return {f"policies/{p.name}": p.read_bytes() for p in sorted(EXAMPLE_POLICIES.glob("*.yaml"))}


class GitRepo:
    """A real repository in a temp dir; commits are made without touching the work tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git = Git(path)
        self._counter = itertools.count(1)

    @classmethod
    def create(cls, path: Path) -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git.run("init", "-q", "-b", "main")
        repo.git.run("config", "user.name", "jitflow-tests")
        repo.git.run("config", "user.email", "tests@example.invalid")
        repo.git.run("config", "commit.gpgsign", "false")
        return repo

    def identity(self, login: str, date: str = FIXED_DATE) -> dict[str, str]:
        email = f"{login}@users.noreply.github.com"
        return {
            "GIT_AUTHOR_NAME": login,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": login,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
        }

    def commit(
        self,
        files: Mapping[str, FileValue],
        *,
        parent: str | None = None,
        branch: str | None = None,
        author: str = "admin",
        message: str = "change",
    ) -> str:
        """Commit `files` on top of `parent` (a ref or sha; None: a root commit).

        The new commit is stored under `refs/heads/<branch>` when a branch is given.
        """
        index = self.path / ".git" / f"scenario-index-{os.getpid()}-{next(self._counter)}"
        env = {"GIT_INDEX_FILE": str(index)}
        parent_sha = self.git.rev_parse(parent) if parent else None
        try:
            if parent_sha:
                self.git.run("read-tree", parent_sha, env=env)
            else:
                self.git.run("read-tree", "--empty", env=env)
            for path, value in files.items():
                if value is None:
                    self.git.run("update-index", "--force-remove", "--", path, env=env)
                    continue
                entry = _entry(value)
                blob = self.git.run("hash-object", "-w", "--stdin", input=entry.content)
                self.git.run(
                    "update-index", "--add", "--cacheinfo", f"{entry.mode},{blob},{path}", env=env
                )
            tree = self.git.run("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        args = ["commit-tree", tree]
        if parent_sha:
            args += ["-p", parent_sha]
        sha = self.git.run(*args, input=message.encode(), env=self.identity(author))
        if branch:
            self.git.run("update-ref", f"refs/heads/{branch}", sha)
        return sha

    def branch(
        self,
        name: str,
        files: Mapping[str, FileValue],
        *,
        base: str = "main",
        author: str = "alice",
    ) -> str:
        """A PR-like branch: one commit by `author` on top of `base`."""
        return self.commit(files, parent=base, branch=name, author=author, message=f"PR {name}")

    def checkout(self, ref: str) -> None:
        self.git.run("checkout", "-q", "-f", ref)

    def files_at(self, ref: str) -> list[str]:
        return self.git.run("ls-tree", "-r", "--name-only", ref).splitlines()

    def read(self, ref: str, path: str) -> bytes | None:
        return self.git.show_bytes(ref, path)
