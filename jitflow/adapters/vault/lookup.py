"""Looking a token up by accessor, and what Vault's refusals mean.

Vault answers `auth/token/lookup-accessor` with 400 "invalid accessor" once a token is gone.
Between a token's expiry and the moment its revocation has removed it, though (a few
milliseconds on an idle server, longer on a busy one), OpenBao and Vault still hold the
accessor but no longer honour the token, and answer 403 "permission denied": the very
answer a caller gets when its OWN token has lapsed or its policy lacks the capability. A
sync run waiting for a dead run's heartbeat to lapse polls exactly that moment.

So a 403 is judged, never trusted: the runner looks up its own token (lookup-self) and then
its own accessor (lookup-accessor). When both answer, the runner may look tokens up, and
the 403 was about the token asked for: it is ending, which is "gone" a moment early. When
they don't, the run stops with an error naming its own token or its policy: nothing is
issued or revoked on an answer the runner can't read.
"""

from __future__ import annotations

from collections.abc import Mapping

from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.errors import VaultError

_GONE_MARKERS = ("invalid accessor", "bad token", "token not found", "no token found")
_LOOKUP = "auth/token/lookup-accessor"


def lookup_accessor(transport: Transport, accessor: str) -> Mapping[str, object] | None:
    """The token's `data` from lookup-accessor, or None when Vault says it is gone or ending
    (a 403 only once the runner proved it may look tokens up)."""
    try:
        answer = transport.call("POST", _LOOKUP, {"accessor": accessor})
    except VaultApiError as exc:
        if exc.status == 400 and any(exc.mentions(m) for m in _GONE_MARKERS):
            return None
        if exc.status != 403:
            raise
        _prove_own_lookups(transport, exc)
        return None  # held by Vault but no longer honoured: past its expiry, being revoked
    data = (answer or {}).get("data") or {}
    return data if isinstance(data, dict) and data else None


def _prove_own_lookups(transport: Transport, denied: VaultApiError) -> None:
    """Return when the runner's token is alive and may look accessors up; raise otherwise."""
    try:
        own = transport.call("GET", "auth/token/lookup-self")
    except VaultApiError as exc:
        if exc.status != 403:
            raise
        raise VaultError(
            f"the runner's own Vault token at {transport.addr} (VAULT_ADDR) is no longer valid "
            "(expired or revoked): Vault refused to look it up, so its refusal to look up "
            "other tokens proves nothing and nothing was decided from it; log in again and "
            "re-run (the next run settles whatever this one left)"
        ) from denied
    mine = ((own or {}).get("data") or {}).get("accessor")
    if not isinstance(mine, str) or not mine:
        raise denied  # a token without an accessor (root in some setups): can't tell
    try:
        transport.call("POST", _LOOKUP, {"accessor": mine})
    except VaultApiError as exc:
        if exc.status != 403:
            raise
        raise VaultError(
            f"the runner's Vault token at {transport.addr} (VAULT_ADDR) may not look tokens "
            f'up by accessor: add `path "{_LOOKUP}" {{ capabilities = ["update"] }}` to '
            "its policy (docs/vault-setup.md)"
        ) from denied
