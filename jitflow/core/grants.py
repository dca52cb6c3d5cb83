"""What the sync orders from Vault and what Vault gave back: domain values, no I/O.

The Vault adapter takes a `GrantOrder` and answers with an `IssuedGrant`; the sync use-case
builds the one and records the other, so both live here rather than in the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from jitflow.core.model import GrantKind

REDACTED = "<redacted>"


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
    # secret: the policy's path, method, fixed parameters, TTL parameter and revocability
    path: str = ""
    method: str = "GET"
    params: tuple[tuple[str, str], ...] = ()
    ttl_param: str = ""
    revocable: bool = True
    # the accessor of the issuing sync run's heartbeat token (empty: none)
    run: str = ""
    # how long from issue the runner may renew the grant's anchor token (the policy's total
    # maximum, extensions included); 0: not renewable. Never for ssh (a certificate can't be
    # extended) nor for the token a `vault-token` holder gets with the `default` policy.
    ceiling_seconds: int = 0


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
    def run(self) -> str | None:
        """The accessor of the heartbeat token of the sync run that created this token."""
        return self.meta.get("jitflow_run") or None

    @property
    def receipt_of(self) -> str | None:
        """For a certificate receipt: the accessor of the anchor it belongs to."""
        return self.meta.get("jitflow_receipt_of") or None


def kind_guess(vault: Mapping[str, str]) -> GrantKind:
    """The grant kind of a record too damaged to say, from the identifiers it kept."""
    if vault.get("entity_id"):
        return GrantKind.IDENTITY_GROUP
    if vault.get("path"):
        return GrantKind.SECRET
    if vault.get("lease_id"):
        return GrantKind.DATABASE
    return GrantKind.VAULT_TOKEN
