"""archived_among: which ids the archive holds at a commit. Its month trees are remembered
per full commit id (a commit's trees never change); a branch name moves, so it is read again.
`prefetch_archive` starts reading them in the background for a lookup to come."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import archived_among, prefetch_archive
from jitflow.errors import GitError
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


def _no_git(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("a git process was started")


def test_a_prefetched_archive_answers_without_starting_git_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.create(tmp_path / "ledger")
    first = repo.commit({"requests/archive/2026/11/old.yaml": _RECORD}, branch="main")
    second = repo.commit({"requests/archive/2027/01/new.yaml": _RECORD}, parent=first)
    prefetch_archive(repo.git, second)

    monkeypatch.setattr(Git, "execute", _no_git)
    monkeypatch.setattr(Git, "cat_blobs", _no_git)
    assert archived_among(repo.git, second, ["old", "new", "other"]) == {"old", "new"}
    with pytest.raises(AssertionError, match="a git process was started"):
        archived_among(repo.git, first, ["old"])  # not prefetched: read now


def test_prefetches_never_picked_up_do_not_pile_up_or_mix(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "ledger")
    commits = [repo.commit({"requests/archive/2026/11/a.yaml": _RECORD}, branch="main")]
    for name in ("b", "c"):
        files = {f"requests/archive/2026/12/{name}.yaml": _RECORD}
        commits.append(repo.commit(files, parent=commits[-1], branch="main"))
    for sha in commits:
        prefetch_archive(repo.git, sha)
    prefetch_archive(repo.git, "main")  # a name moves: never read ahead

    assert [archived_among(repo.git, sha, "abc") for sha in reversed(commits)] == [
        {"a", "b", "c"},
        {"a", "b"},
        {"a"},
    ]


def test_a_background_read_that_failed_raises_when_its_answers_are_asked(tmp_path: Path) -> None:
    answers = Git(tmp_path).cat_blobs_later(["HEAD:x"])  # a folder that is no repository

    with pytest.raises(GitError, match=r"git cat-file failed: .*not a git repository"):
        answers()
