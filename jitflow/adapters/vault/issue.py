"""Issuing one grant of each kind. Creating calls are never retried (not idempotent)."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jitflow.adapters.vault.naming import database_policy_name, token_display_name
from jitflow.adapters.vault.sshcert import parse_certificate
from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.adapters.vault.types import GrantOrder, IssuedGrant, Secret
from jitflow.errors import ConfigError, VaultError


@dataclass(frozen=True)
class Anchor:
    """The orphan service token a grant hangs off."""

    token: str
    accessor: str
    granted_ttl_seconds: int
    expires_at: datetime


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


def create_anchor(
    transport: Transport, order: GrantOrder, token_role: str, policies: tuple[str, ...]
) -> Anchor:
    """Create the grant's orphan token through the token role, then read back its real TTL."""
    duration = f"{order.duration_seconds}s"
    body = {
        "policies": list(policies),
        "ttl": duration,
        "explicit_max_ttl": duration,
        "renewable": False,
        "display_name": token_display_name(order.request_id),
        "meta": {
            "jitflow_request": order.request_id,
            "jitflow_policy": order.policy,
            "jitflow_requester": order.requester,
        },
    }
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
    return Anchor(token, accessor, granted, expires_at)


def revoke_quietly(transport: Transport, accessor: str) -> None:
    """Best-effort cleanup of a half-issued grant; the original error is what matters."""
    with contextlib.suppress(VaultError):
        transport.call("POST", "auth/token/revoke-accessor", {"accessor": accessor})


def issue_vault_token(transport: Transport, order: GrantOrder, token_role: str) -> IssuedGrant:
    if not order.vault_policies:
        raise ConfigError(f"policy {order.policy!r}: a vault-token grant needs Vault policies")
    anchor = create_anchor(transport, order, token_role, order.vault_policies)
    return IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=anchor.granted_ttl_seconds,
        expires_at=anchor.expires_at,
        identifiers={"token_role": token_role},
        secret=Secret({"token": anchor.token, "accessor": anchor.accessor}),
        public_material=None,
        capped=anchor.granted_ttl_seconds < order.duration_seconds,
    )


def issue_database(transport: Transport, order: GrantOrder, token_role: str) -> IssuedGrant:
    """Read dynamic credentials with the anchor token so the lease dies with it."""
    mount, role = order.mount.strip("/"), order.role
    policies = order.vault_policies or (database_policy_name(mount, role),)
    anchor = create_anchor(transport, order, token_role, policies)
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
        identifiers={"lease_id": lease_id, "db_username": username, "token_role": token_role},
        secret=Secret({"username": username, "password": password}),
        public_material=None,
        capped=granted < order.duration_seconds,
    )


def issue_ssh(transport: Transport, order: GrantOrder) -> IssuedGrant:
    """Sign the requester's public key. No anchor token: a certificate can't be revoked early."""
    if not order.ssh_public_key:
        raise ConfigError(f"request {order.request_id}: an ssh grant needs ssh_public_key")
    mount = order.mount.strip("/")
    started = int(time.time())
    body = {
        "public_key": order.ssh_public_key.strip(),
        "valid_principals": ",".join(order.principals),
        "ttl": f"{order.duration_seconds}s",
        "cert_type": "user",
    }
    path = f"{mount}/sign/{order.role}"
    try:
        answer = transport.call("POST", path, body, retry=False)
    except VaultApiError as exc:
        # The SSH engine refuses (rather than caps) a TTL above the role's max_ttl; cap it
        # ourselves, like Vault does for tokens, and record the grant as capped.
        role_max = _ssh_max_ttl(exc)
        if role_max is None or role_max >= order.duration_seconds:
            raise
        answer = transport.call("POST", path, {**body, "ttl": f"{role_max}s"}, retry=False)
    data = (answer or {}).get("data") or {}
    signed = data.get("signed_key")
    if not isinstance(signed, str):
        raise VaultError(f"Vault returned no certificate from {mount}/sign/{order.role}")
    cert = parse_certificate(signed)
    granted = max(0, cert.valid_before - started)
    return IssuedGrant(
        accessor=None,
        granted_ttl_seconds=granted,
        expires_at=datetime.fromtimestamp(cert.valid_before, UTC),
        identifiers={
            "cert_serial": str(data.get("serial_number") or cert.serial),
            "valid_principals": ",".join(cert.principals),
        },
        secret=None,
        public_material=signed.strip() + "\n",
        capped=granted + 5 < order.duration_seconds,
    )


def _ssh_max_ttl(error: VaultApiError) -> int | None:
    if error.status != 400:
        return None
    for message in error.errors:
        found = re.search(r"ttl is larger than maximum allowed (\d+)", message)
        if found:
            return int(found[1])
    return None


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
    transport: Transport, order: GrantOrder, identity_mount: str
) -> IssuedGrant:
    """Add the requester's entity to the group. Vault has no TTL here: sync removes it."""
    if not order.group:
        raise ConfigError(f"policy {order.policy!r}: an identity-group grant needs a group")
    entity_id = find_entity(transport, identity_mount, order.requester)
    group_id, members = read_group(transport, order.group)
    already = entity_id in members
    if not already:
        write_members(transport, order.group, [*members, entity_id])
        _, members = read_group(transport, order.group)
        if entity_id not in members:
            raise VaultError(f"adding {order.requester} to group {order.group!r} did not stick")
    return IssuedGrant(
        accessor=None,
        granted_ttl_seconds=order.duration_seconds,
        expires_at=datetime.now(UTC) + timedelta(seconds=order.duration_seconds),
        identifiers={
            "entity_id": entity_id,
            "group_id": group_id,
            "group": order.group,
            "already_member": "true" if already else "false",
        },
        secret=None,
        public_material=None,
        capped=False,
    )
