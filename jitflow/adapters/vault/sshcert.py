"""Read the public fields of an OpenSSH certificate (PROTOCOL.certkeys), without ssh-keygen.

Needed to learn the validity Vault actually granted: the sign endpoint caps
the TTL at the role's maximum without saying so.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from jitflow.errors import VaultError

# Number of length-prefixed public-key fields that follow the nonce, per key type.
_KEY_FIELDS = {
    "ssh-rsa-cert-v01@openssh.com": 2,
    "ssh-dss-cert-v01@openssh.com": 4,
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": 2,
    "ssh-ed25519-cert-v01@openssh.com": 1,
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": 3,
    "sk-ssh-ed25519-cert-v01@openssh.com": 2,
}


@dataclass(frozen=True)
class SshCertificate:
    key_type: str
    serial: int
    key_id: str
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int


class _Reader:
    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.blob):
            raise ValueError("truncated certificate")
        chunk = self.blob[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def uint64(self) -> int:
        value: int = struct.unpack(">Q", self.take(8))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())


def parse_certificate(text: str) -> SshCertificate:
    """Parse `<type> <base64> [comment]` as written in `id_ed25519-cert.pub`."""
    try:
        parts = text.strip().split()
        blob = base64.b64decode(parts[1], validate=True)
        reader = _Reader(blob)
        key_type = reader.string().decode()
        fields = _KEY_FIELDS[key_type]
        reader.string()  # nonce
        for _ in range(fields):
            reader.string()
        serial = reader.uint64()
        reader.uint32()  # certificate type
        key_id = reader.string().decode(errors="replace")
        principals_blob = _Reader(reader.string())
        principals = []
        while principals_blob.pos < len(principals_blob.blob):
            principals.append(principals_blob.string().decode(errors="replace"))
        valid_after = reader.uint64()
        valid_before = reader.uint64()
    except (IndexError, KeyError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise VaultError("Vault returned an SSH certificate jitflow cannot read") from exc
    return SshCertificate(key_type, serial, key_id, tuple(principals), valid_after, valid_before)
