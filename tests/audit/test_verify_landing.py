"""audit verify believes a recorded multi-commit landing only when history proves it: a
straight line of request-only commits from the recorded policy commit to the recorded merge."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.core.history import CommitRef, RequestTrail
from jitflow.usecases.audit.landing import recorded_landing

REQUEST = "requests/alice-1.yaml"
POLICY = "policies/ops-read.yaml"


def _commit(git: Git, files: dict[str, str]) -> str:
    for path, text in files.items():
        target = git.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "step")
    return git.run("rev-parse", "HEAD")


@pytest.fixture
def git(tmp_path: Path) -> Git:
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(tmp_path)], check=True)
    repo = Git(tmp_path)
    repo.run("config", "user.name", "alice")
    repo.run("config", "user.email", "alice@users.noreply.github.com")
    return repo


def _trail(git: Git, adding: str) -> RequestTrail:
    parents = tuple(git.run("rev-list", "--parents", "-n", "1", adding).split()[1:])
    ref = CommitRef(adding, datetime.now(UTC), "alice", "alice@users.noreply.github.com")
    return RequestTrail("alice-1", merge=ref, merge_parents=parents)


def test_a_line_of_request_only_commits_is_believed(git: Git) -> None:
    base = _commit(git, {POLICY: "strict\n"})
    adding = _commit(git, {REQUEST: "duration: 2h\n"})
    merge = _commit(git, {REQUEST: "duration: 30m\n"})
    landing = recorded_landing(
        git, _trail(git, adding), {"merge_commit": merge, "policy_commit": base}
    )
    assert landing is not None and landing.commits == {adding, merge}


def test_a_line_that_edits_policies_is_not_believed(git: Git) -> None:
    """The rebase attack: c1 loosens the policy, c2 adds the request, c3 reverts c1."""
    base = _commit(git, {POLICY: "strict\n"})
    _commit(git, {POLICY: "loose\n"})
    adding = _commit(git, {REQUEST: "duration: 8h\n"})
    merge = _commit(git, {POLICY: "strict\n"})
    grant = {"merge_commit": merge, "policy_commit": base}
    assert recorded_landing(git, _trail(git, adding), grant) is None


def test_a_policy_commit_that_is_not_below_the_line_is_not_believed(git: Git) -> None:
    _commit(git, {POLICY: "strict\n"})
    adding = _commit(git, {REQUEST: "duration: 2h\n"})
    merge = _commit(git, {REQUEST: "duration: 30m\n"})
    grant = {"merge_commit": merge, "policy_commit": "f" * 40}
    assert recorded_landing(git, _trail(git, adding), grant) is None
