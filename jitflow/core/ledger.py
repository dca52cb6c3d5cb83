"""The git ledger (docs/ledger.md): record blocks, paths, commit messages and the plan of
transitions. Pure: no I/O, no clock; the use-case passes `now` and the facts it gathered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from jitflow.core.loading import ACTIVE_DIR, ARCHIVE_DIR, REQUEST_DIR
from jitflow.core.model import ActiveGrant, Finding, GrantKind
from jitflow.core.plain_yaml import load_plain
from jitflow.core.times import format_time, parse_time
from jitflow.core.yamlio import YamlError, dump_block, load_yaml

RUNNER_NAME = "jitflow-sync"
RUNNER_EMAIL = "jitflow-sync@users.noreply.github.com"


class Event(StrEnum):
    ISSUE = "issue"
    EXPIRE = "expire"
    REVOKE = "revoke"
    DENY = "deny"
    FAIL = "fail"
    ADOPT = "adopt"
    POST_REVIEW = "post-review"  # evidence of a break-glass grant's post-hoc review
    EXTEND = "extend"  # a grant ended because an approved extension replaced it
    WARN = "warn"  # the requester was warned on the PR that the grant is about to expire


class EndReason(StrEnum):
    EXPIRED = "expired"
    REVOKED = "revoked"
    DENIED = "denied"
    FAILED = "failed"
    EXTENDED = "extended"  # replaced by its extension (`ended.extended_by`), which goes on


END_REASON_OF_EVENT = {
    Event.EXPIRE: EndReason.EXPIRED,
    Event.REVOKE: EndReason.REVOKED,
    Event.DENY: EndReason.DENIED,
    Event.FAIL: EndReason.FAILED,
    Event.EXTEND: EndReason.EXTENDED,
}


def request_path(request_id: str) -> str:
    return f"{REQUEST_DIR}/{request_id}.yaml"


def active_path(request_id: str) -> str:
    return f"{ACTIVE_DIR}/{request_id}.yaml"


def archive_path(request_id: str, ended_at: datetime) -> str:
    """Archived under the UTC month of the end, so one folder never grows without bound."""
    stamp = format_time(ended_at)
    return f"{ARCHIVE_DIR}/{stamp[:4]}/{stamp[5:7]}/{request_id}.yaml"


def reused_id_archive_path(path: str, merge_commit: str) -> str:
    """Where the denial of a request whose id was already used is archived: a path no other
    record can take (ids have no dots), so it never overwrites the original's record."""
    stem = path.removesuffix(".yaml")
    return f"{stem}.reused-{merge_commit[:12] or 'unmerged'}.yaml"


@dataclass(frozen=True)
class GrantBlock:
    """The `grant:` block the runner appends to a request to make the active record."""

    kind: GrantKind
    issued_at: datetime
    expires_at: datetime
    requested_seconds: int
    granted_seconds: int
    approved_by: tuple[str, ...]
    merged_by: str
    merged_at: datetime
    pr: int
    merge_commit: str
    policy_commit: str
    vault: Mapping[str, str]
    mount: str = ""
    role: str = ""
    break_glass: bool = False
    # when each counted approval was submitted on GitHub (login -> time); empty when unknown
    approved_at: Mapping[str, datetime] = field(default_factory=dict)
    ssh_key_fingerprint: str = ""  # SHA256 of the signed key, as `ssh-keygen -lf` shows it
    extends: str = ""  # the grant this one extends (and replaces)
    started_at: datetime | None = None  # an extension: the first issue of the grant it extends
    extension: str = ""  # an extension: `in-place` (same credentials, renewed) or `replacement`
    # why approval held through the on-call rotation at the policy commit (login -> rotation),
    # and the rotation whose on-call requester needed no approval
    approved_by_oncall: Mapping[str, str] = field(default_factory=dict)
    oncall_waived: str = ""
    # `sha256:<hex>` of the delivery comment's encrypted blob or certificate: the one comment
    # `jitflow creds` believes (anyone can post a look-alike as the workflows' login)
    delivered: str = ""


@dataclass(frozen=True)
class EndedBlock:
    """The `ended:` block that closes a record in the archive."""

    at: datetime
    reason: EndReason
    by: str
    pr: int | None = None
    merge_commit: str | None = None
    findings: tuple[Finding, ...] = ()
    extended_by: str = ""  # reason extended: the extension that replaced this grant
    sessions: str = ""  # what the end did to sessions opened with the grant (live_sessions)
    note: str = ""  # an early end of credentials that can't be revoked: they stay valid
    extension: str = ""  # reason extended: `in-place` (credentials go on) or `replacement`


def _with_newline(content: bytes) -> bytes:
    return content if not content or content.endswith(b"\n") else content + b"\n"


def render_grant(block: GrantBlock) -> str:
    data: dict[str, Any] = {"kind": block.kind.value}
    if block.mount:
        data["mount"] = block.mount
    if block.role:
        data["role"] = block.role
    data.update(
        issued_at=format_time(block.issued_at),
        expires_at=format_time(block.expires_at),
        extends=block.extends,
        started_at=format_time(block.started_at) if block.started_at else "",
        extension=block.extension,
        requested_seconds=block.requested_seconds,
        granted_seconds=block.granted_seconds,
        approved_by=list(block.approved_by),
        approved_at={k: format_time(v) for k, v in block.approved_at.items()},
        merged_by=block.merged_by,
        merged_at=format_time(block.merged_at),
        pr=block.pr,
        merge_commit=block.merge_commit,
        policy_commit=block.policy_commit,
        break_glass=block.break_glass,
    )
    for key in ("extends", "started_at", "extension"):
        if not data[key]:
            del data[key]  # a grant that extends nothing reads as before
    if not block.approved_at:
        del data["approved_at"]  # records written before times were kept look the same
    if block.approved_by_oncall:
        data["approved_by_oncall"] = dict(sorted(block.approved_by_oncall.items()))
    if block.oncall_waived:
        data["oncall_waived"] = block.oncall_waived
    if block.ssh_key_fingerprint:
        data["ssh_key_fingerprint"] = block.ssh_key_fingerprint
    if block.delivered:
        data["delivered"] = block.delivered
    data["vault"] = {k: str(v) for k, v in block.vault.items() if v}
    return dump_block("grant", data)


def render_ended(block: EndedBlock) -> str:
    data: dict[str, Any] = {
        "at": format_time(block.at),
        "reason": block.reason.value,
        "by": block.by,
    }
    if block.pr is not None:
        data["pr"] = block.pr
    if block.merge_commit:
        data["merge_commit"] = block.merge_commit
    if block.extended_by:
        data["extended_by"] = block.extended_by
    if block.extension:
        data["extension"] = block.extension
    if block.findings:
        data["findings"] = [{"code": f.code, "message": f.message} for f in block.findings]
    if block.sessions:
        data["sessions"] = block.sessions
    if block.note:
        data["note"] = block.note
    return dump_block("ended", data)


def active_record(request_bytes: bytes, block: GrantBlock) -> bytes:
    """The request byte for byte, then the grant block."""
    return _with_newline(request_bytes) + render_grant(block).encode()


def archive_record(record_bytes: bytes, block: EndedBlock) -> bytes:
    """The active record (or the request never issued), then the ended block."""
    return _with_newline(record_bytes) + render_ended(block).encode()


@dataclass(frozen=True)
class ActiveRecord:
    """What the runner needs back from an active file: who, what, until when, how to revoke."""

    id: str
    policy: str
    requester: str
    kind: GrantKind | None
    expires_at: datetime | None
    pr: int | None
    accessor: str | None
    vault: Mapping[str, str] = field(default_factory=dict)
    approved_by: tuple[str, ...] = ()
    ssh_public_key: str | None = None  # the key an ssh grant's certificate was signed for
    started_at: datetime | None = None  # the first issue of the grant (before any extension)
    extends: str | None = None  # the grant this one extended
    delivered: str | None = None  # digest of the delivery comment's blob (GrantBlock)


def parse_active_record(content: bytes, request_id: str) -> ActiveRecord:
    """Lenient: a damaged record still yields its id so it can be expired or reported."""
    data = load_plain(content)  # the runner's own plain blocks: read fast (a sync reads many)
    if data is None:
        try:
            data = load_yaml(content, active_path(request_id)).data
        except YamlError:
            data = None
    data = data if isinstance(data, dict) else {}
    raw_grant = data.get("grant")
    grant: dict[str, Any] = raw_grant if isinstance(raw_grant, dict) else {}
    raw_vault = grant.get("vault")
    vault: dict[str, Any] = raw_vault if isinstance(raw_vault, dict) else {}
    try:
        kind: GrantKind | None = GrantKind(str(grant.get("kind")))
    except ValueError:
        kind = None
    expires = grant.get("expires_at")
    try:
        expires_at = parse_time(expires) if isinstance(expires, str) else None
    except ValueError:
        expires_at = None
    pr = grant.get("pr")
    approved = grant.get("approved_by")
    started = grant.get("started_at") or grant.get("issued_at")
    try:
        started_at = parse_time(started) if isinstance(started, str) else None
    except ValueError:
        started_at = None
    extends = grant.get("extends")
    delivered = grant.get("delivered")
    key = data.get("ssh_public_key")
    return ActiveRecord(
        id=request_id,
        policy=str(data.get("policy", "")),
        requester=str(data.get("requester", "")),
        kind=kind,
        expires_at=expires_at,
        pr=pr if isinstance(pr, int) else None,
        accessor=str(vault["accessor"]) if vault.get("accessor") else None,
        vault={str(k): str(v) for k, v in vault.items()},
        approved_by=tuple(str(a) for a in approved) if isinstance(approved, list) else (),
        ssh_public_key=key.strip() if isinstance(key, str) and key.strip() else None,
        started_at=started_at,
        extends=extends if isinstance(extends, str) and extends else None,
        delivered=delivered if isinstance(delivered, str) and delivered else None,
    )


@dataclass(frozen=True)
class Trailers:
    """What a transition commit says about itself, machine-readably."""

    event: Event
    request_id: str
    policy: str
    requester: str
    approved_by: tuple[str, ...] = ()
    expires: datetime | None = None
    extends: str = ""  # an issue that extends a grant, or the end of a grant by extension


def commit_message(trailers: Trailers, body: str = "") -> str:
    lines = [f"jitflow: {trailers.event.value} {trailers.request_id}", ""]
    if body:
        lines += [body.strip(), ""]
    lines += [
        f"Jitflow-Event: {trailers.event.value}",
        f"Jitflow-Request: {trailers.request_id}",
        f"Jitflow-Policy: {trailers.policy or 'unknown'}",
        f"Jitflow-Requester: {trailers.requester or 'unknown'}",
    ]
    if trailers.approved_by:
        lines.append(f"Jitflow-Approved-By: {', '.join(trailers.approved_by)}")
    if trailers.expires is not None:
        lines.append(f"Jitflow-Expires: {format_time(trailers.expires)}")
    if trailers.extends:
        lines.append(f"Jitflow-Extends: {trailers.extends}")
    return "\n".join(lines) + "\n"


# -- the plan ------------------------------------------------------------------------------


class Action(StrEnum):
    ISSUE = "issue"  # decide from scratch, then issue (or deny)
    ADOPT_OR_REVOKE = "adopt-or-revoke"  # a Vault token with no record in git
    EXPIRE = "expire"
    REVOKE = "revoke"  # early: revocation PR or --revoke
    WAIT = "wait"  # merged, start not reached yet (reported, nothing done)


@dataclass(frozen=True)
class PendingRequest:
    """A request file directly under requests/ on main: merged, not yet issued or denied."""

    id: str
    start: datetime | None  # the requested start, if any
    merged_at: datetime | None


@dataclass(frozen=True)
class RevokedDeletion:
    """An active file deleted on main by a revocation PR, not yet archived."""

    id: str
    commit: str


@dataclass(frozen=True)
class OrphanToken:
    accessor: str
    request_id: str


@dataclass(frozen=True)
class Transition:
    action: Action
    request_id: str
    why: str
    accessor: str | None = None
    deletion_commit: str | None = None


@dataclass(frozen=True)
class LedgerState:
    pending: tuple[PendingRequest, ...]
    active: tuple[ActiveRecord, ...]
    deletions: tuple[RevokedDeletion, ...]


def plan(
    state: LedgerState,
    now: datetime,
    vault_tokens: Iterable[OrphanToken] = (),
    revoke_ids: Sequence[str] = (),
) -> list[Transition]:
    """Every transition due at `now`, in a stable order: ends first, then issues."""
    out: list[Transition] = []
    recorded = {r.accessor for r in state.active if r.accessor}
    wanted = set(revoke_ids)
    for record in sorted(state.active, key=lambda r: r.id):
        if record.id in wanted:
            out.append(Transition(Action.REVOKE, record.id, "named by --revoke"))
        elif record.expires_at is None or record.expires_at <= now:
            why = "expired" if record.expires_at else "no readable expiry: ended to be safe"
            out.append(Transition(Action.EXPIRE, record.id, why))
    for deletion in sorted(state.deletions, key=lambda d: d.id):
        out.append(
            Transition(
                Action.REVOKE,
                deletion.id,
                "active file deleted by a revocation PR",
                deletion_commit=deletion.commit,
            )
        )
    for token in sorted(vault_tokens, key=lambda t: (t.request_id, t.accessor)):
        if token.accessor in recorded:
            continue
        out.append(
            Transition(
                Action.ADOPT_OR_REVOKE,
                token.request_id,
                "Vault token with no active record in git",
                accessor=token.accessor,
            )
        )
    orphan_ids = {t.request_id for t in out if t.action is Action.ADOPT_OR_REVOKE}
    for request in sorted(state.pending, key=lambda p: p.id):
        if request.id in orphan_ids:
            continue
        start = due_at(request)
        if start is not None and start > now:
            out.append(Transition(Action.WAIT, request.id, f"starts at {format_time(start)}"))
        else:
            out.append(Transition(Action.ISSUE, request.id, "merged and due"))
    return out


def due_at(request: PendingRequest) -> datetime | None:
    """Start is the merge time, or the requested start when that is later."""
    if request.start is None:
        return request.merged_at
    if request.merged_at is None:
        return request.start
    return max(request.start, request.merged_at)


def revocation_findings(
    ids: Sequence[str],
    active: Iterable[ActiveGrant],
    author: str,
    *,
    approved_by_approver: bool = False,
) -> tuple[Finding, ...]:
    """Why a revocation PR can't be accepted yet: unknown grants, or another person's grant
    without one approval from the policy's approvers. Giving up your own grant is free."""
    by_id = {g.id: g for g in active}
    findings: list[Finding] = []
    for grant_id in ids:
        path = active_path(grant_id)
        grant = by_id.get(grant_id)
        if grant is None:
            findings.append(
                Finding("unknown-grant", f"{grant_id} is not an active grant", path, 1, 1)
            )
        elif grant.requester.lower() != author.lower() and not approved_by_approver:
            findings.append(
                Finding(
                    "revocation-needs-approval",
                    f"{grant_id} belongs to {grant.requester}: revoking another person's grant "
                    f"needs one approval from the approvers of policy {grant.policy}",
                    path,
                    1,
                    1,
                )
            )
    return tuple(findings)
