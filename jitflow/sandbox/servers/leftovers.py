"""Servers whose owner died before ending them (a SIGKILLed test worker, a killed demo).

A throwaway server's work directory names the process that started it (pid and start time,
so a reused pid is not taken for the owner). Each server started later first ends the
servers of its kind whose owner is gone and removes their directories: a killed test run
leaves no PostgreSQL or OpenBao running for the rest of the machine's life. Directories
without an owner file (made by an older jitflow) are left alone: nothing tells whose they are.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OWNER_FILE = "owner"


def _identity(pid: int) -> str:
    """`pid starttime` (starttime: clock ticks since boot, field 22 of /proc/pid/stat), or
    only the pid where /proc is missing; "" when no such process runs."""
    if not Path("/proc/self/stat").exists():  # no /proc here: the pid alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return ""
        except PermissionError:
            pass
        return str(pid)
    fields = _stat_fields(pid)
    return "" if fields is None else f"{pid} {fields[19]}"


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/pid/stat after the command name (state first); None: no process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def claim(workdir: Path) -> None:
    """Write this process as the owner of the server living in `workdir`."""
    (workdir / OWNER_FILE).write_text(_identity(os.getpid()) or str(os.getpid()))


def abandoned(workdir: Path) -> bool:
    """True when `workdir` names an owner and that process is gone."""
    try:
        owner = (workdir / OWNER_FILE).read_text().strip()
    except OSError:
        return False
    pid = owner.split()[0]
    return not pid.isdigit() or _identity(int(pid)) != owner


def sweep(prefix: str, end: Callable[[Path], None]) -> list[Path]:
    """End (`end(workdir)`) and remove every abandoned `<tmp>/<prefix>*` directory."""
    swept = []
    for workdir in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        if workdir.is_dir() and abandoned(workdir):
            with contextlib.suppress(OSError, ValueError, IndexError):  # a torn pid file
                end(workdir)
            shutil.rmtree(workdir, ignore_errors=True)
            swept.append(workdir)
    return swept


def running_in(workdir: Path, pid: int) -> bool:
    """Whether process `pid` runs with its working directory inside `workdir` (so a pid
    read from a stale file is never taken for some unrelated process)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    root = str(workdir.resolve())
    return cwd == root or cwd.startswith(root + os.sep)


def end_process(pid: int, sig: signal.Signals, *, grace: float = 10.0) -> None:
    """Send `sig`, wait up to `grace` seconds for the process to go, then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _identity(pid) or _zombie(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] == "Z"
