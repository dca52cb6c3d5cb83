"""One base repository for all check scenarios; each test adds its own branch."""

from __future__ import annotations

import pytest

from tests.cli.scenarios import make_base
from tests.gitrepo import GitRepo


@pytest.fixture(scope="session")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return make_base(tmp_path_factory.mktemp("scenarios") / "access")
