"""Small helpers for the sync feature tests: change main directly, read the ledger back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jitflow.adapters.git import Git
from jitflow.core.history import parse_trailers
from jitflow.core.yamlio import load_yaml
from tests.standin_helpers import IDENTITY, write_files
from tests.sync.conftest import World


def push_to_main(world: World, files: Mapping[str, bytes], message: str) -> None:
    """An administrator's direct change on main (new policies, groups) before requests."""
    git = world.requester
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", "admin-change", "origin/main")
    write_files(git.path, files)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", message, env=IDENTITY)
    git.run("push", "--quiet", "origin", "admin-change:main")


def archived(world: World, request_id: str) -> dict[str, Any]:
    """The one archive record of `request_id` on main, parsed."""
    paths = [p for p in world.main_paths("requests/archive/") if f"/{request_id}.yaml" in p]
    assert len(paths) == 1, paths
    data: dict[str, Any] = load_yaml(world.main_file(paths[0]) or b"", paths[0]).data
    return data


def main_trailers(world: World, count: int) -> list[dict[str, str]]:
    """Trailers of the last `count` commits on main, newest first."""
    out = Git(world.bare).run("log", f"-{count}", "-z", "--format=%B", "main")
    return [parse_trailers(message) for message in out.split("\0") if message.strip()]


def comment_bodies(world: World, number: int) -> list[str]:
    return [str(c["body"]) for c in world.standin.comments(number)]
