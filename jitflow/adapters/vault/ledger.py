"""What Vault holds for the ledger itself: the runner's signing certificate and its anchor.

- Signing: at each run the runner makes an ephemeral ed25519 key and has Vault's SSH engine
  (a mount of its own, `jitflow-ledger` by default, whose CA signs nothing else) certify it for
  the one principal `jitflow-ledger`, for an hour. Only the runner's policy may call that sign
  endpoint, and only the runner's JWT role carries that policy (docs/vault-setup.md), so only
  a sync run on main can sign ledger commits. The private key never leaves the process.
- Anchor: after each push the runner writes the ledger tip into a KV v2 secret, outside git,
  so `audit verify --vault` can tell when main was rewritten behind the runner's back.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jitflow.core.anchor import LedgerAnchor
from jitflow.core.sshsig import sign
from jitflow.core.times import parse_time_or_none
from jitflow.errors import VaultError

LEDGER_PRINCIPAL = "jitflow-ledger"
DEFAULT_MOUNT = "jitflow-ledger"
DEFAULT_ROLE = "sync"
DEFAULT_ANCHOR = "jitflow-kv/data/ledger-anchor"

Call = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class LedgerSettings:
    mount: str = DEFAULT_MOUNT
    role: str = DEFAULT_ROLE
    anchor_path: str = DEFAULT_ANCHOR  # a KV v2 `<mount>/data/<key>` path
    enabled: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LedgerSettings:
        return cls(
            environ.get("JITFLOW_LEDGER_SIGNING_MOUNT") or DEFAULT_MOUNT,
            environ.get("JITFLOW_LEDGER_SIGNING_ROLE") or DEFAULT_ROLE,
            environ.get("JITFLOW_LEDGER_ANCHOR_PATH") or DEFAULT_ANCHOR,
            (environ.get("JITFLOW_LEDGER_SIGNING") or "on").lower() not in ("off", "0", "false"),
        )


class LedgerSigner:
    """Signs commit payloads with an in-memory key and its Vault certificate."""

    def __init__(self, key: Ed25519PrivateKey, certificate: str) -> None:
        self._key = key
        self.certificate = certificate
        self._blob = base64.b64decode(certificate.split()[1])

    def __repr__(self) -> str:
        return "LedgerSigner(<key redacted>)"

    def sign(self, payload: bytes) -> str:
        return sign(payload, self._key, self._blob)


class LedgerVault:
    """The ledger's Vault endpoints, through the gateway's transport."""

    def __init__(self, call: Call, settings: LedgerSettings) -> None:
        self._call = call
        self.settings = settings

    def signer(self) -> LedgerSigner:
        """A fresh key, certified for an hour (Vault names the token in the key id)."""
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        answer = self._call(
            "POST",
            f"{self.settings.mount}/sign/{self.settings.role}",
            {
                "public_key": public.decode(),
                "valid_principals": LEDGER_PRINCIPAL,
                "cert_type": "user",
                "ttl": "1h",
            },
        )
        certificate = ((answer or {}).get("data") or {}).get("signed_key")
        if not isinstance(certificate, str) or len(certificate.split()) < 2:
            raise VaultError(f"Vault's {self.settings.mount}/ returned no ledger certificate")
        return LedgerSigner(key, certificate.strip())

    def ca_public_key(self) -> str:
        """The CA that certifies ledger keys (what `.jitflow/allowed_signers` must trust)."""
        answer = self._call("GET", f"{self.settings.mount}/config/ca")
        key = ((answer or {}).get("data") or {}).get("public_key")
        if not isinstance(key, str) or not key.strip():
            raise VaultError(f"Vault's {self.settings.mount}/ has no CA key")
        return key.strip()

    def write_anchor(self, tip: str) -> None:
        self._call("POST", self.settings.anchor_path, {"data": {"ledger_tip": tip}})

    def read_anchor(self) -> LedgerAnchor | None:
        """The last ledger tip the runner pushed and Vault's time of that write, or None when
        none was recorded."""
        try:
            answer = self._call("GET", self.settings.anchor_path)
        except VaultError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        body = (answer or {}).get("data") or {}
        tip = (body.get("data") or {}).get("ledger_tip")
        if not isinstance(tip, str) or not tip:
            return None
        return LedgerAnchor(
            tip, parse_time_or_none((body.get("metadata") or {}).get("created_time"))
        )
