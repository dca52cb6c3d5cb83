"""The demo's `secret` grant: a short-lived X.509 client certificate from OpenBao's PKI engine
(the example policy `orders-api-cert`), used for real in a mutual-TLS handshake with an
endpoint that admits only certificates of that CA and checks its CRL.

After the grant ends the same handshake is refused: revoking the grant revoked the
certificate's lease, which put it on the CA's CRL. A certificate can't be revoked otherwise:
for a relying party that doesn't check the CRL it stays valid until its notAfter, and the
ledger says so. The handshake runs in memory (two `ssl` objects over memory BIOs): no port, no
thread, a few milliseconds.
"""

from __future__ import annotations

import ssl
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from jitflow.sandbox.demo.world import DemoWorld


def is_certificate(values: dict[str, str]) -> bool:
    return "certificate" in values and "private_key" in values


def describe(values: dict[str, str]) -> str:
    """What alice received, with nothing secret in it."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(values["certificate"].encode())
    name = cert.subject.rfc4514_string()
    return f"X.509 client certificate {name}, serial {values.get('serial_number', '?')}, key ****"


def try_certificate(world: DemoWorld, values: dict[str, str]) -> tuple[bool, str]:
    """(admitted, what the mTLS endpoint said)."""
    crl = _crl(world)
    folder = world.workdir / "mtls"
    folder.mkdir(mode=0o700, exist_ok=True)
    server = _server_context(folder, world.setup.pki_ca_pem, crl)
    client_pem = folder / "client.pem"
    client_pem.touch(mode=0o600)
    client_pem.write_text(values["certificate"] + "\n" + values["private_key"] + "\n")
    try:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(cafile=str(folder / "server.pem"))
        client.load_cert_chain(str(client_pem))
        refused = _handshake(client, server)
    finally:
        client_pem.unlink()
    if refused:
        return False, f"mTLS handshake refused by the endpoint: {refused}"
    return True, "mTLS handshake OK: the endpoint admits the certificate (PKI CA, not on its CRL)"


def _crl(world: DemoWorld) -> bytes:
    """The PKI engine's CRL (PEM); Vault serves it without a token."""
    url = f"{world.bao.addr}/v1/{world.setup.pki_mount}/crl/pem"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (a loopback http URL)
        return bytes(answer.read())


def _server_context(folder: Path, ca_pem: str, crl: bytes) -> ssl.SSLContext:
    cert, key = _self_signed(folder)
    (folder / "crl.pem").write_bytes(crl)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(cert), str(key))
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cadata=ca_pem)
    server.load_verify_locations(cafile=str(folder / "crl.pem"))
    server.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return server


def _handshake(client_context: ssl.SSLContext, server_context: ssl.SSLContext) -> str:
    """Both sides' handshake over memory BIOs; "" when the server admitted the client, else
    OpenSSL's reason (e.g. "certificate revoked")."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_in, server_in = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(client_in, to_server, server_hostname="localhost")
    server = server_context.wrap_bio(server_in, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if done[name]:
                continue
            try:
                side.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                return str(getattr(exc, "verify_message", "") or exc.reason or exc)
        server_in.write(to_server.read())
        client_in.write(to_client.read())
        if all(done.values()):
            return ""
    return "the handshake did not complete"


def localhost_certificate() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed certificate for localhost (a client pins it) and its key, made at run time."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """The endpoint's own certificate for localhost, made once per demo folder."""
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = folder / "server.pem", folder / "server.key"
    if cert_path.exists():
        return cert_path, key_path
    cert, key = localhost_certificate()
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
