"""The PR comments sync posts about a grant: issued, failed, denied, ended, extended, warned.

Pure functions of core values; sync's use-cases post what they return.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from jitflow.core.durations import format_duration
from jitflow.core.evaluation import RequestDecision
from jitflow.core.ledger import ActiveRecord, Event
from jitflow.core.live_sessions import live_sessions
from jitflow.core.model import Finding, GrantKind, Policy
from jitflow.core.times import format_time
from jitflow.reporters.escape import markdown_code, markdown_mention, markdown_text

if TYPE_CHECKING:
    from jitflow.core.grants import IssuedGrant

_PLAIN = re.compile(r"[a-z0-9-]+")


def format_duration_seconds(seconds: int) -> str:
    return format_duration(timedelta(seconds=seconds))


def wrapping_hint(ttl_seconds: int, grant_ends: datetime) -> str:
    """Under a delivered secret: when its wrapping token and the grant end."""
    return (
        f"the wrapping token expires in {format_duration_seconds(ttl_seconds)}; "
        f"the grant ends at {format_time(grant_ends)}"
    )


def issued_note(request_id: str, decision: RequestDecision | None, issued: IssuedGrant) -> str:
    """Told on the request's PR when its grant is issued: until when, a shorter TTL than
    asked, credentials that can't be revoked early, what happens to sessions at the end."""
    requested = int(decision.duration.total_seconds() if decision and decision.duration else 0)
    requester = decision.request.requester if decision and decision.request else ""
    who = f"{markdown_mention(requester)}, your grant is issued" if requester else "Issued"
    text = f"### `{request_id}` is active\n\n{who} until {format_time(issued.expires_at)}."
    if issued.capped or (requested and issued.granted_ttl_seconds < requested):
        text += (
            f"\n\n**Vault granted a shorter TTL than asked:** "
            f"{format_duration_seconds(issued.granted_ttl_seconds)} instead of "
            f"{format_duration_seconds(requested)} (capped by the Vault role or mount maximum)."
        )
    note = issued.identifiers.get("revocation_note")
    if note:
        text += (
            f"\n\n**Can't be revoked early:** {markdown_text(note)}. It ends on its own at "
            f"{format_time(issued.expires_at)}, which the grant's end does not exceed."
        )
    kind = decision.policy.grant.kind if decision and decision.policy else None
    return text + f"\n\nWhen it ends, sessions opened with it: {live_sessions(kind)}.\n"


def failed_note(
    request_id: str, requester: str, why: str, *, missing_key: bool, revoked: bool = True
) -> str:
    """Why a grant that was issued ended at once, and what the requester does next."""
    advice = (
        "add an SSH public key (ed25519 or RSA) to your GitHub account at "
        "https://github.com/settings/keys, then open a new request PR"
        if missing_key
        else "open a new request PR once the problem above is fixed"
    )
    return (
        f"### `{request_id}` failed: the credentials could not be delivered\n\n"
        f"The grant was issued but could not be delivered to {markdown_mention(requester)}: "
        f"{markdown_text(why)}\n\n"
        + (
            "Credentials nobody received must not stay valid, so they were revoked at once and "
            if revoked
            else "Nothing more is issued for this request: "
        )
        + f"the request was archived as `failed`. To get access, {advice}.\n"
    )


def denied_note(request_id: str, findings: tuple[Finding, ...], requester: str = "") -> str:
    who = f"{markdown_mention(requester)}: the" if requester else "The"
    lines = [
        f"### `{request_id}` was denied at issue time",
        "",
        f"{who} merge did not satisfy the policy when re-checked from scratch, so nothing was "
        "issued and the request was archived as denied:",
        "",
    ]
    lines += [f"- {markdown_code(f.code)}: {markdown_text(f.message)}" for f in findings] or [
        "- (no reason recorded)"
    ]
    return "\n".join(lines) + "\n"


def ended_note(
    record: ActiveRecord, event: Event, by: str, extended_by: str = "", *, in_place: bool = False
) -> str:
    """Told on the grant's PR when it ends: expired, revoked (by whom), or replaced."""
    head = f"### `{record.id}` has ended\n\n{markdown_mention(record.requester)}, your grant "
    if event is Event.EXTEND and in_place:
        text = head + (
            f"was extended in place by `{extended_by}`: the same credentials stay valid, "
            "to the new end that extension's PR gives."
        )
        return text + "\n"
    if event is Event.EXTEND:
        text = head + f"was replaced by its extension `{extended_by}`."
    elif event is Event.EXPIRE:
        text = head + "expired and was revoked in Vault."
    else:
        text = head + f"was revoked in Vault (by {markdown_mention(by)})."
    if record.kind is GrantKind.SSH:
        until = format_time(record.expires_at) if record.expires_at else "its end"
        text += (
            " Its SSH certificate can't be revoked early: it stays valid until "
            f"{until}, and open SSH sessions are not ended."
        )
    elif record.vault.get("revocable") == "false":
        note = record.vault.get("revocation_note") or "this secret can't be revoked early"
        text += f" {markdown_text(note[:1].upper() + note[1:])}."
        if event is not Event.EXPIRE:
            end = format_time(record.expires_at) if record.expires_at else "its end"
            until = record.vault.get("not_after") or end
            text += f" It stays valid until {markdown_text(until)}."
    return text + "\n"


def in_place_note(extends: str, kind: GrantKind) -> str:
    """What the requester reads when their grant was extended in place."""
    what = (
        "your Vault entity stays in the group"
        if kind is GrantKind.IDENTITY_GROUP
        else ("keep using the credentials you already have")
    )
    return (
        f"\nThis extends `{extends}` **in place**: Vault renewed the same credentials to the "
        f"new end; {what}, there is nothing new to fetch.\n"
    )


_SWITCH = {
    GrantKind.VAULT_TOKEN: "use the new token from the comment above",
    GrantKind.DATABASE: "use the new database credentials from the comment above",
    GrantKind.SSH: "use the new certificate from the comment above",
    GrantKind.IDENTITY_GROUP: "nothing to do: your Vault entity stays in the group",
    GrantKind.SECRET: "use the new secret from the comment above",
}


def extension_note(extends: str, kind: GrantKind) -> str:
    """What the requester reads on the PR when an extension replaced their grant."""
    if not extends:
        return ""
    return (
        f"\nThis extends `{extends}`, which ended now that this grant was delivered: "
        f"{_SWITCH.get(kind, 'use the new credentials from the comment above')}.\n"
    )


def warning_note(record: ActiveRecord, policy: Policy | None, now: datetime) -> str:
    """The comment: who, when it ends, and exactly how to extend (or that it can't be)."""
    assert record.expires_at is not None
    left = format_duration(record.expires_at - now)
    text = (
        f"### `{record.id}` expires at {format_time(record.expires_at)} (in {left})\n\n"
        f"{markdown_mention(record.requester)}, your grant of {markdown_code(record.policy)} "
        "ends soon. "
    )
    if policy is None or policy.extension is None or not _PLAIN.fullmatch(record.policy):
        return text + (
            f"Policy {markdown_code(record.policy)} does not allow extensions: if you still need access, "
            "open a new request once this one has ended.\n"
        )
    rule = policy.extension
    step = rule.self_approve_up_to or policy.default_duration
    free = (
        f" An extension by at most {format_duration(rule.self_approve_up_to)} needs no approval."
        if rule.self_approve_up_to
        else ""
    )
    return text + (
        "To extend it, open an extension request (same policy; the grant runs on from "
        f"its current end, at most {format_duration(rule.total_max)} in all):{free}\n\n"
        "```sh\n"
        f"jitflow request {record.policy} --extends {record.id} --for "
        f'{format_duration(step)} --reason "..." --base origin/main --open\n'
        "```\n\n"
        f"or add a file `requests/<new-id>.yaml` with `extends: {record.id}` next to "
        "`policy`, `requester`, `duration` and `reason`.\n"
    )
