"""A throwaway server whose test process died (SIGKILL: no teardown ran) is ended by the next
server of its kind, and only then: a live owner's server, or one of unknown owner, stays."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jitflow.sandbox.servers import openbao, postgres
from jitflow.sandbox.servers.leftovers import OWNER_FILE, claim, sweep


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"jitflow-leftover-test-{secrets.token_hex(4)}-"
    yield name
    for workdir in Path(tempfile.gettempdir()).glob(f"{name}*"):
        shutil.rmtree(workdir, ignore_errors=True)


def _server_in(prefix: str, tag: str, pid_file: str) -> tuple[Path, subprocess.Popen[bytes]]:
    """A stand-in server process (sleep) running in a fresh work directory."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}{tag}-"))
    (workdir / "data").mkdir()
    process = subprocess.Popen(["sleep", "300"], cwd=workdir / "data")
    (workdir / pid_file).write_text(f"{process.pid}\n")
    return workdir, process


def _dead_owner() -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    return f"{done.stdout.strip()} 1"


@pytest.mark.parametrize(
    ("end", "pid_file"),
    [(postgres._end_abandoned, "data/postmaster.pid"), (openbao._end_abandoned, "server.pid")],
    ids=["postgres", "openbao"],
)
def test_a_server_whose_owner_died_is_ended_and_removed(
    prefix: str, end: object, pid_file: str
) -> None:
    orphan, orphan_process = _server_in(prefix, "dead", pid_file)
    (orphan / OWNER_FILE).write_text(_dead_owner())
    mine, my_process = _server_in(prefix, "live", pid_file)
    claim(mine)
    unknown, unknown_process = _server_in(prefix, "unknown", pid_file)
    try:
        swept = sweep(prefix, end)  # type: ignore[arg-type]

        assert swept == [orphan]
        assert orphan_process.wait(timeout=15) != 0 and not orphan.exists()
        assert my_process.poll() is None and mine.exists()
        assert unknown_process.poll() is None and unknown.exists()
    finally:
        for process in (orphan_process, my_process, unknown_process):
            process.kill()
            process.wait()
