"""Drills: git failing under the sync the way it does in production (issue 12, items 4, 6).

A fake `git` first on PATH (tests/sync/git_shims.py) fails one command with git's or
GitHub's own words; everything else is the real git against a real bare repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from tests.sync.conftest import World
from tests.sync.git_shims import install_git_shim, shim_calls
from tests.sync.observe import active_grant, events, vault_tokens

# Every way the loser of a race for main is told (git's receive-pack, GitHub, old gits).
LOST_RACE = [
    " ! [remote rejected] main -> main (failed to update ref)\nerror: failed to push some refs",
    "remote: error: cannot lock ref 'refs/heads/main': is at "
    "4b825dc642cb6eb9a060e54bf8d69288fbee4904 but expected "
    "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n"
    " ! [remote rejected] main -> main (failed to lock)\nerror: failed to push some refs",
    " ! [remote rejected] main -> main (incorrect old value provided)",
    "error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\n"
    "send-pack: unexpected disconnect while reading sideband packet\n"
    "fatal: the remote end hung up unexpectedly",
]


@pytest.mark.parametrize("message", LOST_RACE, ids=["update-ref", "lock", "old-value", "500"])
def test_a_lost_race_for_main_is_replanned(world: World, tmp_path: Path, message: str) -> None:
    request_id, _ = world.approved_merge()
    shims = tmp_path / "shims"
    path = install_git_shim(shims, "push", message, move_main_of=world.bare)
    result = world.sync(check=False, env_extra={"PATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    assert shim_calls(shims, "push") == 1
    assert "someone else pushed" in Git(world.bare).run("log", "--format=%s", "main")
    grant = active_grant(world, request_id)
    assert grant is not None
    assert vault_tokens(world.vault).get(request_id) == [grant["vault"]["accessor"]]
    assert events(world, request_id) == ["issue"]


def test_a_refused_push_that_is_no_race_is_an_error(world: World, tmp_path: Path) -> None:
    world.approved_merge()
    refusal = " ! [remote rejected] main -> main (protected branch hook declined)"
    path = install_git_shim(tmp_path / "shims", "push", refusal)
    result = world.sync(check=False, env_extra={"PATH": path})
    assert result.returncode == 3
    assert "protected branch hook declined" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_full_disk_says_what_failed_and_what_to_do(world: World, tmp_path: Path) -> None:
    request_id, number = world.approved_merge()
    tip = Git(world.bare).rev_parse("main")
    path = install_git_shim(tmp_path / "shims", "fast-import", "", code=128, times=99)
    result = world.sync(check=False, env_extra={"PATH": path})
    assert result.returncode == 3
    said = result.stderr
    assert "no message" not in said and "Traceback" not in said
    assert "git fast-import" in said and "free" in said and "run `jitflow sync` again" in said
    assert Git(world.bare).rev_parse("main") == tip
    world.sync()  # the disk was freed
    grant = active_grant(world, request_id)
    assert grant is not None
    assert vault_tokens(world.vault).get(request_id) == [grant["vault"]["accessor"]]
    bodies = [str(c["body"]) for c in world.standin.comments(number)]
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)


def test_a_local_ref_moved_under_the_fetch_is_fetched_again(world: World, tmp_path: Path) -> None:
    request_id, _ = world.approved_merge()
    said = (
        "error: cannot lock ref 'refs/remotes/origin/main': is at "
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904 but expected "
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n"
        " ! 4b825dc..e69de29  main -> origin/main  (unable to update local ref)"
    )
    path = install_git_shim(tmp_path / "shims", "fetch", said)
    world.sync(env_extra={"PATH": path})
    assert shim_calls(tmp_path / "shims", "fetch") == 1
    assert active_grant(world, request_id) is not None
