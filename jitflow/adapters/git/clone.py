"""The clone itself: where its shared git folder is, what it is configured with."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git.runner import Git


def common_dir(git: Git) -> Path:
    """The git folder shared by all work trees of this clone (for jitflow's own caches)."""
    common = Path(git.run("rev-parse", "--git-common-dir"))
    return common if common.is_absolute() else git.path / common


def setting(git: Git, key: str) -> str:
    """The configured value of `key` (like `github.user`), or "" when it is not set."""
    return git.execute(["config", "--get", key], check=False).text.strip()
