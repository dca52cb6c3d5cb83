"""The ledger writer builds a sync's commits in the background while Vault works, and the
result is exactly what writing them afterwards would give; when some transitions fail, the
early work is dropped and the commits are written from scratch."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.adapters.git.writing import (
    Identity,
    LedgerCommit,
    LedgerWriter,
    WrittenAs,
    write_commits,
)
from tests.standin_helpers import make_bare_repo

WHEN = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
IDENTITY = Identity("jitflow-sync", "jitflow-sync@users.noreply.github.com")


def expiry(index: int) -> LedgerCommit:
    return LedgerCommit(
        f"jitflow: expire r{index:03d}\n\nJitflow-Event: expire\n",
        {
            f"requests/active/r{index:03d}.yaml": None,
            f"requests/archive/2026/11/r{index:03d}.yaml": b"ended:\n  reason: expired\n",
        },
        WHEN + timedelta(seconds=index),
    )


@pytest.fixture()
def repos(tmp_path: Path) -> tuple[Git, Git, str]:
    """Two copies of one history: the writer's, and one to compute the expected commits."""
    files = {f"requests/active/r{i:03d}.yaml": b"policy: p\n" for i in range(60)}
    bare = make_bare_repo(tmp_path, files)
    Git(tmp_path).run("clone", "--quiet", "--bare", str(bare), str(tmp_path / "copy.git"))
    return Git(bare), Git(tmp_path / "copy.git"), Git(bare).rev_parse("main")


def test_early_commits_are_built_in_the_background_and_reused(
    repos: tuple[Git, Git, str],
) -> None:
    git, copy, base = repos
    ends = [expiry(i) for i in range(60)]
    later = LedgerCommit("jitflow: issue r999\n", {"requests/active/r999.yaml": b"x\n"}, WHEN)
    expected_early = write_commits(copy, base, ends, WrittenAs(IDENTITY))
    expected = write_commits(copy, base, [*ends, later], WrittenAs(IDENTITY))

    writer = LedgerWriter(git, base, IDENTITY)
    writer.start_early(ends)
    deadline = time.monotonic() + 60
    while not git.ok("cat-file", "-e", f"{expected_early}^{{commit}}"):
        assert time.monotonic() < deadline, "the early commits never appeared"
        time.sleep(0.02)
    tip = writer.write([*ends, later])

    assert tip == expected
    log = git.run("log", "--format=%s", f"{base}..{tip}").splitlines()
    assert log[0] == "jitflow: issue r999" and len(log) == 61


def test_when_a_transition_fails_the_commits_are_written_from_scratch(
    repos: tuple[Git, Git, str],
) -> None:
    git, copy, base = repos
    ends = [expiry(i) for i in range(5)]
    kept = [ends[0], *ends[2:]]  # the second revocation failed: no commit for it

    writer = LedgerWriter(git, base, IDENTITY)
    writer.start_early(ends)
    tip = writer.write(kept)

    assert tip == write_commits(copy, base, kept, WrittenAs(IDENTITY))
    assert "r001" not in git.run("log", "--format=%s", f"{base}..{tip}")
    assert not git.run("for-each-ref", "refs/jitflow/")  # no work refs left behind
