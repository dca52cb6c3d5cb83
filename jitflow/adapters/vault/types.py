"""Values exchanged with the Vault adapter. No hvac here: callers import these freely."""

from __future__ import annotations

from jitflow.core.grants import (
    REDACTED,
    GrantHandle,
    GrantOrder,
    IssuedGrant,
    RevokeOutcome,
    Secret,
    TokenInfo,
)
from jitflow.errors import VaultError, WrappingTokenUsedError

# Re-exported: the grant values and token facts are domain types (jitflow.core.grants).
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


class SecretOutlivesGrantError(VaultError):
    """A `secret` grant's engine returned what can't be revoked and would outlive the grant."""
