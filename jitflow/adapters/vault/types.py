"""Values exchanged with the Vault adapter. No hvac here: callers import these freely."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from jitflow.core.model import GrantKind
from jitflow.errors import VaultError

REDACTED = "<redacted>"


class WrappingTokenUsedError(VaultError):
    """A wrapping token was already unwrapped or has expired: maybe someone else unwrapped it."""


@dataclass(frozen=True)
class GrantOrder:
    """What to issue for one approved request."""

    request_id: str
    policy: str
    requester: str
    kind: GrantKind
    duration_seconds: int
    mount: str = ""
    role: str = ""
    vault_policies: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    group: str = ""
    ssh_public_key: str | None = None
    token_role: str = ""  # empty: the gateway's default token role


@dataclass(frozen=True)
class Secret:
    """Secret material. Never printed: repr and str are redacted."""

    values: Mapping[str, str] = field(repr=False)

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED


@dataclass(frozen=True)
class IssuedGrant:
    """What Vault issued. `identifiers` are safe to commit; `secret` must be wrapped."""

    accessor: str | None
    granted_ttl_seconds: int
    expires_at: datetime
    identifiers: Mapping[str, str]
    secret: Secret | None
    public_material: str | None
    capped: bool


@dataclass(frozen=True)
class GrantHandle:
    """What revocation needs, as read back from the git ledger."""

    request_id: str
    kind: GrantKind
    accessor: str | None
    identifiers: Mapping[str, str] = field(default_factory=dict)


class RevokeOutcome(StrEnum):
    REVOKED = "revoked"
    ALREADY_GONE = "already-gone"
    NOT_REVOCABLE = "not-revocable"  # ssh certificates live until they expire


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
