"""archived_among: which ids the archive holds at a commit. Its month trees are remembered
per full commit id (a commit's trees never change); a branch name moves, so it is read again."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git.reading import archived_among
from tests.gitrepo import GitRepo

_RECORD = b"policy: ops-read\n"


def test_an_id_archived_after_a_lookup_by_branch_name_is_found_there(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "ledger")
    first = repo.commit({"requests/archive/2026/11/old.yaml": _RECORD}, branch="main")
    assert archived_among(repo.git, first, ["old", "new"]) == {"old"}
    assert archived_among(repo.git, "main", ["old", "new"]) == {"old"}

    second = repo.commit(
        {"requests/archive/2026/12/new.yaml": _RECORD}, parent=first, branch="main"
    )

    assert archived_among(repo.git, "main", ["old", "new"]) == {"old", "new"}
    assert archived_among(repo.git, second, ["old", "new"]) == {"old", "new"}
    assert archived_among(repo.git, first, ["old", "new"]) == {"old"}  # remembered, unchanged


def test_the_same_commit_in_another_repository_with_other_ids_asked(tmp_path: Path) -> None:
    files = {"requests/archive/2026/11/a.yaml": _RECORD, "requests/archive/2026/11/b.yaml": _RECORD}
    one = GitRepo.create(tmp_path / "one")
    other = GitRepo.create(tmp_path / "other")
    sha = one.commit(files, branch="main")
    assert other.commit(files, branch="main") == sha  # same content, dates and identity

    assert archived_among(one.git, sha, ["a"]) == {"a"}
    assert archived_among(other.git, sha, ["b", "c"]) == {"b"}
