"""Fixtures of the gate tests: a stand-in seeded with the example policies, and a scenario."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from tests.gate.scenario import Scenario, seed_files


@pytest.fixture
def github_seed_files() -> Mapping[str, bytes]:
    return seed_files()


@pytest.fixture
def scenario(github_standin: GitHubStandIn, bare_repo: Path, tmp_path: Path) -> Iterator[Scenario]:
    checkout = tmp_path / "runner-checkout"
    Git(tmp_path).run("clone", "--quiet", str(bare_repo), str(checkout))
    yield Scenario(github_standin, bare_repo, checkout, tmp_path)
