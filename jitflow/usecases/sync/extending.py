"""Extending an active grant at sync: re-judge the extension against main's ledger now, issue
credentials that run to the new end, deliver them, then end the grant they replace.

Every kind is extended by replacement, so the new end is enforced by Vault exactly as an
issue's is (the new anchor token's `explicit_max_ttl` is the time left to the new end):

- `vault-token`: a new token. The old one can't be renewed in place: its holder could renew
  a renewable token themselves, past any approval.
- `database`: new credentials read with a new anchor token; the old user is dropped once the
  new ones are delivered.
- `ssh`: a new certificate valid to the new end; the old one can't be revoked (it ends at its
  own, earlier, `valid_before`), its anchor token is.
- `identity-group`: the membership stays (the new grant holds it); only the old anchor token
  ends.
- `secret` (any leased secret): a new lease read with the new anchor token; the old lease is
  revoked with its anchor, except where the engine can't revoke early (STS credentials,
  certificates), which then stay valid until their own, earlier, end, as for any revocation.

The old grant ends only after the new credentials were delivered, with a commit of its own
(event `extend`, `ended.reason: extended`, `ended.extended_by`). A failed delivery ends the
extension as `failed` and leaves the old grant untouched. Only the named grant is ended: other
grants of the same person never are.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.extension import extension_findings, new_end
from jitflow.core.grants import GrantHandle, IssuedGrant, kind_guess
from jitflow.core.ledger import ActiveRecord, Event
from jitflow.core.model import ActiveGrant, GrantKind
from jitflow.errors import JitflowError
from jitflow.usecases.port import VaultPort
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.decide import Verdict
from jitflow.usecases.sync.run_memory import Comment, RunMemory
from jitflow.usecases.sync.state import MainState


def extended_id(verdict: Verdict) -> str | None:
    decision = verdict.decision
    request = decision.request if decision is not None else None
    return request.extends if request is not None else None


def _target(state: MainState, memory: RunMemory, grant_id: str, ext_id: str) -> ActiveGrant | None:
    """The grant as it stands on main now; gone when this run ended it (other than for this
    very extension, in an attempt whose push was rejected)."""
    record = next((r for r in state.ledger.active if r.id == grant_id), None)
    if record is None:
        return None
    if grant_id in memory.revoked and memory.superseded.get(grant_id) != ext_id:
        return None
    return ActiveGrant(
        record.id, record.policy, record.requester, record.expires_at, record.started_at
    )


def judge_extension(
    state: MainState, memory: RunMemory, now: datetime, verdict: Verdict
) -> Verdict:
    """An extension decided at its merge must still hold against main's ledger now: the grant
    active, not expired, within the total maximum. It is issued up to the new end (the sync
    may come late: the extension runs from the grant's end, not from the merge)."""
    grant_id = extended_id(verdict)
    decision = verdict.decision
    if grant_id is None or decision is None or decision.policy is None:
        return verdict
    request, policy = decision.request, decision.policy
    assert request is not None
    findings = tuple(f for f in verdict.findings if f.code != "window-passed")
    verdict = replace(verdict, findings=findings)
    if not verdict.approved:
        return verdict
    target = _target(state, memory, grant_id, verdict.request_id)
    duration = decision.duration or policy.default_duration
    problems = extension_findings(request, policy, target, duration, now)
    if problems or target is None:
        return replace(verdict, findings=(*findings, *problems))
    end = new_end(target, duration)
    assert end is not None  # extension_findings refuses a grant with no known end
    return replace(verdict, issue_for=end - now)


def with_extension(
    state: MainState, verdict: Verdict, facts: recording.IssueFacts
) -> recording.IssueFacts:
    """The issue record of an extension names the grant it replaces and that grant's start."""
    grant_id = extended_id(verdict)
    if grant_id is None:
        return facts
    record = next((r for r in state.ledger.active if r.id == grant_id), None)
    started = record.started_at if record is not None else None
    return replace(facts, extends=grant_id, started_at=started)


def supersede(
    state: MainState,
    vault: VaultPort,
    memory: RunMemory,
    now: datetime,
    runner: str,
    verdict: Verdict,
    issued: IssuedGrant,
    comments: list[Comment],
) -> tuple[list[LedgerCommit], str | None]:
    """End the grant `verdict` extended, once its replacement was delivered: (commits, error)."""
    grant_id = extended_id(verdict)
    record = next((r for r in state.ledger.active if r.id == grant_id), None)
    if grant_id is None or record is None:
        return [], None
    if grant_id not in memory.revoked:
        kind = record.kind or kind_guess(record.vault)
        keep = kind is GrantKind.IDENTITY_GROUP and _same_membership(record, issued)
        handle = GrantHandle(grant_id, kind, record.accessor, dict(record.vault), keep)
        [(_, outcome)] = vault.revoke_many([handle])
        if isinstance(outcome, JitflowError):
            return [], (
                f"revoking {grant_id}, replaced by its extension {verdict.request_id}: "
                f"{outcome.message}; it stays recorded as active and ends at its own expiry"
            )
        memory.revoked.add(grant_id)
    memory.superseded[grant_id] = verdict.request_id
    content = state.active_bytes[grant_id]
    commit = recording.end_commit(
        record, content, Event.EXTEND, now, runner, extended_by=verdict.request_id
    )
    if record.pr is not None:
        note = recording.ended_note(record, Event.EXTEND, runner, verdict.request_id)
        comments.append((record.pr, f"ended:{grant_id}", note))
    return [commit], None


def _same_membership(record: ActiveRecord, issued: IssuedGrant) -> bool:
    identifiers = issued.identifiers
    return bool(record.vault.get("entity_id")) and all(
        identifiers.get(key) == record.vault.get(key) for key in ("entity_id", "group")
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
