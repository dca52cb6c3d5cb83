"""The single steps of a sync: what to order from Vault, how to deliver, what to record.

Each step is small and callable on its own (tests use them to stage a sync that died
between Vault and git).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.approvals import approval_times
from jitflow.core.ledger import (
    END_REASON_OF_EVENT,
    ActiveRecord,
    EndedBlock,
    EndReason,
    Event,
    GrantBlock,
    Trailers,
    active_path,
    active_record,
    archive_path,
    archive_record,
    commit_message,
    parse_active_record,
    request_path,
)
from jitflow.core.live_sessions import early_end_note, live_sessions
from jitflow.core.model import Finding, GrantKind
from jitflow.core.sshkeys import fingerprint
from jitflow.errors import UsageError
from jitflow.reporters.escape import workflow_data
from jitflow.reporters.sync_notes import wrapping_hint
from jitflow.usecases.sync.decide import Verdict

if TYPE_CHECKING:
    from jitflow.core.grants import GrantOrder, IssuedGrant, Secret


class Commenter(Protocol):
    def upsert_comment(self, number: int, marker: str, body: str) -> int: ...

    def ssh_public_keys(self, login: str) -> list[str]: ...


class Wrapper(Protocol):
    def wrap(self, secret: Secret, ttl_seconds: int) -> str: ...


def order_for(verdict: Verdict) -> GrantOrder:
    """The Vault order for an approved request."""
    from jitflow.core.grants import GrantOrder

    decision = verdict.decision
    if decision is None or decision.policy is None or decision.request is None:
        raise UsageError(f"request {verdict.request_id} has no usable decision to issue")
    policy, request = decision.policy, decision.request
    # A window sync reached late is issued only for what is left of it (core.merge).
    duration = verdict.issue_for or decision.duration or policy.default_duration
    grant = policy.grant
    return GrantOrder(
        request_id=request.id,
        policy=policy.name,
        requester=request.requester,
        kind=grant.kind,
        duration_seconds=int(duration.total_seconds()),
        mount=grant.mount,
        role=grant.role,
        vault_policies=grant.policies,
        principals=grant.principals,
        group=grant.group,
        ssh_public_key=request.ssh_public_key,
        path=grant.path,
        method=grant.method,
        params=grant.params,
        ttl_param=grant.ttl_param,
        revocable=grant.revocable,
    )


def mask_for_actions(environ: Mapping[str, str], *values: str) -> None:
    """In GitHub Actions, register secrets with the log masker before anything could log them.

    The runner reads a command up to the end of its line, so each line of a multi-line value
    (a PEM key, a certificate chain) is registered on its own: written whole, every line after
    the first would be printed to the job log in clear. Each line is escaped as command data.
    """
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    for value in values:
        for line in value.splitlines():
            if line.strip():
                sys.stdout.write(f"::add-mask::{workflow_data(line.strip())}\n")
    sys.stdout.flush()


def deliver(
    github: Commenter,
    vault: Wrapper,
    verdict: Verdict,
    issued: IssuedGrant,
    environ: Mapping[str, str],
) -> str:
    """Post what the requester needs: wrapped+encrypted secrets, or the certificate in clear.
    Returns the digest of what was posted (`delivery.delivered_digest`, "" when nothing was),
    which the issue record carries so `jitflow creds` believes that comment only.

    Raises when it can't (no usable SSH key, GitHub or Vault failing): the caller then revokes
    the grant, since a secret that reached nobody is useless and must not stay valid.
    """
    from jitflow.adapters import delivery

    pr = verdict.pr
    decision = verdict.decision
    if pr is None or decision is None or decision.policy is None:
        return ""
    request_id = verdict.request_id
    if issued.secret is not None:
        mask_for_actions(environ, *issued.secret.values.values())
        ttl = max(60, int(decision.policy.grant.wrap_ttl.total_seconds()))
        wrapping_token = vault.wrap(issued.secret, ttl)
        mask_for_actions(environ, wrapping_token)
        keys = github.ssh_public_keys(pr.author)
        armored = delivery.encrypt_for_ssh_keys(wrapping_token.encode(), keys)
        del wrapping_token
        hint = wrapping_hint(ttl, issued.expires_at)
        body = delivery.render_delivery_comment(request_id, armored, expires_hint=hint)
        github.upsert_comment(pr.number, f"credentials:{request_id}", body)
        return delivery.delivered_digest(armored)
    if issued.public_material:
        body = delivery.render_certificate_comment(request_id, issued.public_material)
        github.upsert_comment(pr.number, f"certificate:{request_id}", body)
        return delivery.delivered_digest(issued.public_material)
    return ""


# -- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueFacts:
    """What an issue or adopt record says about Vault's side."""

    kind: GrantKind
    expires_at: datetime
    granted_seconds: int
    vault: Mapping[str, str]
    extends: str = ""  # an extension: the grant it replaces
    started_at: datetime | None = None  # an extension: that grant's first issue
    extension: str = ""  # an extension: `in-place` or `replacement`
    delivered: str = ""  # digest of the delivery comment's blob or certificate (`deliver`)


def facts_of(issued: IssuedGrant, kind: GrantKind) -> IssueFacts:
    vault = {"accessor": issued.accessor or "", **dict(issued.identifiers)}
    return IssueFacts(kind, issued.expires_at, issued.granted_ttl_seconds, vault)


def issue_commit(
    verdict: Verdict, request_bytes: bytes, facts: IssueFacts, now: datetime, event: Event
) -> LedgerCommit:
    decision = verdict.decision
    pr = verdict.pr
    assert decision is not None and decision.policy is not None and decision.request is not None
    assert pr is not None
    requested = decision.duration or decision.policy.default_duration
    block = GrantBlock(
        kind=facts.kind,
        mount=decision.policy.grant.mount,
        role=decision.policy.grant.role,
        issued_at=now,
        expires_at=facts.expires_at,
        requested_seconds=int(requested.total_seconds()),
        granted_seconds=facts.granted_seconds,
        approved_by=verdict.approved_by,
        merged_by=pr.merged_by or "",
        merged_at=pr.merged_at or now,
        pr=pr.number,
        merge_commit=verdict.merge_commit,
        policy_commit=verdict.policy_commit,
        vault=facts.vault,
        break_glass=decision.break_glass,
        approved_at=approval_times(pr.reviews, verdict.approved_by),
        ssh_key_fingerprint=fingerprint(decision.request.ssh_public_key or ""),
        extends=facts.extends,
        started_at=facts.started_at,
        extension=facts.extension,
        approved_by_oncall=verdict.approved_by_oncall,
        oncall_waived=decision.approvals.oncall_waived if decision.approvals else "",
        delivered=facts.delivered,
    )
    trailers = Trailers(
        event,
        verdict.request_id,
        decision.policy.name,
        decision.request.requester,
        verdict.approved_by,
        facts.expires_at,
        facts.extends,
    )
    files: dict[str, bytes | None] = {
        request_path(verdict.request_id): None,
        active_path(verdict.request_id): active_record(request_bytes, block),
    }
    return LedgerCommit(commit_message(trailers), files, now)


_EVENT_OF_END = {reason: event for event, reason in END_REASON_OF_EVENT.items()}


@dataclass(frozen=True)
class Owner:
    """The policy a request was made under and who made it (its commits' trailers)."""

    policy: str
    requester: str


def deny_commit(
    verdict: Verdict, request_bytes: bytes, owner: Owner, now: datetime, by: str
) -> LedgerCommit:
    ended = EndedBlock(
        at=now,
        reason=EndReason.DENIED,
        by=by,
        pr=verdict.pr.number if verdict.pr else None,
        merge_commit=verdict.merge_commit,
        findings=verdict.all_findings(),
    )
    files: dict[str, bytes | None] = {
        request_path(verdict.request_id): None,
        archive_path(verdict.request_id, now): archive_record(request_bytes, ended),
    }
    body = "\n".join(f"{f.code}: {f.message}" for f in ended.findings)
    trailers = Trailers(Event.DENY, verdict.request_id, owner.policy, owner.requester)
    return LedgerCommit(commit_message(trailers, body), files, now)


def end_commit(
    record: ActiveRecord, record_bytes: bytes, ended: EndedBlock, *, still_active_file: bool = True
) -> LedgerCommit:
    """Archive `record` with the `ended:` block the caller knows (reason, time, by whom, PR,
    findings, extension); its commit event follows from the reason, and what the end did to
    live sessions and what outlives it come from the record."""
    in_place = ended.extension == "in-place"
    early = ended.reason in (EndReason.REVOKED, EndReason.EXTENDED) and not in_place
    ended = replace(
        ended,
        # in place nothing ended: the same credentials go on
        sessions="go on: the same credentials were extended in place"
        if in_place
        else live_sessions(record.kind),
        note=early_end_note(record.kind, record.vault, record.expires_at) if early else "",
    )
    files: dict[str, bytes | None] = {
        archive_path(record.id, ended.at): archive_record(record_bytes, ended)
    }
    if still_active_file:
        files[active_path(record.id)] = None
    trailers = Trailers(
        _EVENT_OF_END[ended.reason],
        record.id,
        record.policy,
        record.requester,
        record.approved_by,
        record.expires_at,
    )
    extended_by = ended.extended_by
    body = f"Replaced by its approved extension {extended_by}." if extended_by else ""
    if in_place:
        body = f"Extended in place by its approved extension {extended_by}."
    return LedgerCommit(commit_message(trailers, body), files, ended.at)


def failed_delivery_commit(
    issue: LedgerCommit, request_id: str, failed: EndedBlock, why: str, *, revoked: bool = True
) -> LedgerCommit:
    """End, as `failed`, the grant that `issue` (a commit of the same run) recorded."""
    content = issue.files[active_path(request_id)] or b""
    record = parse_active_record(content, request_id)
    message = f"revoked at once: {why}" if revoked else why
    finding = Finding("delivery-failed", message, active_path(request_id))
    return end_commit(
        record, content, replace(failed, reason=EndReason.FAILED, findings=(finding,))
    )


def orphan_revoke_commit(
    request_id: str, accessor: str, owner: Owner, now: datetime, why: str
) -> LedgerCommit:
    """An orphan token with nothing to archive: the commit itself is the record."""
    trailers = Trailers(Event.REVOKE, request_id, owner.policy, owner.requester)
    body = f"Revoked Vault token (accessor {accessor}) that had no record in git: {why}"
    return LedgerCommit(commit_message(trailers, body), {}, now)
