"""The generic `secret` grant: any Vault secrets engine that issues leased secrets.

The grant's anchor token (with the policy's Vault policies) reads the policy's path itself,
so the lease is the token's child and dies with it. Only the policy chooses the path, the
method and the parameters; jitflow adds one: the engine's TTL parameter, set to what is left
of the grant, so the secret ends with it where the engine allows that.

Some secrets outlive their lease: a certificate stays valid until its notAfter for every
relying party that does not check the CA's CRL, and AWS STS credentials until they expire.
Those are recorded as not revocable early, and refused when they would outlive the grant.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jitflow.adapters.vault.issue import AnchorTerms, create_anchor, revoke_quietly
from jitflow.adapters.vault.transport import Transport
from jitflow.adapters.vault.types import GrantOrder, IssuedGrant, Secret, SecretOutlivesGrantError
from jitflow.core.times import format_time
from jitflow.errors import ConfigError, VaultError

# A secret may end this long after the grant's token: the engine counts its TTL from its own
# clock, a moment after the token was created (whole seconds).
CLOCK_SLACK = timedelta(seconds=1)


def issue_secret(transport: Transport, order: GrantOrder, token_role: str) -> IssuedGrant:
    """Read the policy's path with the grant's own token; record lease, TTL, revocability."""
    if not order.path or not order.vault_policies:
        raise ConfigError(f"policy {order.policy!r}: a secret grant needs a path and policies")
    meta = {"jitflow_path": order.path, "jitflow_revocable": str(order.revocable).lower()}
    anchor = create_anchor(transport, order, token_role, AnchorTerms(order.vault_policies, meta))
    # `{requester}` in a parameter is the PR author's login (GitHub vouches for it)
    body = {k: v.replace("{requester}", order.requester) for k, v in order.params}
    if order.ttl_param:
        # one second short: the engine starts counting a moment after the token did
        left = int((anchor.expires_at - datetime.now(UTC)).total_seconds()) - 1
        if left < 1:
            revoke_quietly(transport, anchor.accessor)
            raise VaultError(f"grant {order.request_id} ended before its secret could be read")
        body[order.ttl_param] = f"{left}s"
    reader = transport.with_token(anchor.token)
    try:
        answer = reader.call(order.method, order.path, body or None, retry=False) or {}
    except VaultError:
        revoke_quietly(transport, anchor.accessor)
        raise
    data = answer.get("data")
    if not isinstance(data, dict) or not data:
        revoke_quietly(transport, anchor.accessor)
        raise VaultError(f"Vault returned no secret from {order.method} {order.path}")
    values = secret_values(data)
    for value in values.values():
        transport.forget_secret_later(value)
    issued_at = datetime.now(UTC)
    lease_id = str(answer.get("lease_id") or "")
    lease_seconds = _int(answer.get("lease_duration"))
    ends = secret_end(data, lease_seconds, issued_at)
    note = revocation_note(order, data)
    identifiers = {
        "path": order.path,
        "method": order.method,
        "lease_id": lease_id,
        "lease_seconds": str(lease_seconds),
        "revocable": "false" if note else "true",
        "revocation_note": note,
        "cert_serial": str(data.get("serial_number") or ""),
        "not_after": format_time(ends) if ends else "",
        "token_role": token_role,
        "renewable_until": anchor.renewable_until,
    }
    if note and (ends is None or ends > anchor.expires_at + CLOCK_SLACK):
        _refuse(transport, anchor.accessor, lease_id, order, ends)
    expires_at = min(anchor.expires_at, ends) if ends else anchor.expires_at
    granted = min(anchor.granted_ttl_seconds, max(0, int((expires_at - issued_at).total_seconds())))
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=granted,
        expires_at=expires_at,
        identifiers={k: v for k, v in identifiers.items() if v},
        secret=Secret(values),
        public_material=None,
        capped=granted + 5 < order.duration_seconds,
    )


def _refuse(
    transport: Transport,
    accessor: str,
    lease_id: str,
    order: GrantOrder,
    ends: datetime | None,
) -> None:
    """End what can be ended (the lease: a CRL entry for a certificate; the token), then say
    the secret was refused. Nothing is delivered."""
    if lease_id:  # the token's revocation revokes its leases too, should this fail
        with contextlib.suppress(VaultError):
            transport.call("POST", "sys/leases/revoke", {"lease_id": lease_id, "sync": True})
    revoke_quietly(transport, accessor)
    until = f"until {format_time(ends)}" if ends else "with no known end"
    raise SecretOutlivesGrantError(
        f"{order.method} {order.path} returned a secret that can't be revoked early and would "
        f"stay valid {until}, past the grant's end: it was not delivered. Lower the engine "
        f"role's max TTL, or check that grant.ttl_param ({order.ttl_param or 'unset'}) is the "
        "engine's TTL parameter"
    )


def secret_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The engine's answer as strings (lists one per line, objects as JSON), to be wrapped."""
    values: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, str):
            values[str(key)] = value
        elif isinstance(value, bool):
            values[str(key)] = str(value).lower()
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[str(key)] = "\n".join(value)
        elif isinstance(value, int | float):
            values[str(key)] = str(value)
        else:
            values[str(key)] = json.dumps(value, sort_keys=True)
    return values


def secret_end(data: Mapping[str, Any], lease_seconds: int, now: datetime) -> datetime | None:
    """When the secret stops working: a certificate's `expiration` (PKI), else its lease."""
    expiration = data.get("expiration")
    if isinstance(expiration, int) and not isinstance(expiration, bool) and expiration > 0:
        return datetime.fromtimestamp(expiration, UTC)
    if lease_seconds > 0:
        return now + timedelta(seconds=lease_seconds)
    return None


def revocation_note(order: GrantOrder, data: Mapping[str, Any]) -> str:
    """Why revoking the grant early does not end this secret ("" when it does)."""
    if "certificate" in data:
        return (
            "a certificate can't be revoked early: revoking its lease only puts it on the CA's "
            "CRL, and it stays valid until its notAfter for every relying party that does not "
            "check the CRL"
        )
    if "security_token" in data:
        return "AWS STS credentials can't be revoked early: they stay valid until they expire"
    if not order.revocable:
        return "the policy says this secret can't be revoked early: it stays valid until it expires"
    return ""


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
