"""Checking a revocation PR: one that only deletes files under requests/active/.

Reducing access needs no approval when the requester gives up their own grant; anyone
else needs one approval from the people who may approve that policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from jitflow.adapters.git import Git
from jitflow.core.approvals import ApprovalFacts, ApprovalStatus, evaluate_approvals
from jitflow.core.evaluation import Decision, RequestDecision
from jitflow.core.identities import unproven
from jitflow.core.model import ApprovalRule, Finding, Groups, Principals, Request
from jitflow.usecases.repository import read_policies, snapshot


def evaluate_revocation(
    git: Git,
    base_sha: str,
    ids: tuple[str, ...],
    facts: ApprovalFacts,
    teams: Mapping[str, frozenset[str]],
) -> Decision:
    state = snapshot(git, base_sha)
    active = {grant.id: grant for grant in state.active}
    policies = read_policies(git, base_sha, [g.policy for g in active.values() if g.id in ids])
    groups = state.groups.value
    decisions = []
    for grant_id in ids:
        path = f"requests/active/{grant_id}.yaml"
        grant = active.get(grant_id)
        if grant is None:
            finding = Finding(
                "unknown-grant", f"{grant_id} is not an active grant at the base", path, 1, 1
            )
            decisions.append(
                RequestDecision(path, grant_id, None, None, (finding,), None, None, None)
            )
            continue
        request = Request(grant_id, path, grant.policy, grant.requester, None, "", "revocation")
        loaded = policies.get(grant.policy)
        policy = loaded.value if loaded else None
        if grant.requester.lower() == facts.author.lower() and _own(grant.requester, facts, groups):
            status = ApprovalStatus(
                rules=(), waived="the requester gives up their own grant: no approval needed"
            )
        elif policy is None or groups is None:
            finding = Finding(
                "policy-invalid",
                f"policy {grant.policy!r} can't be read at the base, so nobody can approve revoking another person's grant",
                path,
                1,
                1,
            )
            decisions.append(
                RequestDecision(path, grant_id, request, None, (finding,), None, None, None)
            )
            continue
        else:
            everyone = Principals(
                users=tuple(sorted({u for r in policy.approval_rules for u in r.approvers.users})),
                groups=tuple(
                    sorted({g for r in policy.approval_rules for g in r.approvers.groups})
                ),
            )
            one_approver = replace(
                policy, approval_rules=(ApprovalRule(1, everyone),), allow_self_approval=False
            )
            status = evaluate_approvals(one_approver, grant.requester, facts, groups, teams)
        decisions.append(RequestDecision(path, grant_id, request, policy, (), None, None, status))
    return Decision((), tuple(decisions))


def _own(requester: str, facts: ApprovalFacts, groups: Groups | None) -> bool:
    """Whether the PR's author account is the requester's: where groups.yaml pins the
    requester's login, only that account (another one may hold the login since a rename)."""
    pinned = groups is not None and requester.lower() in groups.github_ids
    return not pinned or not unproven({requester.lower()}, facts.accounts, groups or Groups())
