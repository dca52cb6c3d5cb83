"""Re-deciding a merged request from scratch before anything is issued.

No status check is trusted: the PR is found from the merge commit, its files and reviews come
from the API, the policies and groups from the merge commit's first parent, and the request
bytes on main must be the bytes the reviewers approved. A merge that bypassed the gate (admin
merge, missing approvals, extra files, a policy edited in the same PR) is denied here.
`github-team:` approvers are resolved as the gate does (JITFLOW_TEAMS_TOKEN); a team that can't
be read counts as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.core.evaluation import RequestDecision
from jitflow.core.model import Finding, PullRequestFacts
from jitflow.usecases.check import evaluate_change
from jitflow.usecases.live import approval_facts_for, request_digest, resolve_teams
from jitflow.usecases.repository import snapshot


class PullSource(Protocol):
    """The part of the GitHub gateway that deciding needs."""

    def pulls_for_commit(self, sha: str) -> list[int]: ...

    def pull_request(self, number: int) -> PullRequestFacts: ...

    def is_team_member(self, org: str, slug: str, login: str) -> bool: ...


@dataclass(frozen=True)
class Verdict:
    """The fresh decision on one merged request."""

    request_id: str
    merge_commit: str
    policy_commit: str
    pr: PullRequestFacts | None
    decision: RequestDecision | None
    findings: tuple[Finding, ...]

    @property
    def approved(self) -> bool:
        return self.decision is not None and self.decision.approved and not self.findings

    @property
    def approved_by(self) -> tuple[str, ...]:
        if self.decision is None or self.decision.approvals is None:
            return ()
        return tuple(
            sorted({login for rule in self.decision.approvals.rules for login in rule.approved_by})
        )

    def all_findings(self) -> tuple[Finding, ...]:
        own = self.decision.findings if self.decision is not None else ()
        missing: list[Finding] = []
        if self.decision is not None and self.decision.allowed and not self.decision.approved:
            for rule in self.decision.approvals.rules if self.decision.approvals else ():
                if not rule.satisfied:
                    missing.append(
                        Finding(
                            "approvals-missing", f"rule {rule.index + 1} needs {rule.describe()}"
                        )
                    )
        return (*self.findings, *own, *missing)


def decide(git: Git, github: PullSource, request_id: str, merge_commit: str) -> Verdict:
    """Decide `request_id`, brought to main by `merge_commit`, as the gate should have."""
    path = f"requests/{request_id}.yaml"
    parents = git.run("rev-list", "--parents", "-n", "1", merge_commit).split()[1:]
    policy_commit = parents[0] if parents else merge_commit

    def refuse(code: str, message: str, pr: PullRequestFacts | None = None) -> Verdict:
        finding = Finding(code, message, path)
        return Verdict(request_id, merge_commit, policy_commit, pr, None, (finding,))

    if not parents:
        return refuse("no-pull-request", "the request is in the root commit: no PR brought it in")
    numbers = github.pulls_for_commit(merge_commit)
    if not numbers:
        return refuse(
            "no-pull-request",
            f"commit {merge_commit[:12]} that brought {path} to main belongs to no merged PR: "
            "requests are granted only through a reviewed PR",
        )
    if len(numbers) > 1:
        return refuse(
            "ambiguous-pull-request",
            f"commit {merge_commit[:12]} belongs to several PRs ({numbers}); refusing to guess",
        )
    pr = github.pull_request(numbers[0])
    if not pr.merged:
        return refuse("not-merged", f"PR #{pr.number} is not merged", pr)
    _fetch_commits(git, [pr.head_sha, *(r.commit_sha for r in pr.reviews)])
    state = snapshot(git, policy_commit)
    facts = approval_facts_for(git, pr, state.existing_ids)
    head_digest = facts.content_digests.get(pr.head_sha)
    if head_digest is None or request_digest(git, merge_commit, state.existing_ids) != head_digest:
        return refuse(
            "content-mismatch",
            f"the request files on main differ from the head of PR #{pr.number} (or its head "
            "can't be read): what was merged is not what was reviewed",
            pr,
        )
    merged_at = pr.merged_at or datetime.fromisoformat(
        git.run("log", "-1", "--format=%cI", merge_commit)
    )
    groups = state.groups.value
    logins = {pr.author, *(r.reviewer for r in pr.reviews)}
    teams, team_findings = (
        resolve_teams(groups, logins, github.is_team_member) if groups else ({}, [])
    )
    report = evaluate_change(
        git,
        list(pr.files),
        policy_commit,
        merge_commit,
        pr.author,
        merged_at,
        approval_facts=facts,
        teams=teams,
    )
    if path not in report.change.request_paths:
        return refuse(
            "not-in-pull-request",
            f"PR #{pr.number}'s file list does not add {path}",
            pr,
        )
    change_findings = tuple(f for f in report.decision.findings if f.is_error)
    mine = next(r for r in report.decision.requests if r.path == path)
    if not mine.approved:
        # A team that couldn't be read counted as empty; when that left the request short
        # of approvals, the denial says so. Approvals met without it still stand.
        change_findings += tuple(team_findings)
    return Verdict(request_id, merge_commit, policy_commit, pr, mine, change_findings)


def _fetch_commits(git: Git, shas: list[str]) -> None:
    """Make PR commits readable (a squash merge leaves the PR head out of main's history)."""
    missing = [
        s for s in dict.fromkeys(shas) if s and not git.ok("cat-file", "-e", f"{s}^{{commit}}")
    ]
    for sha in missing:
        git.execute(["fetch", "--quiet", "--no-tags", "origin", sha], check=False)
