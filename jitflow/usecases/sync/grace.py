"""A young orphan token may belong to a sync that is still running, not to one that died.

Replacing it would revoke credentials that sync is delivering at that moment. So before
settling an orphan of a pending request younger than the grace period, a sync waits (at most
until the youngest one is that old) for main to move: if it moves, the other sync recorded
its work and this one re-plans; if not, the orphan's sync is taken for dead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from jitflow.adapters.git import Git
from jitflow.adapters.git.remote import remote_tip
from jitflow.core.grants import TokenInfo
from jitflow.errors import ConfigError
from jitflow.usecases.sync.context import RunMemory
from jitflow.usecases.sync.state import MainState

DEFAULT_GRACE_SECONDS = 20
_POLL_SECONDS = 0.5


def grace_seconds(environ: Mapping[str, str]) -> int:
    """JITFLOW_ORPHAN_GRACE: seconds a young orphan's sync gets to record it (default 20)."""
    raw = environ.get("JITFLOW_ORPHAN_GRACE", "").strip()
    if not raw:
        return DEFAULT_GRACE_SECONDS
    if not raw.isdigit():
        raise ConfigError(f"JITFLOW_ORPHAN_GRACE must be a whole number of seconds, not {raw!r}")
    return int(raw)


def young_orphans_deadline(
    infos: Iterable[TokenInfo],
    state: MainState,
    memory: RunMemory,
    grace: int,
    clock: Callable[[], float] = time.time,
) -> float | None:
    """When the youngest orphan of a pending request (not this run's own) is `grace` seconds
    old, or None when there is nothing to wait for."""
    created = [
        info.created_at.timestamp()
        for info in infos
        if info.created_at is not None
        and info.request_id in state.request_bytes
        and not _own(memory, info)
    ]
    if not created:
        return None
    deadline = max(created) + grace
    return deadline if deadline > clock() else None


def _own(memory: RunMemory, info: TokenInfo) -> bool:
    """Whether the token is this run's own grant (issued in an earlier attempt)."""
    issued = memory.issued.get(info.request_id or "")
    return issued is not None and issued.accessor == info.accessor


def main_moved_before(
    git: Git,
    remote: str,
    branch: str,
    base: str,
    deadline: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether `branch` moves away from `base` before `deadline` (polling the remote)."""
    while clock() < deadline:
        tip = remote_tip(git, remote, branch)
        if tip is not None and tip != base:
            return True
        sleep(min(_POLL_SECONDS, max(0.0, deadline - clock())))
    return False
