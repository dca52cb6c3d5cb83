"""Bulk revocation is confirmed by a real read afterwards: one LIST for a large batch.

A relay between the gateway and a real OpenBao records every call, and can answer a
revoke-accessor itself without passing it on: a revocation that "succeeded" but never
happened, which only the confirming read can catch.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from jitflow.adapters.vault import GrantHandle, RevokeOutcome, VaultGateway
from jitflow.core.model import GrantKind
from jitflow.errors import VaultError
from jitflow.sandbox.servers.vault_setup import runner_policy_hcl
from tests.conftest_servers import JitflowVault
from tests.vault.conftest import api, make_token
from tests.vault.test_revoke_many import issue_many

REVOKE = "/v1/auth/token/revoke-accessor"
LOOKUP = "/v1/auth/token/lookup-accessor"
LIST = "/v1/auth/token/accessors"


class RecordingRelay:
    """Passes calls on to a real server, recording (method, path); fakes swallowed revokes."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.calls: list[tuple[str, str]] = []
        self.swallow: set[str] = set()  # accessors whose revocation is answered, not done
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.addr = f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self.calls.count((method, path))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, path: str, body: bytes) -> bool:
        """Record the call; True when the relay answers it itself (a swallowed revoke)."""
        with self._lock:
            self.calls.append((method, path))
            if method != "POST" or path != REVOKE or not self.swallow:
                return False
            return json.loads(body or b"{}").get("accessor") in self.swallow

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Silent: the calls carry tokens in their headers."""

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if relay._answer(self.command, self.path, body):
                    self.send_response(204)
                    self.end_headers()
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                upstream = http.client.HTTPConnection(*relay._upstream, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.getheader("Content-Type") or "")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_LIST = forward

        return Handler


@pytest.fixture()
def relay(jitflow_vault: JitflowVault) -> Iterator[RecordingRelay]:
    recording = RecordingRelay(jitflow_vault.addr)
    yield recording
    recording.close()


def alive(vault: JitflowVault, accessor: str) -> bool:
    answer = api(
        vault.addr, vault.root_token, "POST", "auth/token/lookup-accessor", {"accessor": accessor}
    )
    return answer.status_code == 200


def test_a_large_batch_is_confirmed_by_one_listing(
    gateway: VaultGateway, runner_token: str, relay: RecordingRelay, jitflow_vault: JitflowVault
) -> None:
    handles = issue_many(gateway, 40)
    gateway.revoke(handles[0])
    others = [
        GrantHandle("cert", GrantKind.SSH, None),
        GrantHandle("group", GrantKind.IDENTITY_GROUP, None),  # nothing recorded: an error
    ]
    through_relay = VaultGateway(relay.addr, runner_token)  # default threshold: 32 tokens

    results = through_relay.revoke_many([*handles, *others])

    assert [h for h, _ in results] == [*handles, *others]
    outcomes = [outcome for _, outcome in results]
    assert outcomes[0] is RevokeOutcome.ALREADY_GONE
    assert all(outcome is RevokeOutcome.REVOKED for outcome in outcomes[1:40])
    assert outcomes[40] is RevokeOutcome.NOT_REVOCABLE
    assert isinstance(outcomes[41], VaultError)
    assert relay.count("POST", REVOKE) == 40
    assert relay.count("LIST", LIST) == 1
    assert relay.count("POST", LOOKUP) == 0
    assert not any(alive(jitflow_vault, h.accessor or "") for h in handles)


def test_a_revocation_that_did_not_happen_is_reported_not_confirmed(
    gateway: VaultGateway, runner_token: str, relay: RecordingRelay, jitflow_vault: JitflowVault
) -> None:
    handles = issue_many(gateway, 6)
    survivor = handles[2].accessor or ""
    relay.swallow.add(survivor)
    through_relay = VaultGateway(relay.addr, runner_token, confirm_by_listing_from=4)

    results = through_relay.revoke_many(handles)

    failed = results[2][1]
    assert isinstance(failed, VaultError)
    assert "NOT revoked" in failed.message and survivor in failed.message
    assert all(o is RevokeOutcome.REVOKED for i, (_, o) in enumerate(results) if i != 2)
    assert relay.count("LIST", LIST) == 1
    assert relay.count("POST", REVOKE) == 7  # the survivor was tried once more
    assert relay.count("POST", LOOKUP) == 1  # ... and looked up after that
    assert alive(jitflow_vault, survivor)
    assert not any(alive(jitflow_vault, h.accessor or "") for i, h in enumerate(handles) if i != 2)
    assert gateway.revoke(handles[2]) is RevokeOutcome.REVOKED


def test_without_permission_to_list_each_token_is_looked_up(
    gateway: VaultGateway, relay: RecordingRelay, jitflow_vault: JitflowVault
) -> None:
    no_list = "\n".join(
        line for line in runner_policy_hcl().splitlines() if "auth/token/accessors" not in line
    )
    answer = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "POST",
        "sys/policies/acl/jitflow-runner-no-list",
        {"policy": no_list},
    )
    answer.raise_for_status()
    token = make_token(jitflow_vault, ["jitflow-runner-no-list"])
    handles = issue_many(gateway, 5)
    through_relay = VaultGateway(relay.addr, token, confirm_by_listing_from=4, backoff=0.01)

    results = through_relay.revoke_many(handles)

    assert all(outcome is RevokeOutcome.REVOKED for _, outcome in results)
    assert relay.count("LIST", LIST) == 1  # refused (403): fall back to lookups
    assert relay.count("POST", LOOKUP) == 5
    assert not any(alive(jitflow_vault, h.accessor or "") for h in handles)


def test_a_small_batch_is_confirmed_one_lookup_per_token(
    gateway: VaultGateway, runner_token: str, relay: RecordingRelay
) -> None:
    handles = issue_many(gateway, 3)
    results = VaultGateway(relay.addr, runner_token).revoke_many(handles)
    assert all(outcome is RevokeOutcome.REVOKED for _, outcome in results)
    assert relay.count("POST", LOOKUP) == 3
    assert relay.count("LIST", LIST) == 0
