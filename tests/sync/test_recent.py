"""Sync reads the recent history only: down to the newest runner checkpoint and the pending
requests' adding commits, deepening a shallow checkout on demand."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.ledger import RUNNER_EMAIL, RUNNER_NAME
from jitflow.usecases.sync.recent import (
    checkpoint_trailer,
    parse_checkpoint,
    read_recent,
)
from jitflow.usecases.sync.state import read_state
from tests.gitrepo import GitRepo

RUNNER = {
    "GIT_AUTHOR_NAME": RUNNER_NAME,
    "GIT_AUTHOR_EMAIL": RUNNER_EMAIL,
    "GIT_COMMITTER_NAME": RUNNER_NAME,
    "GIT_COMMITTER_EMAIL": RUNNER_EMAIL,
}
SHA = "a" * 40


def runner_commit(repo: GitRepo, parent: str, files: dict[str, str | None], trailer: str) -> str:
    """A commit as the runner writes it (identity and checkpoint trailer)."""
    plain = repo.commit(files, parent=parent)
    tree = repo.git.run("rev-parse", f"{plain}^{{tree}}")
    message = f"jitflow: expire x\n\nJitflow-Event: expire\n{trailer}\n"
    sha = repo.git.run("commit-tree", tree, "-p", parent, input=message.encode(), env=RUNNER)
    repo.git.run("update-ref", "refs/heads/main", sha)
    return sha


def filler(repo: GitRepo, parent: str, count: int) -> str:
    for index in range(count):
        parent = repo.commit({f"notes/{index}.txt": str(index)}, parent=parent, branch="main")
    return parent


def test_checkpoint_trailer_round_trips() -> None:
    assert checkpoint_trailer([]) == "Jitflow-Unsettled: none"
    assert parse_checkpoint("none") == {}
    assert parse_checkpoint(f"a-1 {SHA}, b-2 {SHA}") == {"a-1": SHA, "b-2": SHA}
    assert parse_checkpoint("a-1 not-a-sha") is None
    assert parse_checkpoint("") is None


def test_deletions_before_the_checkpoint_come_from_its_trailer(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    base = repo.commit(
        {f"requests/active/{name}.yaml": "policy: p\n" for name in ("old", "listed", "new")},
        branch="main",
    )
    old = repo.commit({"requests/active/old.yaml": None}, parent=base, branch="main")
    listed = repo.commit({"requests/active/listed.yaml": None}, parent=old, branch="main")
    # The run that wrote this checkpoint had seen `listed` but claims `old` was settled: the
    # walk stops here and believes it (audit verify is what re-checks the claim).
    tip = runner_commit(repo, filler(repo, listed, 70), {}, f"Jitflow-Unsettled: listed {listed}")
    new = repo.commit({"requests/active/new.yaml": None}, parent=tip, branch="main")
    tip = filler(repo, new, 3)

    state = read_state(repo.git, tip)
    assert {(d.id, d.commit) for d in state.ledger.deletions} == {("listed", listed), ("new", new)}
    assert read_recent(repo.git, tip, [], RUNNER_EMAIL).commits_read == 64  # not all 76


def test_archived_deletions_are_settled(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    base = repo.commit({"requests/active/gone.yaml": "policy: p\n"}, branch="main")
    deleted = repo.commit({"requests/active/gone.yaml": None}, parent=base, branch="main")
    tip = runner_commit(
        repo,
        deleted,
        {"requests/archive/2026/11/gone.yaml": "x\n"},
        f"Jitflow-Unsettled: gone {deleted}",
    )
    assert read_state(repo.git, tip).ledger.deletions == ()


def test_without_a_checkpoint_the_whole_history_is_read(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    base = repo.commit({"requests/active/early.yaml": "policy: p\n"}, branch="main")
    early = repo.commit({"requests/active/early.yaml": None}, parent=base, branch="main")
    tip = filler(repo, early, 80)
    assert [d.id for d in read_state(repo.git, tip).ledger.deletions] == ["early"]


def test_a_shallow_checkout_is_deepened_to_the_pending_requests(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "origin")
    base = repo.commit({"policies/p.yaml": "name: p\n"}, branch="main")
    added = repo.commit({"requests/alice-1.yaml": "policy: p\n"}, parent=base, branch="main")
    tip = filler(repo, runner_commit(repo, added, {}, "Jitflow-Unsettled: none"), 100)
    clone = tmp_path / "clone"
    Git(tmp_path).run("clone", "-q", "--depth=1", "--no-local", repo.path.as_uri(), str(clone))
    git = Git(clone)
    assert git.run("rev-list", "--count", "HEAD") == "1"

    state = read_state(git, tip)
    assert state.added_by == {"alice-1": added}
    assert git.ok("cat-file", "-e", f"{added}^")  # the policies' commit (its parent) is here
    assert int(git.run("rev-list", "--count", "HEAD")) < 1100  # deepened, not unshallowed
