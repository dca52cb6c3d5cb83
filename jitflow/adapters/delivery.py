"""Deliver issued secrets through a public PR comment, readable only by the requester.

The runner wraps credentials in Vault (a single-use wrapping token) and encrypts that
token with age to the SSH public keys the requester publishes on GitHub. The armored
result is posted in a PR comment; `jitflow creds <id>` decrypts it with the requester's
SSH private key. Nothing here ever puts the plaintext or a private key in a message.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

from jitflow.errors import DeliveryError

ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"

# age can encrypt to these SSH key types only (ecdsa and security-key types are not supported).
SUPPORTED_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ARMOR_BLOCK = re.compile(
    re.escape(ARMOR_BEGIN) + r"[ \t]*\r?\n(?P<body>[A-Za-z0-9+/=\r\n \t]*?)" + re.escape(ARMOR_END)
)
_CERT_LINE = re.compile(r"^[a-z0-9-]+-cert-v01@openssh\.com [A-Za-z0-9+/=]+(?: [^\r\n`]*)?$")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def credentials_marker(request_id: str) -> str:
    """The hidden line that lets the runner and `jitflow creds` find the delivery comment."""
    return f"<!-- jitflow:credentials:{_checked_id(request_id)} -->"


def certificate_marker(request_id: str) -> str:
    """The hidden line that identifies the comment carrying an SSH certificate."""
    return f"<!-- jitflow:certificate:{_checked_id(request_id)} -->"


# -- encryption ---------------------------------------------------------------------------


def encrypt_for_ssh_keys(plaintext: bytes, public_keys: Sequence[str]) -> str:
    """Encrypt to every usable SSH public key, so any of the requester's machines can read it.

    Returns ASCII-armored age (64-column base64 between BEGIN/END lines). Keys of a type
    age cannot use are skipped; if none is left, DeliveryError says which types were seen.
    """
    import pyrage

    recipients = []
    skipped: list[str] = []
    for line in public_keys:
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        key_type = key.split(None, 1)[0]
        if key_type not in SUPPORTED_KEY_TYPES:
            skipped.append(key_type)
            continue
        try:
            recipients.append(pyrage.ssh.Recipient.from_str(key))
        except pyrage.RecipientError:
            skipped.append(f"{key_type} (malformed)")
    if not recipients:
        if not skipped:
            raise DeliveryError(
                "the requester has no SSH public key on GitHub, so the credentials cannot be "
                "encrypted for them; add an ed25519 or RSA key at https://github.com/settings/keys"
            )
        raise DeliveryError(
            "none of the requester's SSH public keys on GitHub can be used by age "
            f"(found: {', '.join(sorted(set(skipped)))}; age supports ssh-ed25519 and ssh-rsa); "
            "add an ed25519 or RSA key at https://github.com/settings/keys"
        )
    try:
        armored: bytes = pyrage.encrypt(plaintext, recipients, armored=True)
    except pyrage.EncryptError as exc:
        raise DeliveryError(
            "encrypting the credentials with age failed; nothing was posted"
        ) from exc
    return armored.decode("ascii")


# -- decryption ---------------------------------------------------------------------------


def decrypt_with_ssh_identity(armored: str, identity_path: Path) -> bytes:
    """Decrypt an armored age blob with an unencrypted OpenSSH ed25519 or RSA private key."""
    import pyrage

    identity_bytes = _read_identity(identity_path)
    if _is_passphrase_protected(identity_bytes):
        raise DeliveryError(
            f"the SSH key {identity_path} is protected by a passphrase, which jitflow cannot "
            "use; make an unencrypted copy in a private directory (cp KEY COPY && ssh-keygen -p "
            "-N '' -f COPY), pass it with --identity COPY and delete it afterwards; or use "
            "another ed25519 or RSA key without a passphrase that is on your GitHub account"
        )
    try:
        identity = pyrage.ssh.Identity.from_buffer(identity_bytes)
    except pyrage.IdentityError as exc:
        raise DeliveryError(_identity_problem(identity_path, identity_bytes, exc)) from exc
    blob = _normalized_armor(armored)
    try:
        plaintext: bytes = pyrage.decrypt(blob.encode("ascii"), [identity])
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise DeliveryError(
                f"the SSH key {identity_path} is not a recipient of these credentials: they were "
                "encrypted to the requester's SSH keys on GitHub at issue time; use the private "
                "key of one of those (pass it with --identity)"
            ) from exc
        raise DeliveryError(
            "the encrypted credentials are damaged or incomplete; copy the whole block from "
            f"the PR comment, including the {ARMOR_BEGIN} and {ARMOR_END} lines"
        ) from exc
    return plaintext


def identity_public_key(identity_path: Path) -> str:
    """`<type> <base64>` of the public half of an unencrypted OpenSSH private key."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    key = _read_identity(identity_path)
    if _is_passphrase_protected(key):
        raise DeliveryError(
            f"the SSH key {identity_path} is protected by a passphrase; pass its public half "
            "instead (the .pub file next to it) or an unencrypted copy with --identity"
        )
    try:
        private = serialization.load_ssh_private_key(key, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DeliveryError(f"{identity_path} is not an OpenSSH private key") from exc
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return " ".join(public.decode("ascii").split()[:2])


def _read_identity(identity_path: Path) -> bytes:
    try:
        return identity_path.read_bytes()
    except FileNotFoundError as exc:
        raise DeliveryError(
            f"SSH private key {identity_path} does not exist; pass the key whose public part is "
            "on your GitHub account with --identity PATH"
        ) from exc
    except IsADirectoryError as exc:
        raise DeliveryError(f"{identity_path} is a directory, not an SSH private key") from exc
    except PermissionError as exc:
        raise DeliveryError(
            f"cannot read SSH private key {identity_path}: permission denied"
        ) from exc
    except OSError as exc:
        raise DeliveryError(
            f"cannot read SSH private key {identity_path}: {exc.strerror or 'I/O error'}"
        ) from exc


def _is_passphrase_protected(key: bytes) -> bool:
    """Look at the key's header only: OpenSSH stores the cipher name in clear text."""
    text = key.decode("ascii", errors="replace")
    if "Proc-Type: 4,ENCRYPTED" in text or "BEGIN ENCRYPTED PRIVATE KEY" in text:
        return True
    match = re.search(
        r"-----BEGIN OPENSSH PRIVATE KEY-----(.*?)-----END OPENSSH PRIVATE KEY-----", text, re.S
    )
    if not match:
        return False
    try:
        raw = base64.b64decode("".join(match.group(1).split()), validate=True)
    except ValueError:
        return False
    if not raw.startswith(_OPENSSH_MAGIC):
        return False
    offset = len(_OPENSSH_MAGIC)
    length = int.from_bytes(raw[offset : offset + 4], "big")
    cipher = raw[offset + 4 : offset + 4 + length]
    return cipher not in (b"none", b"")


def _identity_problem(identity_path: Path, key: bytes, exc: Exception) -> str:
    reason = str(exc).lower()
    head = key.lstrip()[:64]
    if any(head.startswith(t.encode()) for t in (*SUPPORTED_KEY_TYPES, "ecdsa-", "sk-")):
        return (
            f"{identity_path} is an SSH public key; pass the private key instead "
            "(the same path without .pub)"
        )
    if "unsupported" in reason:
        return (
            f"the SSH key {identity_path} is of a type age cannot use (only ed25519 and RSA "
            "keys work, not ecdsa or security keys); use an ed25519 or RSA key that is on your "
            "GitHub account"
        )
    if "decrypted" in reason:
        return (
            f"the SSH key {identity_path} is protected by a passphrase; make an unencrypted "
            "copy with `ssh-keygen -p -N '' -f COPY` and pass that with --identity"
        )
    return f"{identity_path} is not an SSH private key that age can read"


def _normalized_armor(armored: str) -> str:
    """Accept a block copied with CRLF line ends or surrounding text, as people paste it."""
    match = _ARMOR_BLOCK.search(armored)
    if not match:
        raise DeliveryError(
            f"no age-encrypted block found: expected text between {ARMOR_BEGIN} and {ARMOR_END}"
        )
    lines = [line.strip() for line in match.group("body").splitlines() if line.strip()]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


# -- PR comments --------------------------------------------------------------------------


def render_delivery_comment(request_id: str, armored: str, *, expires_hint: str) -> str:
    """The PR comment that carries the encrypted wrapping token (safe to publish)."""
    marker = credentials_marker(request_id)
    blob = _normalized_armor(armored)
    hint = " ".join(expires_hint.split())
    return (
        f"{marker}\n"
        f"### Credentials for `{request_id}`\n\n"
        "The credentials were issued and wrapped in Vault. The single-use wrapping token is "
        "encrypted below with [age](https://age-encryption.org) to the requester's SSH public "
        "keys on GitHub: only the matching private key can read it, and it can be unwrapped "
        f"once ({hint}).\n\n"
        "To get them, run in a checkout of this repository:\n\n"
        "```sh\n"
        f"jitflow creds {request_id}\n"
        "```\n\n"
        "It finds this comment, decrypts it with your SSH private key (choose one with "
        "`--identity PATH`; keys with a passphrase need an unencrypted copy) and unwraps the "
        "credentials. If someone else already unwrapped them, Vault refuses: treat that as a "
        "possible leak and revoke the grant.\n\n"
        "```text\n"
        f"{blob}"
        "```\n"
    )


def delivered_digest(material: str) -> str:
    """`sha256:<hex>` of what a delivery comment carries (the armored blob, normalized, or the
    certificate line): the ledger records it, so `jitflow creds` believes only that comment.

    Anyone may encrypt to the requester's public keys, and every workflow of the repository
    comments as the runner does (`github-actions[bot]`): the comment's author proves nothing.
    """
    import hashlib

    text = _normalized_armor(material) if ARMOR_BEGIN in material else material.strip()
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse_delivery_comment(body: str, request_id: str) -> str | None:
    """The armored blob from a delivery comment for `request_id`, or None if it is not one."""
    marker = credentials_marker(request_id)
    text = body.replace("\r\n", "\n")
    start = _marker_position(text, marker)
    if start < 0:
        return None
    match = _ARMOR_BLOCK.search(text, start)
    if not match:
        return None
    return _normalized_armor(match.group(0))


def render_certificate_comment(request_id: str, certificate: str) -> str:
    """The PR comment with a signed SSH certificate: public, useless without the private key."""
    marker = certificate_marker(request_id)
    cert = certificate.strip()
    if "\n" in cert or not _CERT_LINE.match(cert):
        raise DeliveryError(
            f"the SSH certificate issued for {request_id} is not a one-line OpenSSH certificate"
        )
    return (
        f"{marker}\n"
        f"### SSH certificate for `{request_id}`\n\n"
        "Vault signed the public key from the request. A certificate is not secret: it only "
        "works together with the matching private key. Save it next to that key with a "
        "`-cert.pub` suffix (for `~/.ssh/id_ed25519`, as `~/.ssh/id_ed25519-cert.pub`), or run "
        f"`jitflow creds {request_id}`, which does that for you.\n\n"
        "```text\n"
        f"{cert}\n"
        "```\n"
    )


def parse_certificate_comment(body: str, request_id: str) -> str | None:
    """The certificate line from a certificate comment for `request_id`, or None."""
    text = body.replace("\r\n", "\n")
    start = _marker_position(text, certificate_marker(request_id))
    if start < 0:
        return None
    for line in text[start:].splitlines():
        if _CERT_LINE.match(line.strip()):
            return line.strip()
    return None


def _marker_position(text: str, marker: str) -> int:
    """Where the marker line ends, or -1; it must stand on a line of its own."""
    for match in re.finditer(re.escape(marker), text):
        before = text[: match.start()]
        after = text[match.end() :]
        if (not before or before.endswith("\n")) and (not after or after.startswith("\n")):
            return match.end()
    return -1


def _checked_id(request_id: str) -> str:
    if not _REQUEST_ID.fullmatch(request_id):
        raise DeliveryError(f"{request_id!r} is not a valid request id for a delivery comment")
    return request_id
