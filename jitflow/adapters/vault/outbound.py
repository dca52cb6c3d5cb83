"""What outbound delivery keeps in Vault: each endpoint's high-water mark, and the secrets
(HMAC keys, HEC tokens, Slack URLs) the repository only names.

Marks live in KV v2 next to the ledger anchor, `<anchor path>/outbound/<endpoint>` (the runner
policy's `ledger-anchor*` rule already covers them), written with check-and-set so two runs
can never both move one mark from the same version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jitflow.core.outbound import Mark
from jitflow.errors import VaultError

Call = Callable[..., dict[str, Any] | None]


class OutboundVault:
    def __init__(self, call: Call, anchor_path: str) -> None:
        self._call = call
        self._anchor = anchor_path

    def mark_path(self, endpoint: str) -> str:
        return self.path_of(self._anchor, endpoint)

    @staticmethod
    def path_of(anchor_path: str, endpoint: str) -> str:
        """Where an endpoint's mark lives, for a ledger anchor path (doctor reads it)."""
        return f"{anchor_path.rstrip('/')}/outbound/{endpoint}"

    def read_mark(self, endpoint: str) -> Mark:
        answer = self._read(self.mark_path(endpoint))
        if answer is None:
            return Mark(None, 0)
        data = (answer.get("data") or {}).get("data") or {}
        version = ((answer.get("data") or {}).get("metadata") or {}).get("version")
        commit = data.get("commit")
        return Mark(
            commit if isinstance(commit, str) and commit else None,
            version if isinstance(version, int) else 0,
        )

    def write_mark(self, endpoint: str, commit: str, version: int) -> int:
        """Move the mark from `version` (check-and-set); return the new version."""
        answer = self._call(
            "POST",
            self.mark_path(endpoint),
            {"options": {"cas": version}, "data": {"commit": commit}},
        )
        new = ((answer or {}).get("data") or {}).get("version")
        return new if isinstance(new, int) else version + 1

    def read_secret(self, path: str, key: str) -> str:
        answer = self._read(path)
        data = ((answer or {}).get("data") or {}).get("data") or {}
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise VaultError(f"Vault's {path} has no key {key}")
        return value

    def _read(self, path: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", path)
        except VaultError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
