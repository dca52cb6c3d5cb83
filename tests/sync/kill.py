"""Kill a real `jitflow sync` process at a fixed Vault call, seen by the relay in front."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from tests.sync.conftest import World
from tests.sync.vault_proxy import CuttableVaultProxy


def killed_at_answer(world: World, proxy: CuttableVaultProxy, method: str, path: str) -> None:
    """Run `jitflow sync`; SIGKILL it once Vault answered its first `method path` call, whose
    answer it never gets (Vault did the work; the run never heard of it)."""
    procs: list[subprocess.Popen[str]] = []
    started = threading.Event()

    def kill() -> None:
        started.wait(30)
        procs[0].send_signal(signal.SIGKILL)

    proxy.fault_at(1, kill, after_answer=True, method=method, path_prefix=path)
    _run_until_killed(world, proxy, procs, started)


def killed_sync(
    world: World,
    proxy: CuttableVaultProxy,
    method: str,
    path: str,
    *,
    nth: int = 1,
    after: str | None = None,
) -> None:
    """Run `jitflow sync`; SIGKILL it when the relay sees the `nth` `method path` call (which
    is dropped, after `after` went through); then Vault answers again."""
    procs: list[subprocess.Popen[str]] = []
    started = threading.Event()

    def kill() -> None:
        started.wait(30)
        procs[0].send_signal(signal.SIGKILL)

    proxy.cut_on(method, path, nth, after=after, action=kill)
    _run_until_killed(world, proxy, procs, started)


def _run_until_killed(
    world: World,
    proxy: CuttableVaultProxy,
    procs: list[subprocess.Popen[str]],
    started: threading.Event,
) -> None:
    procs.append(
        subprocess.Popen(
            [sys.executable, "-m", "jitflow", "sync", "--repo", str(world.runner.path)],
            env=world.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    started.set()
    procs[0].communicate(timeout=120)
    assert procs[0].returncode == -signal.SIGKILL
    proxy.restore()
