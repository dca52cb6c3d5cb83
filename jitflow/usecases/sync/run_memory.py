"""What one sync run carries between its steps: the report, the memory of Vault work done,
and the decision on each pending request, made once per main commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.grants import IssuedGrant
from jitflow.core.ledger import Transition
from jitflow.usecases.port import PullFacts, SyncPort, VaultPort
from jitflow.usecases.sync.decide import Against, Verdict, decide
from jitflow.usecases.sync.state import MainState

Comment = tuple[int, str, str]  # (PR number, marker, body), posted just before the push


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
    # extensions whose grant Vault renewed in place, by the extension's request id
    renewed: dict[str, IssuedGrant] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # request ids whose grant is revoked
    failed: dict[str, str] = field(default_factory=dict)  # request id -> why delivery failed
    # request id -> digest of the delivery comment posted (the issue record carries it)
    delivered: dict[str, str] = field(default_factory=dict)
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
    at = Against(main=state.commit, branch=memory.branch, now=memory.now)
    verdict = decide(git, github, request_id, added, at)
    memory.verdicts[key] = verdict
    return verdict


@dataclass(frozen=True)
class IssueRun:
    """The collaborators and facts every issue in one attempt shares."""

    git: Git
    state: MainState
    vault: VaultPort
    github: SyncPort
    environ: Mapping[str, str]
    now: datetime
    runner: str
    memory: RunMemory
    report: SyncReport
    comments: list[Comment]
