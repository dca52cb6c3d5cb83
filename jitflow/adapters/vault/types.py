"""Values exchanged with the Vault adapter. No hvac here: callers import these freely."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from jitflow.core.grants import REDACTED, GrantOrder, IssuedGrant, Secret
from jitflow.core.model import GrantKind
from jitflow.errors import VaultError

# Re-exported: the grant values are domain types (jitflow.core.grants).
__all__ = [
    "REDACTED",
    "GrantHandle",
    "GrantOrder",
    "IssuedGrant",
    "RevokeOutcome",
    "Secret",
    "SecretOutlivesGrantError",
    "TokenInfo",
    "WrappingTokenUsedError",
]


class WrappingTokenUsedError(VaultError):
    """A wrapping token was already unwrapped or has expired: maybe someone else unwrapped it."""


class SecretOutlivesGrantError(VaultError):
    """A `secret` grant's engine returned what can't be revoked and would outlive the grant."""


@dataclass(frozen=True)
class GrantHandle:
    """What revocation needs, as read back from the git ledger."""

    request_id: str
    kind: GrantKind
    accessor: str | None
    identifiers: Mapping[str, str] = field(default_factory=dict)
    # identity-group: another active grant of the same person holds the same membership
    # (decided from the ledger at revocation time), so only the grant's anchor token ends
    keep_membership: bool = False


class RevokeOutcome(StrEnum):
    REVOKED = "revoked"
    ALREADY_GONE = "already-gone"
    # ssh certificates, and secrets recorded as not revocable early, live until they expire
    NOT_REVOCABLE = "not-revocable"


@dataclass(frozen=True)
class TokenInfo:
    """A token's non-secret facts, from lookup-accessor."""

    accessor: str
    request_id: str | None
    policy: str | None
    requester: str | None
    expire_time: datetime | None
    ttl: int
    policies: tuple[str, ...] = ()
    display_name: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)  # every `jitflow_*` metadata entry
    created_at: datetime | None = None

    @property
    def receipt_of(self) -> str | None:
        """For a certificate receipt: the accessor of the anchor it belongs to."""
        return self.meta.get("jitflow_receipt_of") or None
