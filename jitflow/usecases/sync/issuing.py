"""Issuing due requests: decide, issue in Vault, deliver, record; or deny, or fail.

A grant whose credentials can't be delivered (typically: the requester has no SSH key on
GitHub that age can encrypt to) is revoked at once, confirmed, and recorded as an issue
followed by a `fail` ending. The run still succeeds: it did its job, the failure is in the
ledger and on the PR, and the requester (not the operator) is the one who must act.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.adapters.vault.types import SecretOutlivesGrantError
from jitflow.core.grants import GrantHandle, IssuedGrant, RevokeOutcome, TokenInfo, kind_guess
from jitflow.core.ledger import EndedBlock, EndReason, Event, Transition
from jitflow.core.model import Finding, GrantKind
from jitflow.core.times import format_time
from jitflow.errors import ConfigError, DeliveryError, JitflowError
from jitflow.reporters import sync_notes
from jitflow.usecases.port import VaultPort
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.decide import Verdict
from jitflow.usecases.sync.denying import deny
from jitflow.usecases.sync.extending import (
    ceiling_seconds,
    extend_in_place,
    extended_id,
    judge_extension,
    supersede,
    with_extension,
)
from jitflow.usecases.sync.run_memory import IssueRun, RunMemory, SyncReport, verdict_for

Fresh = tuple[Verdict, IssuedGrant]  # an approved request and what Vault issued for it


def issue_due(run: IssueRun, issues: Sequence[Transition]) -> list[LedgerCommit]:
    """Decide each due request; issue the approved ones, deny the others."""
    commits: list[LedgerCommit] = []
    fresh: list[Fresh] = []
    memory, report = run.memory, run.report
    for t in issues:
        try:
            verdict = verdict_for(run.git, run.github, run.state, t.request_id, memory)
        except JitflowError as exc:
            report.errors.append(f"deciding {t.request_id}: {exc.message}")
            continue
        verdict = judge_extension(run.state, memory, run.now, verdict)
        if not verdict.approved:
            commits.append(deny(verdict, run.state, run.now, run.runner, run.comments))
            report.done.append(
                ("deny", t.request_id, "; ".join(f.code for f in verdict.all_findings()))
            )
            continue
        try:
            renewed = extend_in_place(run, verdict)
        except JitflowError as exc:
            report.errors.append(f"extending {t.request_id} in place: {exc.message} (will retry)")
            continue
        if renewed is not None:
            commits += renewed
            ends = memory.renewed[t.request_id].expires_at
            old = extended_id(verdict) or ""
            report.done.append(("issue", t.request_id, f"until {format_time(ends)}"))
            report.done.append(("extend", old, f"extended in place by {t.request_id}"))
            continue
        issued = memory.issued.get(t.request_id)
        if issued is None:
            try:
                order = replace(
                    recording.order_for(verdict),
                    ceiling_seconds=ceiling_seconds(run.state, verdict, run.now),
                )
                issued = run.vault.issue(order)
            except SecretOutlivesGrantError as exc:
                # refused after the fact: deny, so no later run issues another one
                refused = replace(
                    verdict, findings=(Finding("secret-outlives-grant", exc.message),)
                )
                commits.append(deny(refused, run.state, run.now, run.runner, run.comments))
                report.done.append(("deny", t.request_id, "secret-outlives-grant"))
                continue
            except ConfigError as exc:
                report.errors.append(f"issuing {t.request_id}: {exc.message}")
                continue
            except JitflowError as exc:
                report.errors.append(f"issuing {t.request_id}: {exc.message} (will retry)")
                continue
            memory.issued[t.request_id] = issued
        fresh.append((verdict, issued))
    kept, lost = drop_duplicates(fresh, run.vault, report, memory)
    for verdict, issued in lost:
        memory.yielded[verdict.request_id] = _lost_race_commit(run, verdict, issued)
    for verdict, issued in kept:
        commits += deliver_and_record(run, verdict, issued)
    return commits + list(memory.yielded.values())


def deliver_and_record(
    run: IssueRun, verdict: Verdict, issued: IssuedGrant, event: Event = Event.ISSUE
) -> list[LedgerCommit]:
    """Deliver what `issued` holds and record it (as `event`), or end it as failed."""
    request_id = verdict.request_id
    kind = verdict.decision.policy.grant.kind  # type: ignore[union-attr]
    pr = verdict.pr
    assert pr is not None  # an approved verdict always has its PR
    facts = with_extension(run.state, verdict, recording.facts_of(issued, kind))
    issue = recording.issue_commit(
        verdict, run.state.request_bytes[request_id], facts, run.now, event
    )
    why = run.memory.failed.get(request_id)
    missing_key = False
    if why is None:
        try:
            delivered = recording.deliver(run.github, run.vault, verdict, issued, run.environ)
        except JitflowError as exc:
            why, missing_key = exc.message, isinstance(exc, DeliveryError)
            if not _revoke_undelivered(run, verdict, issued, why):
                # Not recorded: Vault keeps its anchor, which the next sync finds and replaces
                # with fresh credentials (or, for a certificate, delivers from its receipt);
                # a certificate without a receipt is recorded, so its serial is not lost.
                receipt = issued.identifiers.get("receipt_accessor")
                return [issue] if kind is GrantKind.SSH and not receipt else []
            run.memory.failed[request_id] = why
        else:
            run.memory.delivered[request_id] = delivered
            facts = replace(facts, delivered=delivered)
            issue = recording.issue_commit(
                verdict, run.state.request_bytes[request_id], facts, run.now, event
            )
    if why is None:
        note = sync_notes.issued_note(request_id, verdict.decision, issued)
        note += sync_notes.extension_note(facts.extends, kind)
        run.comments.append((pr.number, f"status:{request_id}", note))
        until = f"until {format_time(issued.expires_at)}"
        run.report.done.append((event.value, request_id, until))
        ended, error = supersede(run, verdict, issued)
        if error:
            run.report.errors.append(error)
        if ended:
            run.report.done.append(("extend", facts.extends, f"replaced by {request_id}"))
        return [issue, *ended]
    requester = verdict.decision.request.requester  # type: ignore[union-attr]
    note = sync_notes.failed_note(request_id, requester, why, missing_key=missing_key)
    run.comments.append((pr.number, f"status:{request_id}", note))
    # Recorded in `done`, not `errors`: the run did its job (see the module docstring).
    run.report.done.append(("fail", request_id, f"credentials not delivered, revoked: {why}"))
    ending = EndedBlock(run.now, EndReason.FAILED, run.runner, pr=pr.number)
    failed = recording.failed_delivery_commit(issue, request_id, ending, why)
    return [issue, failed]


def _revoke_undelivered(run: IssueRun, verdict: Verdict, issued: IssuedGrant, why: str) -> bool:
    """Revoke a grant nobody received; False (and an error) when Vault doesn't confirm it."""
    kind = verdict.decision.policy.grant.kind  # type: ignore[union-attr]
    if kind is GrantKind.SSH:
        outcome: RevokeOutcome | JitflowError = (
            RevokeOutcome.NOT_REVOCABLE
        )  # its anchor and receipt stay as records
    else:
        handle = GrantHandle(verdict.request_id, kind, issued.accessor, dict(issued.identifiers))
        [(_, outcome)] = run.vault.revoke_many([handle])
    # a secret that can't be revoked early had its lease and token revoked: that is all there is
    unrevoked = outcome is RevokeOutcome.NOT_REVOCABLE and kind is not GrantKind.SECRET
    if isinstance(outcome, JitflowError) or unrevoked:
        detail = outcome.message if isinstance(outcome, JitflowError) else "it can't be revoked"
        run.report.errors.append(
            f"delivering {verdict.request_id} failed ({why}) and revoking it failed too "
            f"({detail}); the next sync revokes it and issues fresh credentials, or "
            "delivers the certificate"
        )
        if kind is not GrantKind.SSH or issued.identifiers.get("receipt_accessor"):
            run.memory.issued.pop(verdict.request_id, None)
        return False
    run.memory.revoked.add(verdict.request_id)
    return True


def drop_duplicates(
    fresh: list[Fresh], vault: VaultPort, report: SyncReport, memory: RunMemory
) -> tuple[list[Fresh], list[Fresh]]:
    """Another sync may have issued the same request meanwhile: the earliest token wins.

    Returns (kept, lost): a grant whose token is no longer live was revoked by another sync
    that took it for the orphan of a dead run, so it is never delivered or recorded either.
    """
    with_accessor = [(v, i) for v, i in fresh if i.accessor]
    if not with_accessor:
        return fresh, []
    live: dict[str, list[TokenInfo]] = {}
    try:
        listed = vault.list_jitflow_tokens()
    except JitflowError as exc:
        # Unchecked grants are neither delivered nor recorded: they stay orphans that the next
        # sync adopts or revokes, while what this run already did in Vault is still recorded.
        for verdict, _ in with_accessor:
            report.errors.append(
                f"issuing {verdict.request_id}: can't check for a rival grant ({exc.message}); "
                "left for the next sync"
            )
        return [(v, i) for v, i in fresh if not i.accessor], []
    for info in listed:
        if info.request_id and not info.receipt_of:
            live.setdefault(info.request_id, []).append(info)
    kept, lost = [], []
    for verdict, issued in fresh:
        rivals = sorted(
            live.get(verdict.request_id, []),
            key=lambda i: (i.expire_time is None, i.expire_time, i.accessor),
        )
        if issued.accessor and (not rivals or rivals[0].accessor != issued.accessor):
            kind = verdict.decision.policy.grant.kind  # type: ignore[union-attr]
            # only the tokens: a membership the winner shares stays, a certificate can't go
            marker = kind if kind is GrantKind.SSH else kind_guess({})
            handle = GrantHandle(verdict.request_id, marker, issued.accessor, issued.identifiers)
            vault.revoke_many([handle])
            memory.issued.pop(verdict.request_id, None)
            memory.failed.pop(verdict.request_id, None)
            memory.revoked.discard(verdict.request_id)
            report.done.append(("yield", verdict.request_id, "another sync issued it first"))
            lost.append((verdict, issued))
            continue
        kept.append((verdict, issued))
    return kept, lost


def _lost_race_commit(run: IssueRun, verdict: Verdict, issued: IssuedGrant) -> LedgerCommit:
    """The record of a grant this run made and gave up to a rival: its token is revoked, but
    a certificate it signed can't be, so the ledger keeps its serial."""
    request = verdict.decision.request  # type: ignore[union-attr]
    assert request is not None  # an issued verdict always has its request
    why = "another sync issued the same request first"
    serial = issued.identifiers.get("cert_serial")
    if serial:
        why += (
            f"; the SSH certificate it signed (serial {serial}) was never delivered and can't "
            f"be revoked: it stays valid until {format_time(issued.expires_at)}"
        )
    owner = recording.Owner(request.policy, request.requester)
    return recording.orphan_revoke_commit(
        verdict.request_id, issued.accessor or "", owner, run.now, why
    )
