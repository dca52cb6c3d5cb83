"""Whether an unrecorded jitflow token belongs to a sync run still alive, or to a dead one.

Every token a run creates names the run's heartbeat token (`TokenInfo.run`), which the run
keeps renewing while it lives (jitflow.adapters.vault.heartbeat). So:

- a token whose run's heartbeat lives is *in flight*: that run is about to record it, so it
  is never revoked or replaced. A run that holds no unrecorded token of its own waits for
  main to move (the other run recorded its work: re-plan) or for the heartbeat to end (that
  run died); a run holding some leaves those requests to the other run, so two runs never
  wait for each other;
- a token whose heartbeat is gone (or that names none: a run of an older jitflow) is an
  orphan. Before settling one, the run checks that main has not moved since it read it:
  a run records its tokens before it ends its heartbeat, so a heartbeat seen gone with main
  unmoved means the run died without recording them.

Nothing here depends on how long a run takes; Vault's clock ends a heartbeat that nobody
renews, and a run renews its own once more before pushing what it issued (run.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from jitflow.adapters.git import Git
from jitflow.adapters.git.remote import remote_tip
from jitflow.core.grants import TokenInfo
from jitflow.usecases.port import VaultPort

# How long a run without tokens of its own waits for another live run to record its work
# before leaving those requests to it (a run stuck while its heartbeat thread still beats).
WAIT_SECONDS = 120.0
_POLL_SECONDS = 0.5


@dataclass
class Scan:
    """The unrecorded jitflow tokens, by who owns them."""

    orphans: list[TokenInfo] = field(default_factory=list)  # a dead run's, or this run's
    in_flight: list[TokenInfo] = field(default_factory=list)  # another live run's

    @property
    def runs(self) -> set[str]:
        return {t.run for t in self.in_flight if t.run}

    @property
    def in_flight_ids(self) -> set[str]:
        return {t.request_id for t in self.in_flight if t.request_id}


def split_by_run(listed: Iterable[TokenInfo], own_run: str | None, vault: VaultPort) -> Scan:
    """Sort tokens into orphans and in flight, looking each run's heartbeat up once."""
    alive: dict[str, bool] = {}
    scan = Scan()
    for info in listed:
        run = info.run
        if not run or run == own_run:
            scan.orphans.append(info)  # this run's own are settled from its memory
            continue
        if run not in alive:
            alive[run] = vault.lookup_accessor(run) is not None
        (scan.in_flight if alive[run] else scan.orphans).append(info)
    return scan


class Waited(Enum):
    MOVED = "main moved"  # the other run recorded its work: re-plan
    ENDED = "run ended"  # its heartbeat is gone: look again
    TIMEOUT = "still running"


@dataclass(frozen=True)
class Patience:
    """How long to wait for other runs, and the clock and sleep to wait with."""

    seconds: float = WAIT_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def wait_for_runs(
    git: Git,
    where: tuple[str, str, str],  # (remote, branch, the base this attempt read)
    runs: set[str],
    vault: VaultPort,
    patience: Patience = Patience(),
) -> Waited:
    """Wait until main moves away from the base or every run in `runs` has ended."""
    remote, branch, base = where
    clock, sleep = patience.clock, patience.sleep
    deadline = clock() + patience.seconds
    while True:
        if main_moved(git, remote, branch, base):
            return Waited.MOVED
        if all(vault.lookup_accessor(run) is None for run in runs):
            return Waited.ENDED
        if clock() >= deadline:
            return Waited.TIMEOUT
        sleep(_POLL_SECONDS)


def main_moved(git: Git, remote: str, branch: str, base: str) -> bool:
    tip = remote_tip(git, remote, branch)
    return tip is not None and tip != base
