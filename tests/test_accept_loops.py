"""Test servers with a raw accept loop end that loop when they are closed.

A thread left blocked in accept() on a closed listener does not stay harmless: when the process
is stopped and continued (a freezer, job control, a debugger attaching), the kernel restarts the
call on the descriptor NUMBER, which a later listener of the same test worker may hold by then;
the leftover loop then takes that listener's next connection. That was the rare tests/workflows
404: a step's first request to its stand-in answered by a closed CountingProxy's relay to OpenBao
(no Server header, no request id; the stand-in accepted nothing). Closing must wake the loop.
Cost: well under a second.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from jitflow.sandbox.demo.cert_story import localhost_certificate
from tests.mtls import MtlsServer
from tests.vault.test_revoke_many import CountingProxy


def _accept_threads(owner: object) -> list[threading.Thread]:
    targets = [(t, getattr(t, "_target", None)) for t in threading.enumerate()]
    return [t for t, target in targets if getattr(target, "__self__", None) is owner]


def test_the_mtls_endpoint_ends_its_accept_loop_when_closed(tmp_path: Path) -> None:
    ca, _ = localhost_certificate()
    server = MtlsServer(ca.public_bytes(serialization.Encoding.PEM).decode(), tmp_path)
    server.start()
    [loop] = _accept_threads(server)
    server.close()
    loop.join(timeout=10)
    assert not loop.is_alive(), "the accept loop still waits on the closed listener"


def test_the_counting_relay_ends_its_accept_loop_when_closed() -> None:
    relay = CountingProxy("http://127.0.0.1:9")
    [loop] = _accept_threads(relay)
    relay.close()
    loop.join(timeout=10)
    assert not loop.is_alive(), "the accept loop still waits on the closed listener"
