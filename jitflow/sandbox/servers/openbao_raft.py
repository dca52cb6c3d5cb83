"""A throwaway OpenBao on persistent (raft) storage, for fault drills and demos.

Unlike the dev server, it keeps its state on disk: it can be SIGKILLed and started again
at the same address on the same data directory, and comes back sealed, as a production
server does. Initialised with one unseal key; the key and the root token are kept in a
file (mode 0600) inside the data directory, which belongs to the test that made it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from jitflow.errors import UsageError
from jitflow.sandbox.lifecycle import LocalServer
from jitflow.sandbox.servers.openbao import free_port, spawn_bao

_CONFIG = """\
storage "raft" {{
  path    = "{data}"
  node_id = "jitflow-drill"
}}
listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable     = true
}}
api_addr      = "http://127.0.0.1:{port}"
cluster_addr  = "http://127.0.0.1:{cluster}"
disable_mlock = true
ui            = false
"""


class OpenBaoRaftServer(LocalServer):
    """`bao server` on raft storage in `workdir`, initialised and unsealed on start."""

    def __init__(self, workdir: Path, *, startup_timeout: float = 60.0) -> None:
        self.workdir = workdir
        self.port, self.cluster_port = free_port(), free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._keys = workdir / "init.json"

    def __repr__(self) -> str:
        return f"OpenBaoRaftServer(addr={self.addr!r}, root_token=<redacted>)"

    @property
    def root_token(self) -> str:
        token: str = json.loads(self._keys.read_text())["root_token"]
        return token

    @property
    def pid(self) -> int:
        if self._process is None:
            raise UsageError("the OpenBao server is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> OpenBaoRaftServer:
        """Start the process (on the data kept from before, if any), init once, unseal."""
        data = self.workdir / "raft"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "server.hcl"
        config.write_text(_CONFIG.format(data=data, port=self.port, cluster=self.cluster_port))
        self._process = spawn_bao(["server", f"-config={config}"], self.workdir, {})
        try:
            if self._health() == 501:
                self._initialise()
            self._unseal()
            self._wait_for(200)
        except BaseException:
            self.kill()
            raise
        return self

    def _call(self, method: str, path: str, body: object = None, token: str = "") -> int:
        """(status) of one API call; JSON answers of init are handled by `_initialise`."""
        request = urllib.request.Request(  # noqa: S310 (http to the server this class started)
            f"{self.addr}/v1/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Vault-Token": token} if token else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._startup_timeout) as response:  # noqa: S310
                if path == "sys/init" and method == "POST":
                    self._keys.write_bytes(response.read())
                    self._keys.chmod(0o600)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def _health(self) -> int:
        """The status of sys/health once the listener answers (200 active, 501 not
        initialised, 503 sealed, 429 standby)."""
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise UsageError(f"OpenBao exited early: {self.log_tail()}")
            try:
                return self._call("GET", "sys/health")
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise UsageError(f"OpenBao did not answer at {self.addr}")

    def _wait_for(self, status: int) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while self._health() != status:
            if time.monotonic() > deadline:
                raise UsageError(f"OpenBao at {self.addr} did not become active")
            time.sleep(0.1)

    def _initialise(self) -> None:
        answer = self._call("POST", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        if answer != 200:
            raise UsageError(f"OpenBao init failed ({answer}): {self.log_tail()}")

    def _unseal(self) -> None:
        key = json.loads(self._keys.read_text())["keys"][0]
        answer = self._call("POST", "sys/unseal", {"key": key})
        if answer != 200:
            raise UsageError(f"OpenBao unseal failed ({answer}): {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "server.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the server (SIGSTOP to hang it, SIGCONT to resume it)."""
        os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the server, as an OOM killer or a lost host would; the data stays."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=30)
            self._process = None

    def stop(self) -> None:
        """Ending a raft server is killing it: its data stays on disk for a restart."""
        self.kill()

    def restart(self) -> OpenBaoRaftServer:
        """Kill, then start again at the same address on the same data, and unseal."""
        self.kill()
        return self.start()
