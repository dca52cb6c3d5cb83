"""A Vault that accepts connections and never answers (SIGSTOPped, wedged) costs a run two
timeouts, not one per call: then every call fails at once, saying why."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from jitflow.adapters.vault import VaultGateway
from jitflow.adapters.vault.login import timeout_from_env
from jitflow.errors import ConfigError, VaultError


class _Silent(socketserver.BaseRequestHandler):
    """Reads the request and never answers, until the test ends."""

    connections = 0
    released = threading.Event()

    def handle(self) -> None:
        type(self).connections += 1
        self.request.recv(65536)
        self.released.wait(30)


@pytest.fixture
def silent_vault() -> Iterator[str]:
    _Silent.connections = 0
    _Silent.released.clear()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Silent.released.set()
        server.shutdown()
        server.server_close()


def test_a_hung_vault_costs_two_timeouts_then_fails_fast(silent_vault: str) -> None:
    gateway = VaultGateway(silent_vault, "not-a-real-token", timeout=0.5, backoff=0.01)
    with pytest.raises(VaultError) as first:
        gateway.lookup_accessor("some-accessor")
    assert "did not answer within 0.5s (JITFLOW_VAULT_TIMEOUT)" in first.value.message
    assert _Silent.connections == 2  # tried once more, not three times more
    for _ in range(3):
        with pytest.raises(VaultError) as later:
            gateway.health()
        assert "nothing more is asked of it in this run" in later.value.message
    assert _Silent.connections == 2  # nothing more was asked
    assert "not-a-real-token" not in str(first.value) + str(later.value)


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "601"])
def test_the_timeout_setting_is_checked(raw: str) -> None:
    with pytest.raises(ConfigError, match="JITFLOW_VAULT_TIMEOUT"):
        timeout_from_env({"JITFLOW_VAULT_TIMEOUT": raw})
    assert timeout_from_env({"JITFLOW_VAULT_TIMEOUT": "2.5"}) == 2.5
    assert timeout_from_env({}) == 30.0
