"""SSH signatures of git commits (OpenSSH PROTOCOL.sshsig), made and checked in-process.

The runner signs its ledger commits with an ephemeral ed25519 key certified by Vault's SSH
engine; `git verify-commit` with `gpg.ssh.allowedSignersFile` accepts them, and so does
`check_commit`, which does the same checks without a process per commit (an audit reads
hundreds of thousands): the certificate is signed by a `cert-authority` of the allowed
signers file for one of its principals, was valid at the commit's time, and signed the
commit object without its `gpgsig` header under the `git` namespace. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import shlex
import struct
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"SSHSIG"
NAMESPACE = b"git"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_SIG_HEADERS = (b"gpgsig ", b"gpgsig-sha256 ")


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


class _Reader:
    def __init__(self, blob: bytes) -> None:
        self.blob, self.pos = blob, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.blob):
            raise ValueError("truncated")
        chunk = self.blob[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def string(self) -> bytes:
        (size,) = struct.unpack(">I", self.take(4))
        return self.take(size)


def _signed_data(payload: bytes, namespace: bytes, hash_name: bytes) -> bytes:
    digest = hashlib.new(hash_name.decode(), payload).digest()
    return MAGIC + _string(namespace) + _string(b"") + _string(hash_name) + _string(digest)


def sign(payload: bytes, key: Ed25519PrivateKey, public_blob: bytes) -> str:
    """An armored SSH signature of `payload`; `public_blob` is the certificate (or key)."""
    raw = key.sign(_signed_data(payload, NAMESPACE, b"sha512"))
    blob = (
        MAGIC
        + struct.pack(">I", 1)
        + _string(public_blob)
        + _string(NAMESPACE)
        + _string(b"")
        + _string(b"sha512")
        + _string(_string(b"ssh-ed25519") + _string(raw))
    )
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def with_signature(payload: bytes, armored: str) -> bytes:
    """The commit object `payload` with its `gpgsig` header, as git writes it."""
    head, sep, message = payload.partition(b"\n\n")
    header = "gpgsig " + armored.rstrip("\n").replace("\n", "\n ")
    return head + b"\n" + header.encode() + b"\n" + sep[1:] + message


def split_signature(raw: bytes) -> tuple[bytes, str | None]:
    """(the signed payload, the armored signature or None) of a raw commit object."""
    head, sep, message = raw.partition(b"\n\n")
    kept: list[bytes] = []
    signature: list[bytes] | None = None
    in_sig = False
    for line in head.split(b"\n"):
        if in_sig and line.startswith(b" "):
            if signature is not None:
                signature.append(line[1:])
            continue
        in_sig = line.startswith(_SIG_HEADERS)
        if in_sig:
            if line.startswith(b"gpgsig ") and signature is None:
                signature = [line.split(b" ", 1)[1]]
            continue
        kept.append(line)
    armored = b"\n".join(signature).decode("ascii", "replace") if signature else None
    return b"\n".join(kept) + sep + message, armored


@dataclass(frozen=True)
class TrustedKey:
    """One line of an allowed signers file."""

    principals: tuple[str, ...]
    key: bytes  # the public key blob (wire format)
    cert_authority: bool
    namespaces: tuple[str, ...] = ()


class SignersError(ValueError):
    """An allowed signers line jitflow cannot read."""


def parse_allowed_signers(text: str) -> tuple[TrustedKey, ...]:
    """The lines of an allowed signers file (`ssh-keygen(1)` ALLOWED SIGNERS)."""
    trusted = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = shlex.split(line, comments=False)
            principals, rest = fields[0], fields[1:]
            options: list[str] = []
            if rest and not _looks_like_key_type(rest[0]):
                options = _split_options(rest.pop(0))
            key = base64.b64decode(rest[1], validate=True)
        except (IndexError, ValueError, binascii.Error) as exc:
            raise SignersError(f"line {number}: not `principals [options] keytype key`") from exc
        namespaces: tuple[str, ...] = ()
        for option in options:
            if option.lower().startswith("namespaces="):
                namespaces = tuple(option.split("=", 1)[1].split(","))
        trusted.append(
            TrustedKey(
                tuple(principals.split(",")),
                key,
                any(o.lower() == "cert-authority" for o in options),
                namespaces,
            )
        )
    return tuple(trusted)


def _looks_like_key_type(token: str) -> bool:
    return token.startswith(("ssh-", "ecdsa-", "sk-"))


def _split_options(token: str) -> list[str]:
    return [part for part in token.split(",") if part]


def _key_type(blob: bytes) -> str:
    return _Reader(blob).string().decode("ascii", "replace")


def check_commit(raw: bytes, trusted: tuple[TrustedKey, ...], at: datetime) -> str | None:
    """None when the commit is signed by a trusted key valid at `at`; else why not."""
    payload, armored = split_signature(raw)
    if armored is None:
        return "the commit is not signed"
    try:
        body = "".join(
            line.strip() for line in armored.splitlines() if line.strip() not in (BEGIN, END)
        )
        reader = _Reader(base64.b64decode(body, validate=True))
        if reader.take(6) != MAGIC or struct.unpack(">I", reader.take(4))[0] != 1:
            return "the signature is not an SSH signature"
        public_blob, namespace = reader.string(), reader.string()
        reader.string()
        hash_name, signature = reader.string(), reader.string()
        sig_reader = _Reader(signature)
        sig_type, raw_sig = sig_reader.string(), sig_reader.string()
    except (ValueError, binascii.Error, struct.error):
        return "the signature cannot be read"
    if namespace != NAMESPACE or hash_name not in (b"sha512", b"sha256"):
        return f"the signature is for namespace {namespace!r} with {hash_name!r}, not git"
    signer, why = _trusted_signer(public_blob, trusted, at)
    if signer is None:
        return why
    if sig_type != b"ssh-ed25519":
        return f"signatures of type {sig_type.decode(errors='replace')} are not accepted"
    try:
        signer.verify(raw_sig, _signed_data(payload, namespace, hash_name))
    except InvalidSignature:
        return "the signature does not match the commit (it was altered after signing)"
    return None


def _trusted_signer(
    blob: bytes, trusted: tuple[TrustedKey, ...], at: datetime
) -> tuple[Ed25519PublicKey | None, str]:
    """The key that may sign, given the signature's public key blob (certificate or key)."""
    key_type = _key_type(blob) if len(blob) > 4 else ""
    if not key_type.endswith("-cert-v01@openssh.com"):
        plain = [t for t in trusted if not t.cert_authority and t.key == blob and _git_ok(t)]
        if not plain:
            return None, "signed by a key that is neither a trusted key nor certified"
        return _ed25519(blob)
    try:
        cert = serialization.load_ssh_public_identity(
            key_type.encode() + b" " + base64.b64encode(blob)
        )
    except (ValueError, UnsupportedAlgorithm):
        return None, "the signing certificate cannot be read"
    if not isinstance(cert, serialization.SSHCertificate):
        return None, "the signing certificate cannot be read"
    ca_blob = _wire(cert.signature_key())
    principals = [p.decode(errors="replace") for p in cert.valid_principals]
    authorities = [t for t in trusted if t.cert_authority and t.key == ca_blob and _git_ok(t)]
    if not authorities:
        return None, "the signing certificate was issued by a CA the signers file does not trust"
    if not any(_matches(t.principals, principals) for t in authorities):
        return None, f"the certificate's principals {principals} are not trusted for the ledger"
    try:
        cert.verify_cert_signature()
    except (InvalidSignature, UnsupportedAlgorithm):
        return None, "the certificate's own signature is invalid"
    moment = int(at.timestamp())
    if cert.type is not serialization.SSHCertificateType.USER:
        return None, "the signing certificate is not a user certificate"
    if not cert.valid_after <= moment < cert.valid_before:
        return None, (
            f"the signing certificate (key id {cert.key_id.decode(errors='replace')!r}) was "
            "not valid at the commit's time"
        )
    return _ed25519(_wire(cert.public_key()))


def _wire(key: object) -> bytes:
    text = key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return base64.b64decode(text.split()[1])


def _ed25519(blob: bytes) -> tuple[Ed25519PublicKey | None, str]:
    reader = _Reader(blob)
    if reader.string() != b"ssh-ed25519":
        return None, "only ed25519 signing keys are accepted"
    return Ed25519PublicKey.from_public_bytes(reader.string()), ""


def _git_ok(key: TrustedKey) -> bool:
    return not key.namespaces or "git" in key.namespaces


def _matches(patterns: tuple[str, ...], principals: list[str]) -> bool:
    wanted = [p for p in patterns if not p.startswith("!")]
    return any(fnmatch.fnmatchcase(name, p) for name in principals for p in wanted)
