"""`jitflow demo`: refusals before anything starts.

The whole story (every step, nothing secret printed, nothing left running, the kept
repository) is checked on the README's own `jitflow demo --keep access-demo` block, in
tests/readme's demo scenario (`tests/demo/story.check_whole_demo`): one run of the demo
serves both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jitflow.sandbox.servers.openbao import find_bao

pytestmark = pytest.mark.skipif(find_bao() is None, reason="the `bao` binary is not installed")


def test_demo_refuses_a_non_empty_keep_directory_before_starting(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious.txt").write_text("mine\n")
    result = subprocess.run(
        [sys.executable, "-m", "jitflow", "demo", "--keep", str(kept)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not empty" in result.stderr
    assert "OpenBao" not in result.stdout
    assert (kept / "precious.txt").read_text() == "mine\n"
