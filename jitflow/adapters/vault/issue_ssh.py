"""Issuing ssh grants: a certificate signed by Vault's SSH engine, recorded before and after.

Signing is never retried once sent (a second certificate can't be revoked either).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jitflow.adapters.vault.issue import (
    MARKER_POLICIES,
    Anchor,
    AnchorTerms,
    create_anchor,
    revoke_quietly,
)
from jitflow.adapters.vault.sshcert import SshCertificate, parse_certificate
from jitflow.adapters.vault.transport import Transport, VaultApiError
from jitflow.adapters.vault.types import GrantOrder, IssuedGrant, TokenInfo
from jitflow.core.sshkeys import fingerprint
from jitflow.errors import ConfigError, VaultError


def issue_ssh(
    transport: Transport, order: GrantOrder, token_role: str, journal: Path | None = None
) -> IssuedGrant:
    """Sign the requester's public key, recorded in Vault before and after signing.

    A certificate can't be revoked or read back, so a run that dies after signing must not
    lose it: before signing, an anchor token records the intent (request, key fingerprint,
    the certificate's key id); right after, the certificate goes to the runner's `journal`
    (a directory on its disk) and a receipt token records it and its serial in Vault. A
    later sync finds the anchor through the orphan scan, records the serial and delivers the
    certificate instead of signing a second one; with neither receipt nor journal entry, it
    records the certificate as lost (key id known, serial unknown) and never signs again.
    """
    if not order.ssh_public_key:
        raise ConfigError(f"request {order.request_id}: an ssh grant needs ssh_public_key")
    mount = order.mount.strip("/")
    key_print = fingerprint(order.ssh_public_key)
    key_id = f"jitflow-{order.request_id}-{secrets.token_hex(6)}"
    meta = {"jitflow_ssh_key": key_print, "jitflow_ssh_key_id": key_id}
    anchor = create_anchor(transport, order, token_role, AnchorTerms(MARKER_POLICIES, meta))
    started = int(time.time())
    signed, serial = _sign(transport, order, mount, anchor, key_id)
    if journal is not None:
        write_journal(journal, anchor.accessor, signed)
    cert = parse_certificate(signed)
    serial = serial or str(cert.serial)
    identifiers = {
        "cert_serial": serial,
        "cert_key_id": cert.key_id,
        "valid_principals": ",".join(cert.principals),
        "ssh_key": key_print,
        "token_role": token_role,
    }
    receipt = record_receipt(transport, order, token_role, anchor, (serial, signed))
    if receipt:
        identifiers["receipt_accessor"] = receipt
    return ssh_grant(SignedCertificate(anchor.accessor, cert, signed, identifiers), order, started)


def write_journal(journal: Path, accessor: str, certificate: str) -> None:
    """Keep a signed certificate on the runner's disk before anything else can fail (best
    effort: the receipt in Vault is the record that survives a lost runner)."""
    with contextlib.suppress(OSError):
        journal.mkdir(parents=True, exist_ok=True)
        partial = journal / f".{accessor}.tmp"
        with open(partial, "w", encoding="ascii") as out:
            out.write(certificate.strip() + "\n")
            out.flush()
            os.fsync(out.fileno())
        partial.replace(journal / f"{accessor}.cert")


def read_journal(journal: Path | None, anchor: TokenInfo) -> IssuedGrant | None:
    """The certificate the anchor's run signed, from the journal on this runner's disk; None
    when it isn't there (another machine, or the run died before writing it)."""
    if journal is None or not _ACCESSOR.fullmatch(anchor.accessor):
        return None
    try:
        signed = (journal / f"{anchor.accessor}.cert").read_text(encoding="ascii")
        cert = parse_certificate(signed)
    except (OSError, UnicodeDecodeError, VaultError):
        return None
    intended = anchor.meta.get("jitflow_ssh_key_id")
    if intended and cert.key_id != intended:
        return None
    identifiers = {
        "cert_serial": format(cert.serial, "x"),  # as Vault writes it
        "cert_key_id": cert.key_id,
        "valid_principals": ",".join(cert.principals),
        "ssh_key": anchor.meta.get("jitflow_ssh_key", ""),
    }
    return _recovered(anchor.accessor, cert, signed, identifiers)


_ACCESSOR = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class SignedCertificate:
    """A signed certificate as recorded: its anchor's accessor, the certificate parsed and as
    Vault signed it, and the identifiers recorded for it."""

    accessor: str
    cert: SshCertificate
    text: str
    identifiers: Mapping[str, str]


def ssh_grant(signed: SignedCertificate, order: GrantOrder, started: int) -> IssuedGrant:
    # Vault stamps the certificate when it signs, after `started`: a slow signing would make the
    # certificate look longer than asked. It never is (a role caps, never extends), so the asked
    # duration bounds what is recorded as granted.
    granted = max(0, min(signed.cert.valid_before - started, order.duration_seconds))
    return _certificate_grant(signed, granted, capped=granted + 5 < order.duration_seconds)


def _sign(
    transport: Transport, order: GrantOrder, mount: str, anchor: Anchor, key_id: str
) -> tuple[str, str]:
    """(certificate, serial). A refusal ends the anchor; a lost answer keeps it as the record
    that a certificate may exist."""
    body = {
        "public_key": (order.ssh_public_key or "").strip(),
        "valid_principals": ",".join(order.principals),
        "ttl": f"{order.duration_seconds}s",
        "cert_type": "user",
        "key_id": key_id,
    }
    path = f"{mount}/sign/{order.role}"
    try:
        answer = None
        for _ in range(3):  # a refusal signs nothing: adjust the request and ask again
            try:
                answer = transport.call("POST", path, body, retry=False)
                break
            except VaultApiError as exc:
                adjusted = _adjusted(exc, body, order.duration_seconds)
                if adjusted is None:
                    raise
                body = adjusted
    except VaultApiError as exc:
        if 400 <= exc.status < 500:
            revoke_quietly(transport, anchor.accessor)  # refused: nothing was signed
        raise
    data = (answer or {}).get("data") or {}
    signed = data.get("signed_key")
    if not isinstance(signed, str):
        revoke_quietly(transport, anchor.accessor)
        raise VaultError(f"Vault returned no certificate from {path}")
    return signed, str(data.get("serial_number") or "")


def record_receipt(
    transport: Transport,
    order: GrantOrder,
    token_role: str,
    anchor: Anchor,
    certificate: tuple[str, str],  # (its serial, the certificate)
) -> str | None:
    """A token whose metadata holds the certificate (public) and its serial, living as long
    as the anchor; its accessor, or None when Vault would not create it (the certificate is
    still delivered and recorded by this run)."""
    serial, text = certificate
    meta = {
        "jitflow_receipt_of": anchor.accessor,
        "jitflow_cert_serial": serial,
        "jitflow_certificate": text.strip(),
    }
    seconds = max(1, int((anchor.expires_at - datetime.now(UTC)).total_seconds()))
    try:
        terms = AnchorTerms(MARKER_POLICIES, meta, seconds)
        receipt = create_anchor(transport, order, token_role, terms)
    except VaultError:
        return None
    return receipt.accessor


def _adjusted(error: VaultApiError, body: dict[str, str], wanted: int) -> dict[str, str] | None:
    """The sign request to try after a refusal, or None when it can't be helped."""
    if error.status == 400 and error.mentions("key_id is not allowed") and "key_id" in body:
        # The role doesn't take jitflow's key ids (allow_user_key_ids): Vault's own then.
        return {k: v for k, v in body.items() if k != "key_id"}
    # The SSH engine refuses (rather than caps) a TTL above the role's max_ttl; cap it
    # ourselves, like Vault does for tokens, and record the grant as capped.
    role_max = _ssh_max_ttl(error)
    if role_max is None or role_max >= wanted or body["ttl"] == f"{role_max}s":
        return None
    return {**body, "ttl": f"{role_max}s"}


def _ssh_max_ttl(error: VaultApiError) -> int | None:
    if error.status != 400:
        return None
    for message in error.errors:
        found = re.search(r"ttl is larger than maximum allowed (\d+)", message)
        if found:
            return int(found[1])
    return None


def recover_certificate(anchor: TokenInfo, receipt: TokenInfo) -> IssuedGrant:
    """The certificate a run that died signed, from the receipt it left (never re-signed)."""
    signed = receipt.meta.get("jitflow_certificate", "")
    cert = parse_certificate(signed)
    identifiers = {
        "cert_serial": receipt.meta.get("jitflow_cert_serial") or str(cert.serial),
        "cert_key_id": cert.key_id,
        "valid_principals": ",".join(cert.principals),
        "ssh_key": anchor.meta.get("jitflow_ssh_key", ""),
        "receipt_accessor": receipt.accessor,
    }
    return _recovered(anchor.accessor, cert, signed, identifiers)


def _recovered(
    accessor: str, cert: SshCertificate, signed: str, identifiers: Mapping[str, str]
) -> IssuedGrant:
    granted = max(0, cert.valid_before - cert.valid_after)
    return _certificate_grant(
        SignedCertificate(accessor, cert, signed, identifiers), granted, capped=False
    )


def _certificate_grant(signed: SignedCertificate, granted: int, *, capped: bool) -> IssuedGrant:
    """The issued grant of a signed certificate: it ends when the certificate does."""
    return IssuedGrant(
        accessor=signed.accessor,
        granted_ttl_seconds=granted,
        expires_at=datetime.fromtimestamp(signed.cert.valid_before, UTC),
        identifiers=dict(signed.identifiers),
        secret=None,
        public_material=signed.text.strip() + "\n",
        capped=capped,
    )
