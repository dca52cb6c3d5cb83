"""Extending an active grant at sync: re-judge the extension against main's ledger now, then
extend the same credentials in place where Vault allows it securely, or else issue credentials
that run to the new end, deliver them, and end the grant they replace.

In place (`grant.extension: in-place`; jitflow.adapters.vault.renew): a grant issued under a
policy that allows extensions has a renewable anchor token, with a ceiling fixed at issue (the
policy's `extension.total_max` from the first issue, `grant.vault.renewable_until`). The runner
renews it by accessor to the new end, and a `database` grant's lease (or a renewable `secret`
lease) with it: same accessor, same user, same secret, nothing to deliver. The holder can't
renew: a `vault-token` grant's token has no `default` policy (no `renew-self`), and the other
kinds deliver no Vault token at all. The new end stays enforced by Vault (the renewed TTL).

By replacement (`grant.extension: replacement`), where Vault can't renew in place (a grant
issued before renewal existed, past its ceiling, a lease Vault won't renew or caps short):

- `vault-token`: a new token.
- `database`: new credentials read with a new anchor token; the old user is dropped once the
  new ones are delivered.
- `ssh`: always; a new certificate valid to the new end; the old one can't be revoked (it ends
  at its own, earlier, `valid_before`: `ended.note`), its anchor token is.
- `identity-group`: the membership stays (the new grant holds it); only the old anchor token
  ends.
- `secret` (any leased secret): a new lease read with the new anchor token; the old lease is
  revoked with its anchor, except where the engine can't revoke early (STS credentials,
  certificates), which then stay valid until their own, earlier, end, as for any revocation.

The old grant ends only after the new credentials were delivered, with a commit of its own
(event `extend`, `ended.reason: extended`, `ended.extended_by`, `ended.extension`). A failed
delivery ends the extension as `failed` and leaves the old grant untouched. Only the named
grant is ended: other grants of the same person never are.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.extension import SLACK, extension_findings, new_end
from jitflow.core.grants import GrantHandle, IssuedGrant, kind_guess
from jitflow.core.ledger import ActiveRecord, EndedBlock, EndReason, Event
from jitflow.core.model import ActiveGrant, GrantKind
from jitflow.errors import JitflowError
from jitflow.reporters import sync_notes
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.decide import Verdict
from jitflow.usecases.sync.run_memory import IssueRun, RunMemory
from jitflow.usecases.sync.state import MainState, active_record


def extended_id(verdict: Verdict) -> str | None:
    decision = verdict.decision
    request = decision.request if decision is not None else None
    return request.extends if request is not None else None


def _target(state: MainState, memory: RunMemory, grant_id: str, ext_id: str) -> ActiveGrant | None:
    """The grant as it stands on main now; gone when this run ended it (other than for this
    very extension, in an attempt whose push was rejected)."""
    record = active_record(state, grant_id)
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
    record = active_record(state, grant_id)
    started = record.started_at if record is not None else None
    return replace(facts, extends=grant_id, started_at=started, extension=REPLACEMENT)


IN_PLACE = "in-place"
REPLACEMENT = "replacement"


def ceiling_seconds(state: MainState, verdict: Verdict, now: datetime) -> int:
    """How long from now the grant may run, extensions included (the policy's total maximum
    from the grant's first issue): the renewable anchor's ceiling. 0: no extensions."""
    decision = verdict.decision
    policy = decision.policy if decision is not None else None
    if policy is None or policy.extension is None:
        return 0
    started = now
    record = active_record(state, extended_id(verdict))
    if record is not None and record.started_at is not None:
        started = record.started_at
    return max(0, int((started + policy.extension.total_max + SLACK - now).total_seconds()))


def extend_in_place(run: IssueRun, verdict: Verdict) -> list[LedgerCommit] | None:
    """Renew the extended grant's own credentials to the new end and record it: the
    extension's issue (same Vault identifiers) and the old record's end, nothing revoked.
    None when Vault can't extend it in place: the caller extends by replacement."""
    state, memory, now = run.state, run.memory, run.now
    grant_id = extended_id(verdict)
    record = active_record(state, grant_id)
    if grant_id is None or record is None or verdict.issue_for is None:
        return None
    kind = record.kind or kind_guess(record.vault)
    renewed = memory.renewed.get(verdict.request_id)
    if renewed is None:
        handle = GrantHandle(grant_id, kind, record.accessor, dict(record.vault))
        renewed = run.vault.renew_in_place(handle, now + verdict.issue_for)
        if renewed is None:
            return None
        memory.renewed[verdict.request_id] = renewed
    # the token's metadata names the request it was issued for, down the whole chain
    ids = {**record.vault, "token_request": record.vault.get("token_request") or grant_id}
    facts = recording.IssueFacts(
        kind,
        renewed.expires_at,
        renewed.granted_ttl_seconds,
        ids,
        extends=grant_id,
        started_at=record.started_at,
        extension=IN_PLACE,
    )
    request_bytes = state.request_bytes[verdict.request_id]
    issue = recording.issue_commit(verdict, request_bytes, facts, now, Event.ISSUE)
    memory.superseded[grant_id] = verdict.request_id
    if verdict.pr is not None:
        note = sync_notes.issued_note(verdict.request_id, verdict.decision, renewed)
        note += sync_notes.in_place_note(grant_id, kind)
        run.comments.append((verdict.pr.number, f"status:{verdict.request_id}", note))
    return [issue, _end_extended(run, record, verdict, IN_PLACE)]


def supersede(
    run: IssueRun, verdict: Verdict, issued: IssuedGrant
) -> tuple[list[LedgerCommit], str | None]:
    """End the grant `verdict` extended, once its replacement was delivered: (commits, error)."""
    memory = run.memory
    grant_id = extended_id(verdict)
    record = active_record(run.state, grant_id)
    if grant_id is None or record is None:
        return [], None
    if grant_id not in memory.revoked:
        kind = record.kind or kind_guess(record.vault)
        keep = kind is GrantKind.IDENTITY_GROUP and _same_membership(record, issued)
        handle = GrantHandle(grant_id, kind, record.accessor, dict(record.vault), keep)
        [(_, outcome)] = run.vault.revoke_many([handle])
        if isinstance(outcome, JitflowError):
            return [], (
                f"revoking {grant_id}, replaced by its extension {verdict.request_id}: "
                f"{outcome.message}; it stays recorded as active and ends at its own expiry"
            )
        memory.revoked.add(grant_id)
    memory.superseded[grant_id] = verdict.request_id
    return [_end_extended(run, record, verdict, REPLACEMENT)], None


def _end_extended(
    run: IssueRun, record: ActiveRecord, verdict: Verdict, extension: str
) -> LedgerCommit:
    """The commit that archives `record` as ended by its extension `verdict` (in place or by a
    replacement), and the note to the grant's PR."""
    runner = run.runner
    ending = EndedBlock(
        run.now, EndReason.EXTENDED, runner, extended_by=verdict.request_id, extension=extension
    )
    commit = recording.end_commit(record, run.state.active_bytes[record.id], ending)
    if record.pr is not None:
        in_place = extension == IN_PLACE
        note = sync_notes.ended_note(
            record, Event.EXTEND, runner, verdict.request_id, in_place=in_place
        )
        run.comments.append((record.pr, f"ended:{record.id}", note))
    return commit


def _same_membership(record: ActiveRecord, issued: IssuedGrant) -> bool:
    identifiers = issued.identifiers
    return bool(record.vault.get("entity_id")) and all(
        identifiers.get(key) == record.vault.get(key) for key in ("entity_id", "group")
    )
