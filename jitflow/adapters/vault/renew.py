"""Extending a grant in place: renew what Vault already issued, up to a new end.

Only what the runner alone can renew is renewed in place:

- the grant's anchor token, by accessor (`auth/token/renew-accessor`). A renewable anchor is
  created without the `default` policy, so its holder can't renew it (`renew-self` and
  `renew` are refused: checked against OpenBao in tests/sync/test_extension_in_place.py);
- a `database` grant's lease (`sys/leases/renew`): the database user holds no Vault token,
  and the engine moves the user's `VALID UNTIL` with the lease;
- a `secret` grant's lease, when Vault says it is renewable and the secret can be revoked
  early (a certificate or STS credentials can't be made to last longer).

Vault caps a renewal silently (a lease at its role's `max_ttl`, a token created through a
token role at the role's `token_explicit_max_ttl`: OpenBao ignores the token's own
`explicit_max_ttl` on renewal of a role token). So each renewal is read back, and one that
falls short of the new end answers None: the caller then extends by replacement, which ends
these credentials once the new ones are delivered. A renewal is idempotent (a TTL set from
now), so a run that dies after it and a later run that renews again agree.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from jitflow.adapters.vault.issue import parse_vault_time
from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.core.grants import GrantHandle, IssuedGrant
from jitflow.core.model import GrantKind

# Vault counts a renewal's TTL from its own clock, a moment after ours.
SHORT_BY = timedelta(seconds=5)

IN_PLACE_KINDS = frozenset(
    {GrantKind.VAULT_TOKEN, GrantKind.DATABASE, GrantKind.IDENTITY_GROUP, GrantKind.SECRET}
)


def renewable(handle: GrantHandle, until: datetime) -> bool:
    """Whether the grant was issued renewable (a ceiling fixed at issue) up to `until`."""
    ids = handle.identifiers
    ceiling = parse_vault_time(ids.get("renewable_until"))
    if handle.kind not in IN_PLACE_KINDS or not handle.accessor or ceiling is None:
        return False
    if handle.kind is GrantKind.DATABASE and not ids.get("lease_id"):
        return False
    if handle.kind is GrantKind.SECRET and ids.get("revocable") != "true":
        return False
    return until <= ceiling


def renew_in_place(
    transport: Transport, handle: GrantHandle, until: datetime
) -> IssuedGrant | None:
    """Renew the grant's lease (if any) then its anchor token to `until`; None when the grant
    can't be extended in place (not renewable, past its ceiling, or Vault capped it short)."""
    if not renewable(handle, until):
        return None
    assert handle.accessor is not None  # renewable() checked it
    lease_id = handle.identifiers.get("lease_id", "")
    ends: list[datetime] = []
    if lease_id and handle.kind in (GrantKind.DATABASE, GrantKind.SECRET):
        lease_end = _renew_lease(transport, lease_id, until)
        if lease_end is None:
            return None
        ends.append(lease_end)
    token_end = _renew_token(transport, handle.accessor, until)
    if token_end is None:
        return None
    ends.append(token_end)
    end = min(ends)
    left = max(0, int((end - datetime.now(UTC)).total_seconds()))
    return IssuedGrant(
        accessor=handle.accessor,
        granted_ttl_seconds=left,
        expires_at=end,
        identifiers=dict(handle.identifiers),
        secret=None,
        public_material=None,
        capped=False,
    )


def _increment(until: datetime) -> int:
    return max(1, math.ceil((until - datetime.now(UTC)).total_seconds()))


def _renew_lease(transport: Transport, lease_id: str, until: datetime) -> datetime | None:
    asked = datetime.now(UTC)
    try:
        answer = transport.call(
            "PUT", "sys/leases/renew", {"lease_id": lease_id, "increment": _increment(until)}
        )
    except VaultApiError as exc:
        if exc.status in (400, 403):  # not renewable, or the runner may not (doctor says so)
            return None
        raise
    seconds = int((answer or {}).get("lease_duration") or 0)
    end = asked + timedelta(seconds=seconds)
    return end if end >= until - SHORT_BY else None


def _renew_token(transport: Transport, accessor: str, until: datetime) -> datetime | None:
    try:
        transport.call(
            "POST",
            "auth/token/renew-accessor",
            {"accessor": accessor, "increment": f"{_increment(until)}s"},
        )
    except VaultApiError as exc:
        if exc.status in (400, 403):  # not renewable, or the runner may not (doctor says so)
            return None
        raise
    info = transport.call("POST", "auth/token/lookup-accessor", {"accessor": accessor})
    end = parse_vault_time(((info or {}).get("data") or {}).get("expire_time"))
    return end if end is not None and end >= until - SHORT_BY else None
