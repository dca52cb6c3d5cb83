"""Bulk revocation: concurrent, per-grant results, within 2x of raw concurrent revokes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest

from jitflow.adapters.vault import GrantHandle, GrantOrder, RevokeOutcome, VaultGateway
from jitflow.core.model import GrantKind
from jitflow.errors import VaultError
from tests.vault.conftest import JitflowVault, new_request_id


class CountingProxy:
    """A loopback TCP relay that records how many connections were open at once."""

    def __init__(self, upstream: str) -> None:
        target = urlparse(upstream)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.addr = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self.open_now = 0
        self.max_open = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._target)
        with self._lock:
            self.open_now += 1
            self.max_open = max(self.max_open, self.open_now)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
        client.close()
        upstream.close()
        with self._lock:
            self.open_now -= 1

    def close(self) -> None:
        # Wake the accept loop first: an accept() left waiting on the closed listener is
        # restarted by the kernel after the process is stopped and continued, on the
        # descriptor number, and takes a later listener's connection (tests/test_accept_loops).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


@pytest.fixture()
def proxy(jitflow_vault: JitflowVault) -> Iterator[CountingProxy]:
    relay = CountingProxy(jitflow_vault.addr)
    yield relay
    relay.close()


def issue_many(gateway: VaultGateway, count: int) -> list[GrantHandle]:
    def one(_: int) -> GrantHandle:
        order = GrantOrder(
            request_id=new_request_id(),
            policy="bulk",
            requester="bob",
            kind=GrantKind.VAULT_TOKEN,
            duration_seconds=900,
            vault_policies=("jitflow-readonly",),
        )
        grant = gateway.issue(order)
        return GrantHandle(order.request_id, order.kind, grant.accessor, {})

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def test_revoke_many_is_concurrent_and_reports_each_grant(
    gateway: VaultGateway, runner_token: str, proxy: CountingProxy
) -> None:
    handles = issue_many(gateway, 200)
    already = handles[0]
    assert gateway.revoke(already) is RevokeOutcome.REVOKED
    broken = GrantHandle("broken", GrantKind.IDENTITY_GROUP, None, {})  # nothing recorded
    through_proxy = VaultGateway(proxy.addr, runner_token)

    results = through_proxy.revoke_many([*handles, broken], max_workers=16)

    assert [h for h, _ in results] == [*handles, broken]
    outcomes = [outcome for _, outcome in results]
    assert outcomes[0] is RevokeOutcome.ALREADY_GONE
    assert all(outcome is RevokeOutcome.REVOKED for outcome in outcomes[1:-1])
    assert isinstance(outcomes[-1], VaultError)
    assert all(gateway.lookup_accessor(h.accessor or "") is None for h in handles[:20])
    assert proxy.max_open >= 8, f"only {proxy.max_open} connections were open at once"
