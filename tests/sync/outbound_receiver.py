"""A local HTTPS receiver for outbound delivery, as a careful customer would write one: TLS with
a certificate from a throwaway CA (trusted by jitflow through `ca_file`), HMAC signatures and
their replay window checked, event ids remembered so an event sent again is processed once (and
must come back byte for byte the same).

Each path can be told to misbehave: answer 500, answer 429 with `Retry-After` (always, or once),
answer after a delay (the request is processed first, like a slow receiver that commits before
answering), or call `on_receive` after processing and never answer (the test kills the sender
there).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jitflow.core.outbound import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from tests.mtls import write_server_pem


def make_ca_and_cert(directory: Path) -> tuple[bytes, Path, Path]:
    """A CA (PEM) and a server certificate and key for 127.0.0.1 signed by it (files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = write_server_pem(directory, cert, key)
    return ca.public_bytes(serialization.Encoding.PEM), cert_path, key_path


@dataclass
class Received:
    path: str
    delivery: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None  # None where the format carries no signature
    answered: int = 0  # the status sent back (0: none)

    def events(self) -> list[dict[str, Any]]:
        if self.path.startswith("/services/collector"):
            return [json.loads(line) for line in self.body.splitlines() if line.strip()]
        parsed = json.loads(self.body)
        return list(parsed.get("events", [parsed]))


@dataclass
class Receiver:
    url: str
    hmac_keys: dict[str, bytes]  # path -> key
    hec_token: str
    received: list[Received] = field(default_factory=list)
    processed: dict[str, Counter[str]] = field(default_factory=dict)  # path -> event ids
    again: dict[str, Counter[str]] = field(default_factory=dict)  # ids that came once more
    changed: list[str] = field(default_factory=list)  # ids that came again, different
    first: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, id) -> JSON
    modes: dict[str, str] = field(default_factory=dict)  # ok|fail|busy|busy-once|slow|kill
    retry_after: str = "1"  # what a busy path says in Retry-After
    slow_seconds: float = 4.0
    on_receive: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float, bool]:
        """Record the request; return (status, delay before answering, never answer)."""
        key = self.hmac_keys.get(path)
        signature_ok = None
        if key is not None:
            signature_ok = verify(key, headers.get(SIGNATURE_HEADER, ""), body, int(time.time()))
        if path.startswith("/services/collector"):
            signature_ok = headers.get("Authorization") == f"Splunk {self.hec_token}"
        record = Received(path, headers.get(DELIVERY_HEADER, ""), headers, body, signature_ok)
        mode = self.modes.get(path, "ok")
        with self.lock:
            self.received.append(record)
            if signature_ok is False:
                record.answered = 401
                return 401, 0, False
            if mode == "fail":
                record.answered = 500
                return 500, 0, False
            if mode in ("busy", "busy-once"):  # rate limited: not processed
                if mode == "busy-once":
                    self.modes[path] = "ok"
                record.answered = 429
                return 429, 0, False
            self._process(path, record)
        if mode == "kill":
            return 0, 0, True
        record.answered = 200
        return 200, self.slow_seconds if mode == "slow" else 0, False

    def _process(self, path: str, record: Received) -> None:
        """Process each event whose id is new; remember the ids that came again."""
        for event in record.events():
            uid = event_uid(path, event)
            if not uid:  # a Slack message: no event ids
                return
            text = json.dumps(event, sort_keys=True)
            if (path, uid) in self.first:
                self.again.setdefault(path, Counter())[uid] += 1
                if self.first[path, uid] != text:
                    self.changed.append(uid)
                continue
            self.first[path, uid] = text
            self.processed.setdefault(path, Counter())[uid] += 1


def event_uid(path: str, event: dict[str, Any]) -> str:
    """An event's id in a json, ocsf or HEC delivery ('' for anything else)."""
    if path.startswith("/services/collector"):
        event = event.get("event") or {}
    return str(event.get("id") or (event.get("metadata") or {}).get("uid") or "")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            status, delay, hang = receiver.handle(self.path, headers, body)
            if hang:
                if receiver.on_receive is not None:
                    receiver.on_receive()
                time.sleep(2)
                return
            time.sleep(delay)
            try:
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"text":"Success","code":0}')
            except OSError:
                pass  # the sender gave up waiting

    return Handler


@contextmanager
def https_receiver(
    directory: Path, hmac_keys: dict[str, bytes], hec_token: str
) -> Iterator[tuple[Receiver, bytes]]:
    """A running receiver and the CA certificate (PEM) that its certificate chains to."""
    ca_pem, cert, key = make_ca_and_cert(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(f"https://127.0.0.1:{server.server_address[1]}", hmac_keys, hec_token)
    server.RequestHandlerClass = _handler(receiver)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, ca_pem
    finally:
        server.shutdown()
        server.server_close()
