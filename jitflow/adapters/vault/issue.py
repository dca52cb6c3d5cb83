"""Issuing one grant of each kind. Creating calls are never retried (not idempotent)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jitflow.adapters.vault.naming import database_policy_name, token_display_name
from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.adapters.vault.types import GrantOrder, IssuedGrant, Secret, TokenInfo
from jitflow.core.model import GrantKind
from jitflow.core.times import format_time
from jitflow.errors import ConfigError, VaultError


@dataclass(frozen=True)
class Anchor:
    """The orphan service token a grant hangs off."""

    token: str
    accessor: str
    granted_ttl_seconds: int
    expires_at: datetime
    renewable_until: str = ""  # the ceiling fixed at issue (RFC 3339), empty: not renewable


def parse_vault_time(value: Any) -> datetime | None:
    """Vault's RFC 3339 timestamps carry nanoseconds; Python parses microseconds."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC)


# What a token that only *records* a grant carries (ssh and identity-group anchors, receipts):
# Vault's `default` policy, which opens nothing beyond the token's own lookups.
MARKER_POLICIES = ("default",)


@dataclass(frozen=True)
class AnchorTerms:
    """What an anchor token carries: its Vault policies, metadata beyond the request's, and a
    TTL other than the order's duration."""

    policies: tuple[str, ...]
    meta: Mapping[str, str] | None = None
    ttl_seconds: int | None = None


def create_anchor(
    transport: Transport, order: GrantOrder, token_role: str, terms: AnchorTerms
) -> Anchor:
    """Create the grant's orphan token through the token role, then read back its real TTL.

    Its metadata names the request (and with `terms.meta`, what is about to be done in Vault):
    the orphan scan of a later sync finds it even when this run dies before recording anything.
    """
    policies, meta, ttl_seconds = terms.policies, terms.meta, terms.ttl_seconds
    duration = f"{ttl_seconds or order.duration_seconds}s"
    renewable = renewable_anchor(order, ttl_seconds)
    body: dict[str, Any] = {
        "policies": list(policies),
        "ttl": duration,
        "explicit_max_ttl": f"{order.ceiling_seconds}s" if renewable else duration,
        "renewable": renewable,
        "display_name": token_display_name(order.request_id),
        "meta": {
            "jitflow_request": order.request_id,
            "jitflow_policy": order.policy,
            "jitflow_requester": order.requester,
            "jitflow_kind": order.kind.value,
            # the run that made it: while that run's heartbeat lives, it is not an orphan
            **({"jitflow_run": order.run} if order.run else {}),
            **(meta or {}),
        },
    }
    if renewable and order.kind is GrantKind.VAULT_TOKEN:
        # the one token a holder gets: without `default` it can't renew itself
        # (`auth/token/renew-self`), only the runner renews it, by accessor, for an approved
        # extension (other anchors are never delivered)
        body["no_default_policy"] = True
    answer = transport.call("POST", f"auth/token/create/{token_role}", body, retry=False)
    auth = (answer or {}).get("auth") or {}
    token = auth.get("client_token")
    accessor = auth.get("accessor")
    if not isinstance(token, str) or not isinstance(accessor, str):
        raise VaultError(f"Vault created no token through auth/token/create/{token_role}")
    transport.forget_secret_later(token)
    try:
        info = transport.call("POST", "auth/token/lookup-accessor", {"accessor": accessor})
        data = (info or {}).get("data") or {}
        granted = int(data.get("creation_ttl") or auth.get("lease_duration") or 0)
        expires_at = parse_vault_time(data.get("expire_time"))
    except VaultError:
        revoke_quietly(transport, accessor)
        raise
    if expires_at is None:
        expires_at = datetime.now(UTC) + timedelta(seconds=granted)
    until = ""
    issued_at = parse_vault_time(data.get("issue_time"))
    ceiling = int(data.get("explicit_max_ttl") or 0)
    if renewable and bool(data.get("renewable")) and issued_at and ceiling > granted:
        until = format_time(issued_at + timedelta(seconds=ceiling))
    return Anchor(token, accessor, granted, expires_at, until)


def renewable_anchor(order: GrantOrder, ttl_seconds: int | None = None) -> bool:
    """An anchor the runner may renew for an extension: its policy allows extensions, and it
    is not an ssh grant's (a certificate can't be extended) nor a receipt."""
    if ttl_seconds is not None or order.kind is GrantKind.SSH or not order.revocable:
        return False
    return order.ceiling_seconds > order.duration_seconds


def revoke_quietly(transport: Transport, accessor: str) -> None:
    """Best-effort cleanup of a half-issued grant; the original error is what matters."""
    with contextlib.suppress(VaultError):
        transport.call("POST", "auth/token/revoke-accessor", {"accessor": accessor})


def issue_vault_token(transport: Transport, order: GrantOrder, token_role: str) -> IssuedGrant:
    if not order.vault_policies:
        raise ConfigError(f"policy {order.policy!r}: a vault-token grant needs Vault policies")
    anchor = create_anchor(transport, order, token_role, AnchorTerms(order.vault_policies))
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=anchor.granted_ttl_seconds,
        expires_at=anchor.expires_at,
        identifiers={"token_role": token_role, "renewable_until": anchor.renewable_until},
        secret=Secret({"token": anchor.token, "accessor": anchor.accessor}),
        public_material=None,
        capped=anchor.granted_ttl_seconds < order.duration_seconds,
    )


def issue_database(transport: Transport, order: GrantOrder, token_role: str) -> IssuedGrant:
    """Read dynamic credentials with the anchor token so the lease dies with it."""
    mount, role = order.mount.strip("/"), order.role
    policies = order.vault_policies or (database_policy_name(mount, role),)
    anchor = create_anchor(transport, order, token_role, AnchorTerms(policies))
    try:
        answer = transport.with_token(anchor.token).call(
            "GET", f"{mount}/creds/{role}", retry=False
        )
    except VaultError:
        revoke_quietly(transport, anchor.accessor)
        raise
    data = (answer or {}).get("data") or {}
    username, password = data.get("username"), data.get("password")
    lease_id = str((answer or {}).get("lease_id") or "")
    if not isinstance(username, str) or not isinstance(password, str):
        revoke_quietly(transport, anchor.accessor)
        raise VaultError(f"Vault returned no credentials from {mount}/creds/{role}")
    transport.forget_secret_later(password)
    lease_seconds = int((answer or {}).get("lease_duration") or anchor.granted_ttl_seconds)
    granted = min(anchor.granted_ttl_seconds, lease_seconds)
    expires_at = min(anchor.expires_at, datetime.now(UTC) + timedelta(seconds=lease_seconds))
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=granted,
        expires_at=expires_at,
        identifiers={
            "lease_id": lease_id,
            "db_username": username,
            "token_role": token_role,
            "renewable_until": anchor.renewable_until,
        },
        secret=Secret({"username": username, "password": password}),
        public_material=None,
        capped=granted < order.duration_seconds,
    )


def find_entity(transport: Transport, identity_mount: str, login: str) -> str:
    """The Vault entity whose alias on `identity_mount` is the GitHub login."""
    accessor = auth_mount_accessor(transport, identity_mount)
    answer = transport.call(
        "POST",
        "identity/lookup/entity",
        {"alias_name": login, "alias_mount_accessor": accessor},
    )
    entity_id = ((answer or {}).get("data") or {}).get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise VaultError(
            f"no Vault entity has the alias {login!r} on auth mount {identity_mount}/ "
            "(JITFLOW_VAULT_IDENTITY_MOUNT): the person must log in to Vault once, or an "
            "operator must create the entity alias"
        )
    return entity_id


def auth_mount_accessor(transport: Transport, mount: str) -> str:
    answer = transport.call("GET", "sys/auth") or {}
    mounts = answer.get("data") or answer
    entry = mounts.get(mount.strip("/") + "/")
    if not isinstance(entry, dict) or not entry.get("accessor"):
        raise ConfigError(
            f"Vault has no auth mount {mount.strip('/')}/ (JITFLOW_VAULT_IDENTITY_MOUNT)"
        )
    return str(entry["accessor"])


def read_group(transport: Transport, group: str) -> tuple[str, list[str]]:
    try:
        answer = transport.call("GET", f"identity/group/name/{group}")
    except VaultApiError as exc:
        if exc.status == 404:
            raise ConfigError(f"Vault has no identity group {group!r}") from exc
        raise
    data = (answer or {}).get("data") or {}
    if not data.get("id"):
        raise ConfigError(f"Vault has no identity group {group!r}")
    return str(data["id"]), list(data.get("member_entity_ids") or [])


def write_members(transport: Transport, group: str, members: list[str]) -> None:
    transport.call("POST", f"identity/group/name/{group}", {"member_entity_ids": members})


def issue_identity_group(
    transport: Transport, order: GrantOrder, identity_mount: str, token_role: str
) -> IssuedGrant:
    """Add the requester's entity to the group. Vault has no TTL here: sync removes it.

    The anchor token is created first: it records (request, group, entity) before the
    membership changes, so a run that dies after the write leaves a record a later sync
    finds. A failure after the write keeps the anchor for the same reason.
    """
    if not order.group:
        raise ConfigError(f"policy {order.policy!r}: an identity-group grant needs a group")
    entity_id = find_entity(transport, identity_mount, order.requester)
    group_id, members = read_group(transport, order.group)
    meta = {"jitflow_group": order.group, "jitflow_entity": entity_id}
    anchor = create_anchor(transport, order, token_role, AnchorTerms(MARKER_POLICIES, meta))
    if entity_id not in members:
        write_members(transport, order.group, [*members, entity_id])
        _, members = read_group(transport, order.group)
        if entity_id not in members:
            raise VaultError(f"adding {order.requester} to group {order.group!r} did not stick")
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=anchor.granted_ttl_seconds,
        expires_at=anchor.expires_at,
        identifiers={
            "entity_id": entity_id,
            "group_id": group_id,
            "group": order.group,
            "token_role": token_role,
            "renewable_until": anchor.renewable_until,
        },
        secret=None,
        public_material=None,
        capped=anchor.granted_ttl_seconds < order.duration_seconds,
    )


def adopt_membership(transport: Transport, anchor: TokenInfo) -> IssuedGrant:
    """Finish the membership a run that died recorded in its anchor (the write is idempotent)."""
    group, entity_id = anchor.meta.get("jitflow_group", ""), anchor.meta.get("jitflow_entity", "")
    if not group or not entity_id or anchor.expire_time is None:
        raise VaultError(f"token {anchor.accessor} does not name a group, entity and expiry")
    group_id, members = read_group(transport, group)
    if entity_id not in members:
        write_members(transport, group, [*members, entity_id])
        _, members = read_group(transport, group)
        if entity_id not in members:
            raise VaultError(f"adding entity {entity_id} to group {group!r} did not stick")
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=int(anchor.ttl),
        expires_at=anchor.expire_time,
        identifiers={"entity_id": entity_id, "group_id": group_id, "group": group},
        secret=None,
        public_material=None,
        capped=False,
    )
