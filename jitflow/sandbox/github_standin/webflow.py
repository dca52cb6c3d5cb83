"""GitHub's own commit signatures ("web-flow") and the verification GitHub reports.

GitHub signs the commits it makes itself (merge and squash commits of the merge button,
rebased commits, the merge queue's) with its web-flow key, and reports for every commit
`commit.verification {verified, reason, signature, payload, verified_at}`: an unsigned push
is `verified: false, reason: "unsigned"`. The stand-in signs with an ed25519 SSH key of its
own (GitHub's is a GPG key; the verdicts are the same) and checks a signature against the
keys it knows, which are only its own: it holds no user signing keys, so a commit a user
signed reads `unknown_key`, a signature that doesn't match its commit `invalid`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jitflow.core.sshsig import TrustedKey, check_commit, sign, split_signature, with_signature

GITHUB_EMAIL = "noreply@github.com"


class WebFlow:
    """The stand-in's web-flow key: signs GitHub's commits, judges any commit's signature."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        line = self._key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        self.public_key = line.decode()  # "ssh-ed25519 AAAA..."
        self._blob = base64.b64decode(line.split()[1])
        self._trusted = (TrustedKey((GITHUB_EMAIL,), self._blob, False),)

    def __repr__(self) -> str:
        return "WebFlow(<key redacted>)"

    def signed(self, raw: bytes) -> bytes:
        """The commit object `raw` with GitHub's signature header."""
        return with_signature(raw, sign(raw, self._key, self._blob))

    def verification(self, raw: bytes, committed_at: str) -> dict[str, Any]:
        """GitHub's `commit.verification` of the commit object `raw`."""
        payload, armored = split_signature(raw)
        if armored is None:
            return _verdict(False, "unsigned", None, None, None)
        why = check_commit(raw, self._trusted, datetime.now(UTC))
        text = payload.decode("utf-8", "replace")
        if why is None:
            if _committer_email(payload) != GITHUB_EMAIL:
                return _verdict(False, "bad_email", armored, text, None)
            return _verdict(True, "valid", armored, text, committed_at)
        if "does not match" in why:
            reason = "invalid"
        elif "cannot be read" in why or "not an SSH signature" in why:
            reason = "malformed_signature"
        else:
            reason = "unknown_key"
        return _verdict(False, reason, armored, text, None)


def _committer_email(payload: bytes) -> str:
    head = payload.partition(b"\n\n")[0]
    for line in head.split(b"\n"):
        if line.startswith(b"committer "):
            start, end = line.find(b"<"), line.find(b">")
            return line[start + 1 : end].decode("utf-8", "replace").strip().lower()
    return ""


def _verdict(
    verified: bool, reason: str, signature: str | None, payload: str | None, at: str | None
) -> dict[str, Any]:
    return {
        "verified": verified,
        "reason": reason,
        "signature": signature,
        "payload": payload,
        "verified_at": at,
    }
