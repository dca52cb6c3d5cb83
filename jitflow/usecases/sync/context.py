"""What one sync run carries between its steps: the report, the memory of Vault work done,
and the decisions shared by issuing, adopting and denying."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.grants import IssuedGrant
from jitflow.core.ledger import Transition, reused_id_archive_path
from jitflow.core.model import GrantKind
from jitflow.usecases.port import PullFacts
from jitflow.usecases.sync import steps
from jitflow.usecases.sync.decide import Verdict, decide
from jitflow.usecases.sync.state import MainState

Comment = tuple[int, str, str]  # (PR number, marker, body), posted once the push succeeded


@dataclass
class SyncReport:
    planned: list[Transition] = field(default_factory=list)
    done: list[tuple[str, str, str]] = field(default_factory=list)  # (event, id, detail)
    errors: list[str] = field(default_factory=list)
    # worth a look but not a failed run: the next run retries, and audit verify still judges
    warnings: list[str] = field(default_factory=list)
    attempts: int = 0
    pushed: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class RunMemory:
    """Vault work already done in this run, kept across re-plans after a rejected push."""

    issued: dict[str, IssuedGrant] = field(default_factory=dict)  # by request id
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # request ids whose grant is revoked
    failed: dict[str, str] = field(default_factory=dict)  # request id -> why delivery failed
    # grant id -> the extension that replaced it (its Vault side already ended in this run)
    superseded: dict[str, str] = field(default_factory=dict)
    # grants given up to a rival sync: their record is written in every attempt until pushed
    yielded: dict[str, LedgerCommit] = field(default_factory=dict)
    branch: str = "main"  # the protected branch: only PRs merged into it are issued
    now: datetime | None = None  # the run's clock, bounding how late a window may start


def verdict_for(
    git: Git, github: PullFacts, state: MainState, request_id: str, memory: RunMemory
) -> Verdict:
    """The fresh decision on a pending request, decided once per main commit and run."""
    key = f"{request_id}@{state.commit}"
    cached = memory.verdicts.get(key)
    if cached is not None:
        return cached
    added = state.added_by.get(request_id, "")
    verdict = decide(
        git, github, request_id, added, main=state.commit, branch=memory.branch, now=memory.now
    )
    memory.verdicts[key] = verdict
    return verdict


def request_names(verdict: Verdict, state: MainState) -> tuple[str, str]:
    """(policy, requester) of a pending request, even when its file doesn't parse."""
    decision = verdict.decision
    if decision is not None and decision.request is not None:
        return decision.request.policy, decision.request.requester
    from jitflow.core.loading import parse_request

    loaded = parse_request(state.request_bytes.get(verdict.request_id, b""), "requests/x.yaml")
    if loaded.value is None:
        return "", verdict.pr.author if verdict.pr else ""
    return loaded.value.policy, loaded.value.requester


def deny(
    verdict: Verdict, state: MainState, now: datetime, runner: str, comments: list[Comment]
) -> LedgerCommit:
    """Archive a pending request as denied, and say why on its PR."""
    policy, requester = request_names(verdict, state)
    commit = steps.deny_commit(
        verdict, state.request_bytes[verdict.request_id], policy, requester, now, runner
    )
    if verdict.request_id in state.archived_ids or verdict.request_id in state.active_bytes:
        commit = _reused_id_paths(commit, verdict.merge_commit)
    if verdict.pr is not None:
        note = steps.denied_note(verdict.request_id, verdict.all_findings(), requester)
        comments.append((verdict.pr.number, f"status:{verdict.request_id}", note))
    return commit


def _reused_id_paths(commit: LedgerCommit, merge_commit: str) -> LedgerCommit:
    """A reused id's denial must not overwrite the original's record (issue #10, hole 8)."""
    files = {
        (reused_id_archive_path(p, merge_commit) if p.startswith("requests/archive/") else p): c
        for p, c in commit.files.items()
    }
    return replace(commit, files=files)


def kind_guess(vault: Mapping[str, str]) -> GrantKind:
    """The grant kind of a record too damaged to say, from the identifiers it kept."""
    if vault.get("entity_id"):
        return GrantKind.IDENTITY_GROUP
    if vault.get("path"):
        return GrantKind.SECRET
    if vault.get("lease_id"):
        return GrantKind.DATABASE
    return GrantKind.VAULT_TOKEN
