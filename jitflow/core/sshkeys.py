"""OpenSSH public keys: which key a line names, and its fingerprint as `ssh-keygen -lf` shows it.

Two lines name the same key when type and base64 blob agree; the comment is free text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable


def key_identity(line: str) -> tuple[str, str] | None:
    """(type, base64 blob) of a public key line, or None when it is not one."""
    parts = line.strip().split()
    if len(parts) < 2:
        return None
    return parts[0], parts[1]


def fingerprint(line: str) -> str:
    """`SHA256:<unpadded base64 of the blob's SHA-256>`, or "" for an unreadable line."""
    identity = key_identity(line)
    if identity is None:
        return ""
    try:
        blob = base64.b64decode(identity[1], validate=True)
    except (binascii.Error, ValueError):
        return ""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def is_published(line: str, published: Iterable[str]) -> bool:
    """Whether the key in `line` is one of the `published` key lines."""
    identity = key_identity(line)
    return identity is not None and any(key_identity(p) == identity for p in published)
