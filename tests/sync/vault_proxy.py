"""A small HTTP relay in front of a real OpenBao, that a test can cut and restore.

A dev server forgets everything when it restarts, so "Vault goes away and comes back" is
played by cutting this relay instead: while cut, every connection is dropped without an
answer, exactly what a client sees when the server dies mid-conversation. The cut is armed
on the n-th arrival of a given call, so it happens at the same point of a sync every time.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from jitflow.sandbox.lifecycle import LocalServer

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host"})


@dataclass
class _Trigger:
    method: str
    path_prefix: str
    nth: int
    after: str | None  # only count arrivals once a call with this prefix went through
    action: Callable[[], None] | None
    seen: int = 0


@dataclass
class _Fault:
    """Run `action` on the `nth` call relayed (any path), before it reaches the server or
    once the server answered it (the answer is then dropped: done, but never heard of)."""

    nth: int
    action: Callable[[], None]
    after_answer: bool
    method: str | None
    path_prefix: str
    seen: int = 0
    fired: bool = False


@dataclass
class _Answer:
    """A canned error answer for matching calls (Vault's JSON error shape)."""

    method: str
    path_prefix: str
    status: int
    errors: tuple[str, ...]
    times: int | None  # None: every time
    skip: int = 0  # let this many matching calls through first
    body_has: bytes = b""  # only calls whose body contains this
    given: int = 0
    passed: int = 0


class CuttableVaultProxy(LocalServer):
    """Relays every call to `upstream` until a trigger fires; then drops them all."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._lock = threading.Lock()
        self._trigger: _Trigger | None = None
        self._relayed: list[tuple[str, str]] = []
        self._answers: list[_Answer] = []
        self._fault: _Fault | None = None
        self._answered: list[tuple[str, str, int, bytes]] = []
        self.down = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CuttableVaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def cut_on(
        self,
        method: str,
        path_prefix: str,
        nth: int = 1,
        *,
        after: str | None = None,
        action: Callable[[], None] | None = None,
    ) -> None:
        """Cut when the `nth` `method` call to `/v1/<path_prefix>...` arrives (it is dropped).

        With `after`, arrivals count only once a call to `/v1/<after>...` was relayed.
        `action` runs at that moment, before the call is dropped (e.g. to kill the client).
        """
        with self._lock:
            self._trigger = _Trigger(method, f"/v1/{path_prefix}", nth, after, action)

    def answer_with(
        self,
        method: str,
        path_prefix: str,
        status: int,
        errors: tuple[str, ...] = ("permission denied",),
        *,
        times: int | None = None,
        skip: int = 0,
        body_has: str = "",
    ) -> None:
        """Answer `method` calls to `/v1/<path_prefix>...` (whose body contains `body_has`)
        with `status` (not relayed), after `skip` of them went through, `times` times or
        always; e.g. 403 for a policy that lost a capability, 500 for a server error after
        a write, Vault's 403 for one token it is expiring."""
        path = f"/v1/{path_prefix}"
        answer = _Answer(method, path, status, errors, times, skip, body_has.encode())
        with self._lock:
            self._answers.append(answer)

    def fault_at(
        self,
        nth: int,
        action: Callable[[], None],
        *,
        after_answer: bool = False,
        method: str | None = None,
        path_prefix: str = "",
    ) -> None:
        """Run `action` (e.g. SIGKILL or SIGSTOP the server) when the `nth` call (of `method`
        to `/v1/<path_prefix>...`, or any) arrives, and relay it anyway (a dead server
        refuses it, a stopped one hangs); with `after_answer`, once the server answered it,
        whose answer is then dropped."""
        with self._lock:
            self._fault = _Fault(nth, action, after_answer, method, f"/v1/{path_prefix}")

    @property
    def fault_fired(self) -> bool:
        with self._lock:
            return self._fault is not None and self._fault.fired

    def _count_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            fault = self._fault
            if fault is None or fault.fired or not path.startswith(fault.path_prefix):
                return None
            if fault.method is not None and fault.method != method:
                return None
            fault.seen += 1
            if fault.seen < fault.nth:
                return None
            fault.fired = True
            return fault

    def _canned(self, method: str, path: str, body: bytes | None) -> _Answer | None:
        with self._lock:
            for answer in self._answers:
                used_up = answer.times is not None and answer.given >= answer.times
                if used_up or answer.body_has not in (body or b""):
                    continue
                if method == answer.method and path.startswith(answer.path_prefix):
                    if answer.passed < answer.skip:
                        answer.passed += 1
                        continue
                    answer.given += 1
                    return answer
        return None

    def restore(self) -> None:
        """Vault is back: relay everything again, with no trigger armed."""
        with self._lock:
            self.down, self._trigger, self._answers = False, None, []
            self._fault = None

    def relayed(self, method: str, path_prefix: str) -> int:
        """How many `method` calls to `/v1/<path_prefix>...` reached the server."""
        with self._lock:
            return sum(
                1 for m, p in self._relayed if m == method and p.startswith(f"/v1/{path_prefix}")
            )

    @property
    def calls(self) -> int:
        """How many calls reached the server so far."""
        with self._lock:
            return len(self._relayed)

    def answers(self, method: str, path_prefix: str) -> list[bytes]:
        """The bodies of the successful answers Vault gave to `method /v1/<path_prefix>...`,
        including those the relay dropped (Vault did the work; the client never heard)."""
        with self._lock:
            return [
                body
                for m, p, status, body in self._answered
                if m == method and p.startswith(f"/v1/{path_prefix}") and status == 200
            ]

    def _admit(self, method: str, path: str) -> bool:
        """Decide under the lock whether this call reaches the server."""
        action = None
        with self._lock:
            trigger = self._trigger
            if not self.down and trigger is not None:
                armed = trigger.after is None or any(
                    p.startswith(f"/v1/{trigger.after}") for _, p in self._relayed
                )
                if armed and method == trigger.method and path.startswith(trigger.path_prefix):
                    trigger.seen += 1
                    if trigger.seen >= trigger.nth:
                        self.down, action = True, trigger.action
            if not self.down:
                self._relayed.append((method, path))
                return True
        if action is not None:
            action()
        return False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Relay(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                """Silent: requests carry tokens in headers and tests must not print them."""

            def relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                canned = proxy._canned(self.command, self.path, body)
                if canned is not None:
                    payload = json.dumps({"errors": list(canned.errors)}).encode()
                    self.send_response(canned.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if not proxy._admit(self.command, self.path):
                    self.close_connection = True
                    return
                fault = proxy._count_fault(self.command, self.path)
                if fault is not None and not fault.after_answer:
                    fault.action()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=60)
                try:
                    try:
                        upstream.request(self.command, self.path, body=body, headers=headers)
                        answer = upstream.getresponse()
                        payload = answer.read()
                        with proxy._lock:
                            proxy._answered.append(
                                (self.command, self.path, answer.status, payload)
                            )
                    except OSError:  # the server is dead or hung: so is this connection
                        self.close_connection = True
                        return
                    if fault is not None and fault.after_answer:
                        fault.action()
                        self.close_connection = True
                        return
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in _HOP_BY_HOP | {"content-length"}:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_LIST = relay

        return Relay
