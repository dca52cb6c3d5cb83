"""Vault / OpenBao adapter: the only package that imports hvac (lazily)."""

from jitflow.adapters.vault.gateway import VaultGateway
from jitflow.adapters.vault.naming import database_policy_name
from jitflow.adapters.vault.types import (
    GrantHandle,
    GrantOrder,
    IssuedGrant,
    RevokeOutcome,
    Secret,
    TokenInfo,
    WrappingTokenUsedError,
)

__all__ = [
    "GrantHandle",
    "GrantOrder",
    "IssuedGrant",
    "RevokeOutcome",
    "Secret",
    "TokenInfo",
    "VaultGateway",
    "WrappingTokenUsedError",
    "database_policy_name",
]
