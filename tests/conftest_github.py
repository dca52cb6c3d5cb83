"""Fixtures for the GitHub stand-in, shared as a pytest plugin module.

Seed the repository with your own files by overriding `github_seed_files`:

    @pytest.fixture
    def github_seed_files() -> dict[str, bytes]:
        return {"policies/db.yaml": b"..."}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from tests.standin_helpers import DEFAULT_FILES, clone, make_bare_repo


@pytest.fixture
def github_seed_files() -> Mapping[str, bytes]:
    """The files of the initial commit on main (override to seed policies etc.)."""
    return DEFAULT_FILES


@pytest.fixture
def bare_repo(tmp_path: Path, github_seed_files: Mapping[str, bytes]) -> Path:
    """A bare repository (the "GitHub" side) with one commit on main."""
    return make_bare_repo(tmp_path, github_seed_files)


@pytest.fixture
def github_standin(bare_repo: Path) -> Iterator[GitHubStandIn]:
    """A started stand-in for acme/access over `bare_repo`, stopped afterwards."""
    with GitHubStandIn(bare_repo) as standin:
        yield standin


@pytest.fixture
def work_clone(bare_repo: Path, tmp_path: Path) -> Git:
    """A clone of `bare_repo` with user.name and user.email set."""
    return clone(bare_repo, tmp_path / "work")
