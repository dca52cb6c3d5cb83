"""Vault tokens of jitflow that git has no record of: what a run that died left behind.

A sync records each grant in Vault before it changes anything there (the anchor token's
metadata names the request and what is about to happen), so a later run finds the work of
a run that died before pushing. What it does with it:

- its own grant from an earlier attempt of this run (the push lost a race): recorded;
- an ssh certificate whose receipt survived, or that this runner's journal kept: recorded
  with its serial and delivered, never signed twice;
- an ssh anchor with neither (the run died between asking Vault to sign and recording the
  answer): a certificate may exist that nobody can deliver or revoke, so none is signed
  again: the grant is recorded with the certificate's key id (serial unknown) and ended as
  `failed`, and the requester is told to open a new request;
- anything else of a pending, approved request: the orphan is revoked (a secret nobody
  received can't be recovered) and fresh credentials are issued and delivered;
- anything else: revoked (an identity-group membership goes too, unless another active
  grant of the person holds it), and a pending request that fails its re-check is denied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.grants import GrantHandle, IssuedGrant, TokenInfo
from jitflow.core.ledger import Action, EndedBlock, EndReason, Event, Transition
from jitflow.core.model import GrantKind
from jitflow.core.times import format_time
from jitflow.errors import JitflowError
from jitflow.reporters import sync_notes
from jitflow.usecases.sync import recording
from jitflow.usecases.sync.decide import Verdict
from jitflow.usecases.sync.denying import deny
from jitflow.usecases.sync.issuing import deliver_and_record
from jitflow.usecases.sync.run_memory import IssueRun, verdict_for
from jitflow.usecases.sync.state import MainState


def reconcile_orphans(
    run: IssueRun, found: dict[str, list[Transition]]
) -> tuple[list[LedgerCommit], list[Transition]]:
    """Commits for the orphans of each request, and the requests to issue afresh."""
    commits: list[LedgerCommit] = []
    reissue: list[Transition] = []
    for request_id, transitions in sorted(found.items()):
        infos = sorted(
            (
                info
                for t in transitions
                if (info := run.vault.lookup_accessor(t.accessor or "")) is not None
            ),
            key=lambda i: (i.expire_time is None, i.expire_time, i.accessor),
        )
        if infos:
            made, again = _one_request(run, request_id, infos)
            commits += made
            if again:
                reissue.append(Transition(Action.ISSUE, request_id, "orphan replaced"))
    return commits, reissue


def _one_request(
    run: IssueRun, request_id: str, infos: list[TokenInfo]
) -> tuple[list[LedgerCommit], bool]:
    verdict = None
    if request_id in run.state.request_bytes:
        try:
            verdict = verdict_for(run.git, run.github, run.state, request_id, run.memory)
        except JitflowError as exc:
            run.report.errors.append(f"deciding {request_id}: {exc.message}")
            return [], False
    approved = verdict is not None and verdict.approved
    anchors = [i for i in infos if not i.receipt_of]
    receipts = {i.receipt_of: i for i in infos if i.receipt_of}
    keep = _recordable(run, request_id, anchors, receipts) if approved else None
    spare = {keep.accessor, keep_receipt(keep, receipts)} if keep is not None else set()
    if keep is not None:
        why = f"a duplicate: the grant is recorded with token {keep.accessor}"
    elif approved:
        why = (
            "the run that made it died before recording it, so whatever it delivered is void: "
            "fresh credentials are issued and delivered"
        )
    else:
        why = "its request is not pending and issuable"
    ending = [i for i in infos if i.accessor not in spare]
    commits = _revoke_all(run, request_id, ending, receipts, (approved, why))
    if verdict is None:
        return commits, False
    if not approved:
        commits.append(deny(verdict, run.state, run.now, run.runner, run.comments))
        run.report.done.append(("deny", request_id, "orphan token revoked"))
        return commits, False
    if keep is None:
        return commits, True  # issue afresh: what the dead run made can't be delivered
    return commits + _record_kept(run, verdict, keep, receipts), False


def keep_receipt(anchor: TokenInfo, receipts: Mapping[str, TokenInfo]) -> str | None:
    receipt = receipts.get(anchor.accessor)
    return receipt.accessor if receipt is not None else None


def _recordable(
    run: IssueRun, request_id: str, anchors: list[TokenInfo], receipts: Mapping[str, TokenInfo]
) -> TokenInfo | None:
    """The orphan to record as the grant: this run's own, a certificate with a receipt, or a
    membership (nothing secret was lost); None when fresh credentials must be issued."""
    own = run.memory.issued.get(request_id)
    for anchor in anchors:
        if own is not None and own.accessor == anchor.accessor:
            return anchor
    for anchor in anchors:
        # a membership loses no secret; a certificate is never signed twice
        if _kind_of(anchor) in (GrantKind.IDENTITY_GROUP, GrantKind.SSH):
            return anchor
    return None


def _record_kept(
    run: IssueRun, verdict: Verdict, anchor: TokenInfo, receipts: Mapping[str, TokenInfo]
) -> list[LedgerCommit]:
    request_id = verdict.request_id
    own = run.memory.issued.get(request_id)
    if own is not None and own.accessor == anchor.accessor:
        kind = verdict.decision.policy.grant.kind  # type: ignore[union-attr]
        facts = replace(
            recording.facts_of(own, kind), delivered=run.memory.delivered.get(request_id, "")
        )
        request_bytes = run.state.request_bytes[request_id]
        run.report.done.append(("issue", request_id, anchor.accessor))
        return [recording.issue_commit(verdict, request_bytes, facts, run.now, Event.ISSUE)]
    issued: IssuedGrant | None
    try:
        if anchor.accessor in receipts:
            issued = run.vault.recover_certificate(anchor, receipts[anchor.accessor])
        elif _kind_of(anchor) is GrantKind.SSH:
            issued = run.vault.recover_journaled(anchor)
            if issued is None:
                return _lost_certificate(run, verdict, anchor)
        else:
            issued = run.vault.adopt_membership(anchor)
    except JitflowError as exc:
        run.report.errors.append(f"adopting the orphan grant of {request_id}: {exc.message}")
        return []
    run.memory.issued[request_id] = issued
    return deliver_and_record(run, verdict, issued, Event.ADOPT)


def _lost_certificate(run: IssueRun, verdict: Verdict, anchor: TokenInfo) -> list[LedgerCommit]:
    """The run that made `anchor` died after asking Vault to sign and before recording the
    answer: a certificate may exist, known by its key id only. It reached nobody and can't
    be revoked, so no second one is signed: the ledger records it (serial unknown) and ends
    it as failed, the anchor goes, and the requester is told to ask again."""
    request_id = verdict.request_id
    expires = anchor.expire_time or run.now
    key_id = anchor.meta.get("jitflow_ssh_key_id", "") or "unknown"
    issued = IssuedGrant(
        accessor=anchor.accessor,
        granted_ttl_seconds=int(anchor.ttl),
        expires_at=expires,
        identifiers={
            "cert_serial": "unknown",
            "cert_key_id": key_id,
            "ssh_key": anchor.meta.get("jitflow_ssh_key", ""),
        },
        secret=None,
        public_material=None,
        capped=False,
    )
    [(_, outcome)] = run.vault.revoke_many(
        [GrantHandle(request_id, GrantKind.VAULT_TOKEN, anchor.accessor)]
    )
    if isinstance(outcome, JitflowError):
        run.report.errors.append(f"revoking orphan token of {request_id}: {outcome.message}")
        return []
    kind = GrantKind.SSH
    request_bytes = run.state.request_bytes[request_id]
    facts = recording.facts_of(issued, kind)
    issue = recording.issue_commit(verdict, request_bytes, facts, run.now, Event.ADOPT)
    why = (
        "the sync run that asked Vault to sign the certificate died before recording the "
        f"answer: a certificate with key id {key_id} may exist (serial unknown). It was never "
        f"delivered and can't be revoked (valid until {format_time(expires)} at the latest; "
        "a host's RevokedKeys list can block its key id), so no second one is signed"
    )
    pr = verdict.pr
    assert pr is not None  # an approved verdict always has its PR
    requester = verdict.decision.request.requester  # type: ignore[union-attr]
    note = sync_notes.failed_note(request_id, requester, why, missing_key=False, revoked=False)
    run.comments.append((pr.number, f"status:{request_id}", note))
    run.report.done.append(("fail", request_id, f"certificate lost, not signed again: {why}"))
    ending = EndedBlock(run.now, EndReason.FAILED, run.runner, pr=pr.number)
    failed = recording.failed_delivery_commit(issue, request_id, ending, why, revoked=False)
    return [issue, failed]


def _revoke_all(
    run: IssueRun,
    request_id: str,
    infos: Sequence[TokenInfo],
    receipts: Mapping[str, TokenInfo],
    approved_why: tuple[bool, str],
) -> list[LedgerCommit]:
    """Revoke each orphan (an anchor with its receipt as one), one commit each."""
    approved, reason = approved_why
    commits = []
    anchors = [i for i in infos if not i.receipt_of]
    ended = {a.accessor for a in anchors}
    loose = [i for i in infos if i.receipt_of and i.receipt_of not in ended]
    for info in [*anchors, *loose]:
        kind = GrantKind.VAULT_TOKEN if info.receipt_of else _kind_of(info)
        receipt = receipts.get(info.accessor)
        identifiers = {
            "group": info.meta.get("jitflow_group", ""),
            "entity_id": info.meta.get("jitflow_entity", ""),
            "receipt_accessor": receipt.accessor if receipt is not None else "",
        }
        # an approved request's membership is recorded by the grant kept for it
        keep = approved or membership_held(run.state, identifiers, exclude=())
        handle = GrantHandle(request_id, kind, info.accessor, identifiers, keep_membership=keep)
        [(_, outcome)] = run.vault.revoke_many([handle])
        if isinstance(outcome, JitflowError):
            run.report.errors.append(f"revoking orphan token of {request_id}: {outcome.message}")
            continue
        why = _why(info, receipts, reason)
        commits.append(
            recording.orphan_revoke_commit(
                request_id,
                info.accessor,
                recording.Owner(info.policy or "", info.requester or ""),
                run.now,
                why,
            )
        )
        run.report.done.append(("revoke", request_id, f"orphan token {info.accessor}"))
    return commits


def _why(info: TokenInfo, receipts: Mapping[str, TokenInfo], why: str) -> str:
    """`why`, plus what survives the revocation: a certificate can't be revoked."""
    receipt = info if info.receipt_of else receipts.get(info.accessor)
    until = format_time(info.expire_time) if info.expire_time else "its expiry"
    if receipt is not None:
        serial = receipt.meta.get("jitflow_cert_serial", "?")
        why += (
            f". It recorded the SSH certificate with serial {serial}, which can't be revoked: "
            f"it stays valid until {until} at the latest"
        )
    elif _kind_of(info) is GrantKind.SSH:
        key = info.meta.get("jitflow_ssh_key", "?")
        why += (
            f". A run that died may have signed an SSH certificate for key {key} (serial "
            f"unknown), which can't be revoked: valid until {until} at the latest; "
            "block it in the hosts' RevokedKeys list if needed"
        )
    return why


def _kind_of(info: TokenInfo) -> GrantKind:
    try:
        return GrantKind(info.meta.get("jitflow_kind", GrantKind.VAULT_TOKEN.value))
    except ValueError:
        return GrantKind.VAULT_TOKEN


def membership_held(
    state: MainState, identifiers: Mapping[str, str], exclude: Sequence[str]
) -> bool:
    """Whether an active grant in the ledger (other than `exclude`) holds this membership."""
    entity, group = identifiers.get("entity_id", ""), identifiers.get("group", "")
    if not entity or not group:
        return False
    return any(
        r.id not in exclude and r.vault.get("entity_id") == entity and r.vault.get("group") == group
        for r in state.ledger.active
    )
