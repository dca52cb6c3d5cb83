"""A real mutual-TLS endpoint: Python's `ssl` server that admits only client certificates
signed by a given CA (the PKI engine's), as a service guarded by `secret` grants would.

The server's own certificate is self-signed here (made at run time); the client pins it.
Each connection's verdict is kept: the client name it admitted, or OpenSSL's reason.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jitflow.sandbox.demo.cert_story import localhost_certificate

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = localhost_certificate()
    return write_server_pem(directory, cert, key)


def write_server_pem(
    directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    """server.pem and server.key (PKCS#8, unencrypted) in `directory`, made at run time."""
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _ping(port: int, server_cert: Path, client: tuple[Path, Path]) -> str:
    """What an mTLS client presenting `client` (certificate, key) reads after sending one
    line to 127.0.0.1:`port`, or `error: ...` when the handshake or the read fails."""
    context = ssl.create_default_context(cafile=str(server_cert))
    context.load_cert_chain(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"ping\n")
                return tls.recv(256).decode()
        except (ssl.SSLError, OSError) as exc:
            return f"error: {exc}"


class MtlsServer:
    """`http`: answer like a web service (for curl), else one line after the client's."""

    def __init__(self, client_ca_pem: str, directory: Path, *, http: bool = False) -> None:
        self.http = http
        self.server_cert, server_key = _self_signed(directory)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(self.server_cert, server_key)
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._context.load_verify_locations(cadata=client_ca_pem)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.verdicts: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                try:
                    with self._context.wrap_socket(conn, server_side=True) as tls:
                        peer = tls.getpeercert() or {}
                        subject = dict(pair for rdn in peer.get("subject", ()) for pair in rdn)
                        tls.recv(4096)
                        tls.sendall(self._answer(f"hello {subject.get('commonName', '?')}\n"))
                        self.verdicts.put(f"admitted {subject.get('commonName', '?')}")
                except (ssl.SSLError, OSError) as exc:
                    self.verdicts.put(f"refused: {exc}")

    def _answer(self, text: str) -> bytes:
        if not self.http:
            return text.encode()
        head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n"
        return (head + "\r\n" + text).encode()

    def start(self) -> None:
        self._thread.start()

    def connect(self, cert: Path, key: Path) -> tuple[str, str]:
        """(what the client read, the server's verdict) for one connection with this cert."""
        read = _ping(self.port, self.server_cert, (cert, key))
        return read, self.verdicts.get(timeout=30)

    def close(self) -> None:
        # Wake the accept loop first: an accept() left waiting on the closed listener is
        # restarted by the kernel after the process is stopped and continued, on the
        # descriptor number, and takes a later listener's connection (tests/test_accept_loops).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


@contextmanager
def mtls_server(client_ca_pem: str, directory: Path) -> Iterator[MtlsServer]:
    server = MtlsServer(client_ca_pem, directory)
    server.start()
    try:
        yield server
    finally:
        server.close()


def openssl_verdict(
    client_ca_pem: str, directory: Path, client: tuple[Path, Path], at: datetime
) -> tuple[str, str]:
    """One connection with the `client` (certificate, key) pair to OpenSSL's own mTLS endpoint,
    `openssl s_server -Verify`, which checks the certificate as of `at` (`-attime`: the time
    its verifier takes, not the machine's clock). Returns what the client read (the server
    answers a line reversed) and OpenSSL's verification lines. `directory` must be new."""
    directory.mkdir()
    server_cert, server_key = _self_signed(directory)
    ca_file = directory / "client-ca.pem"
    ca_file.write_text(client_ca_pem)
    command = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev"]
    command += ["-cert", str(server_cert), "-key", str(server_key), "-CAfile", str(ca_file)]
    command += ["-Verify", "1", "-verify_return_error", "-attime", str(int(at.timestamp()))]
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        accepting = next((line for line in server.stdout if line.startswith("ACCEPT ")), "")
        assert accepting, "openssl s_server did not start"
        port = int(accepting.rsplit(":", 1)[1])  # a free port it picked itself
        read = _ping(port, server_cert, client)
        output = server.communicate(timeout=30)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    verified = [line for line in output.splitlines() if line.startswith(("verify", "depth"))]
    return read, "\n".join(verified)
