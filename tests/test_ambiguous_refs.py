"""A short reference name two refs answer to is refused, never silently resolved: git prefers
a tag `origin/main` (anyone who may push a tag can create one) over the remote branch
`refs/remotes/origin/main`, so `jitflow creds` would read an active record from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.errors import UsageError
from jitflow.usecases.creds import read_active
from tests.gitrepo import GitRepo

RECORD = b"policy: p\nrequester: alice\nreason: r\ngrant:\n  kind: vault-token\n  pr: 7\n"


def test_a_tag_shadowing_the_remote_branch_is_refused(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "r")
    real = repo.commit({"requests/active/alice-x.yaml": RECORD}, branch="main")
    forged = RECORD.replace(b"pr: 7", b"pr: 99")
    fake = repo.commit({"requests/active/alice-x.yaml": forged}, parent=real, branch="other")
    git = Git(repo.path)
    git.run("update-ref", "refs/remotes/origin/main", real)
    assert git.rev_parse("origin/main") == real  # one ref: fine
    git.run("tag", "origin/main", fake)
    with pytest.raises(UsageError, match="ambiguous"):
        git.rev_parse("origin/main")
    with pytest.raises(UsageError, match="refs/tags/origin/main"):
        read_active(git, "alice-x", "origin/main")
    assert git.rev_parse("refs/remotes/origin/main") == real  # the full name still works
