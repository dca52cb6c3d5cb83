"""A slow sync keeps its tokens: another sync takes a token for a dead run's orphan only once
that run's heartbeat token is gone, never because the run took long."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.adapters.github import GitHubGateway, settings_from_env
from jitflow.adapters.vault import VaultGateway
from jitflow.usecases.sync import SyncOptions, run_sync
from jitflow.usecases.sync.run_memory import SyncReport
from tests.standin_helpers import clone
from tests.sync.conftest import World
from tests.sync.observe import active_grant, events, vault_tokens
from tests.sync.test_orphans import _order

_WAIT = 120.0  # generous bounds on events that come within seconds


class _Relay:
    """A real Vault gateway with a hook on one method (called once, on its first use)."""

    def __init__(self, inner: VaultGateway, method: str, hook: Any) -> None:
        self._inner, self._method, self._hook, self._hooked = inner, method, hook, False

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name != self._method:
            return real

        def hooked(*args: Any, **kwargs: Any) -> Any:
            first, self._hooked = not self._hooked, True
            return self._hook(real, first, *args, **kwargs)

        return hooked


def _sync(world: World, repo: Path, vault: Any, env: dict[str, str]) -> SyncReport:
    github = GitHubGateway(replace(settings_from_env(env), backoff=0.01, min_write_interval=0.0))
    options = SyncOptions(repo, datetime.now(UTC).replace(microsecond=0))
    return run_sync(options, vault, github, env)


def _wait_for_main_to_leave(bare: Path, tip: str) -> None:
    deadline = time.monotonic() + _WAIT
    while Git(bare).rev_parse("main") == tip and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_sync_slower_than_any_grace_keeps_its_token(world: World, tmp_path: Path) -> None:
    """Sync A issues a grant and stalls (after checking for rivals, before pushing) while sync
    B scans Vault. B must leave A's token alone: A is alive. Under the former time-based
    grace, B took it for a dead run's orphan once older than the grace (0 s here: A slower
    than any grace), revoked it and issued its own; A then won the push and recorded a dead
    token (the requester's credentials never worked), and B revoked its own as a duplicate."""
    request_id, _ = world.approved_merge()
    tip = Git(world.bare).rev_parse("main")
    scanned = threading.Event()
    reports: dict[str, SyncReport] = {}
    env_b = {**world.env, "JITFLOW_ORPHAN_GRACE": "0"}  # read by the former grace only

    def b_scans(real: Any, first: bool, *args: Any, **kwargs: Any) -> Any:
        listed = real(*args, **kwargs)
        scanned.set()  # B has seen A's fresh token
        return listed

    def b_issues(real: Any, first: bool, *args: Any, **kwargs: Any) -> Any:
        _wait_for_main_to_leave(world.bare, tip)  # ... and pushes after A
        return real(*args, **kwargs)

    def run_b() -> None:
        inner = VaultGateway.from_env(env_b)
        relay = _Relay(_Relay(inner, "list_jitflow_tokens", b_scans), "issue", b_issues)
        reports["b"] = _sync(world, clone(world.bare, tmp_path / "runner2").path, relay, env_b)

    b = threading.Thread(target=run_b)

    def a_delivers(real: Any, first: bool, *args: Any, **kwargs: Any) -> Any:
        if first:  # A checked for rivals, and stalls before delivering and pushing
            b.start()
            assert scanned.wait(_WAIT)
        return real(*args, **kwargs)

    relay_a = _Relay(VaultGateway.from_env(world.env), "wrap", a_delivers)
    reports["a"] = _sync(world, world.runner.path, relay_a, world.env)
    b.join(_WAIT)
    assert not b.is_alive()

    assert reports["a"].ok and reports["a"].pushed, reports["a"].errors
    assert reports["b"].ok, reports["b"].errors
    grant = active_grant(world, request_id)
    assert grant is not None
    accessor = grant["vault"]["accessor"]
    assert (
        VaultGateway.from_env(world.env).lookup_accessor(accessor) is not None
    )  # the recorded token works
    assert vault_tokens(world.vault)[request_id] == [accessor]
    assert events(world, request_id) == ["issue"]  # B revoked nothing, issued nothing


def test_tokens_of_a_killed_run_are_orphans_once_its_heartbeat_is_gone(world: World) -> None:
    """A run that dies leaves tokens naming its heartbeat; once Vault ends the heartbeat
    (here: revoked, as if it expired unrenewed), the next sync replaces them at once."""
    request_id, _ = world.approved_merge()
    dead = VaultGateway.from_env(world.env)
    heartbeat = dead.open_run()
    left = dead.issue(_order(world, request_id))  # ... and the run dies
    token = dead.lookup_accessor(left.accessor or "")
    assert token is not None and token.run == heartbeat
    dead.close_run()

    world.sync()

    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["accessor"] != left.accessor
    assert VaultGateway.from_env(world.env).lookup_accessor(left.accessor or "") is None
    assert events(world, request_id) == ["revoke", "issue"]
