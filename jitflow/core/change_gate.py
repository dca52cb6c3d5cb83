"""The verdict on a pull request that asks for no access (usecases/policy_gate judges it,
reporters/change_gate words its PR comment)."""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.core.model import Finding
from jitflow.core.policy_cases import PolicyTestReport
from jitflow.core.policy_impact import ImpactReport


@dataclass(frozen=True)
class Verdict:
    state: str  # success | pending | failure, as a commit status
    description: str


@dataclass(frozen=True)
class ChangeDetails:
    """What the PR comment explains beyond the two statuses (each part when it applies)."""

    unreadable_teams: tuple[str, ...] = ()  # code owner teams that can't be read, and
    teams_error: str | None = None  # why (so no approval counts)
    outbound_findings: tuple[Finding, ...] = ()  # a `.jitflow/outbound.yaml` that won't load
    broken_policies: tuple[Finding, ...] = ()  # policies at the head that won't load
    tests_error: str | None = None  # why the policy tests can't run
    tests: PolicyTestReport | None = None
    impact: ImpactReport | None = None


@dataclass(frozen=True)
class ChangeGateReport:
    number: int
    head_sha: str
    policy: Verdict
    approval: Verdict
    details: ChangeDetails = ChangeDetails()
