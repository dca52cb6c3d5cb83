"""What ending a grant does to what the requester already opened with it, per kind.

Revoking credentials stops new use; a session opened before may run on. Where the target lets
jitflow end it (PostgreSQL backends, Vault requests) the revocation does; where it can't (an
open SSH connection, a secret already read), the ledger record and the PR say so plainly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from jitflow.core.kinds import GrantKind
from jitflow.core.times import format_time

_NOTES: dict[str, str] = {
    GrantKind.DATABASE.value: (
        "terminated: the database role's revocation statements end its open connections "
        "(running statements, open transactions and their locks) before the role is dropped "
        "(`jitflow doctor` checks the role does this)"
    ),
    GrantKind.VAULT_TOKEN.value: (
        "ended: Vault refuses the token from its revocation on; secrets already read with it "
        "are not taken back"
    ),
    GrantKind.IDENTITY_GROUP.value: (
        "ended: the group's policies leave the requester's Vault tokens at once; secrets "
        "already read with them are not taken back"
    ),
    GrantKind.SSH.value: (
        "not ended: an SSH certificate can't be revoked, it stays valid until its expiry, and "
        "an SSH session opened with it stays open until it is closed (end it on the host, e.g. "
        "`pkill -u <principal>`)"
    ),
    GrantKind.SECRET.value: (
        "ended as far as the secrets engine can: the lease is revoked with the grant's token; "
        "what it can't revoke (AWS STS credentials, certificates) and sessions opened with "
        "them stay valid until they expire"
    ),
}
_UNKNOWN = "not ended by jitflow: what was opened with these credentials may stay open"


def live_sessions(kind: GrantKind | str | None) -> str:
    """One sentence for the ledger's `ended.sessions` and the PR: are live sessions ended?"""
    value = kind.value if isinstance(kind, GrantKind) else (kind or "")
    return _NOTES.get(value, _UNKNOWN)


def sessions_end(kind: GrantKind | str | None) -> bool:
    """Whether revoking a grant of this kind ends what was already opened with it."""
    return not live_sessions(kind).startswith("not ended")


def not_revocable_why(kind: GrantKind | str | None, vault: Mapping[str, object]) -> str:
    """Why a grant's credentials can't be revoked before their own end ("" when they can)."""
    value = kind.value if isinstance(kind, GrantKind) else (kind or "")
    if value == GrantKind.SSH.value:
        return "an SSH certificate can't be revoked"
    if str(vault.get("revocable", "")).lower() == "false":
        return str(vault.get("revocation_note") or "this secret can't be revoked early")
    return ""


def early_end_note(
    kind: GrantKind | str | None, vault: Mapping[str, object], expires_at: datetime | None
) -> str:
    """The `ended.note` of a grant ended before its end (revoked, replaced by an extension)
    whose credentials can't be revoked: they stay valid to their own end ("" otherwise)."""
    why = not_revocable_why(kind, vault)
    if not why:
        return ""
    until = str(vault.get("not_after") or "") or (format_time(expires_at) if expires_at else "")
    return f"still valid until {until or 'it expires'}: {why}"
