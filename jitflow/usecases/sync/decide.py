"""Re-deciding a merged request from scratch before anything is issued.

No status check is trusted. The PR is found from the commit that added the request to main;
GitHub's `merge_commit_sha` for it must be on main's first-parent chain, and the policies
and groups that decide are main's as it stood just before the PR landed (`core.merge`), for
every merge method: never a commit that came with the PR. Only reviews submitted before the
merge count, the request bytes issued are the bytes at the merge (main's copy must still be
them), and at issue time main's current groups must allow the grant too. `github-team:`
approvers are resolved as the gate does (JITFLOW_TEAMS_TOKEN); a team that can't be read
counts as empty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from jitflow.adapters.git import Git, graph
from jitflow.adapters.git.log import committed_at
from jitflow.adapters.git.reading import changed_files, read_files
from jitflow.adapters.git.remote import fetch_missing, fetched_tip_or_head
from jitflow.core.evaluation import RequestDecision
from jitflow.core.loading import (
    GROUPS_PATH,
    ONCALL_PATH,
    POLICY_DIR,
    parse_groups,
    parse_oncall,
    with_rotations,
)
from jitflow.core.merge import (
    ChainStep,
    IssueWindow,
    Landing,
    find_landing,
    issue_window,
    reviews_before,
)
from jitflow.core.model import ChangedFile, Finding, PullRequestFacts
from jitflow.usecases.check import ChangeSet
from jitflow.usecases.port import PullFacts
from jitflow.usecases.pull_decision import judge_pull, request_digest, request_ids_at
from jitflow.usecases.repository import snapshot


@dataclass(frozen=True)
class Verdict:
    """The fresh decision on one merged request."""

    request_id: str
    merge_commit: str
    policy_commit: str
    pr: PullRequestFacts | None
    decision: RequestDecision | None
    findings: tuple[Finding, ...]
    # How long to issue for: the whole duration, or what is left of a window sync got to late.
    issue_for: timedelta | None = None
    landing: Landing | None = None

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

    @property
    def approved_by_oncall(self) -> dict[str, str]:
        """Approvers who counted because they were on call at the merge: login -> rotation."""
        if self.decision is None or self.decision.approvals is None:
            return {}
        return {a: r for rule in self.decision.approvals.rules for a, r in rule.oncall}

    def all_findings(self) -> tuple[Finding, ...]:
        own = self.decision.findings if self.decision is not None else ()
        missing: list[Finding] = []
        if self.decision is not None and self.decision.allowed and not self.decision.approved:
            approvals = self.decision.approvals
            doubts = "".join(f"; {why}" for _, why in approvals.unproven) if approvals else ""
            for rule in approvals.rules if approvals else ():
                if not rule.satisfied:
                    message = f"rule {rule.index} needs {rule.describe()}{doubts}"
                    missing.append(Finding("approvals-missing", message))
        return (*self.findings, *own, *missing)


@dataclass(frozen=True)
class Against:
    """What a request is decided against: main's tip (`main`, default origin's `branch`), the
    protected branch, and `now` (default: the merge time), which bounds a late start."""

    main: str | None = None
    branch: str = "main"
    now: datetime | None = None


def decide(
    git: Git, github: PullFacts, request_id: str, added_commit: str, at: Against = Against()
) -> Verdict:
    """Decide `request_id`, added to main by `added_commit`, as the gate should have."""
    path = f"requests/{request_id}.yaml"
    branch, now = at.branch, at.now
    tip = at.main or _default_tip(git, branch)

    def refuse(code: str, message: str, pr: PullRequestFacts | None = None) -> Verdict:
        return Verdict(request_id, added_commit, "", pr, None, (Finding(code, message, path),))

    numbers = github.pulls_for_commit(added_commit) if added_commit else []
    if not numbers:
        return refuse(
            "no-pull-request",
            f"commit {added_commit[:12] or '(none)'} that brought {path} to main belongs to no "
            "merged PR: requests are granted only through a reviewed PR",
        )
    if len(numbers) > 1:
        return refuse(
            "ambiguous-pull-request",
            f"commit {added_commit[:12]} belongs to several PRs ({numbers}); refusing to guess",
        )
    pr = github.pull_request(numbers[0])
    if not pr.merged or not pr.merge_commit_sha:
        return refuse("not-merged", f"PR #{pr.number} is not merged", pr)
    if pr.base_ref != branch:
        return refuse(
            "not-into-protected-branch",
            f"PR #{pr.number} was merged into {pr.base_ref!r}, not {branch!r}: its commits "
            f"reached {branch} some other way, unjudged",
            pr,
        )
    _fetch_commits(git, [pr.merge_commit_sha, pr.head_sha, *(r.commit_sha for r in pr.reviews)])
    landing, problem = _landing(git, pr, tip, added_commit)
    if landing is None:
        return refuse("merge-not-on-main", problem, pr)
    merge = pr.merge_commit_sha
    if git.show_bytes(tip, path) != git.show_bytes(merge, path):
        return _refused(
            request_id,
            pr,
            landing,
            "edited-after-merge",
            f"{path} on main differs from the bytes PR #{pr.number} merged: only what was "
            "approved is issued, and an edit on main is not approved",
        )
    merged_at = _merged_at(git, pr)
    before = replace(pr, reviews=reviews_before(pr.reviews, merged_at))
    judged = judge_pull(git, github, before, ChangeSet(pr.files, landing.base, merge), merged_at)
    report = judged.report
    others = snapshot(git, landing.base, request_ids_at(git, (before.head_sha, merge))).existing_ids
    head_digest = request_digest(git, before.head_sha, others)
    if head_digest is None or request_digest(git, merge, others) != head_digest:
        return _refused(
            request_id,
            pr,
            landing,
            "content-mismatch",
            f"the request files at merge {merge[:12]} differ from the head of PR #{pr.number} "
            "(or its head can't be read): what was merged is not what was reviewed",
        )
    if path not in report.change.request_paths:
        return _refused(
            request_id,
            pr,
            landing,
            "not-in-pull-request",
            f"PR #{pr.number}'s file list does not add {path}",
        )
    findings = tuple(f for f in report.decision.findings if f.is_error)
    mine = next(r for r in report.decision.requests if r.path == path)
    if not mine.approved:
        # A team that couldn't be read counted as empty; when that left the request short
        # of approvals, the denial says so. Approvals met without it still stand.
        findings += judged.team_findings
    verdict = Verdict(request_id, merge, landing.base, pr, mine, findings, None, landing)
    if not verdict.approved:
        return verdict
    findings += _current_groups_findings(git, github, before, verdict, tip)
    window = _window(mine, merged_at, now or merged_at)
    if window.problem:
        findings += (Finding("window-passed", f"{request_id}: {window.problem}", path),)
    return replace(verdict, findings=findings, issue_for=window.duration)


def _default_tip(git: Git, branch: str) -> str:
    return fetched_tip_or_head(git, "origin", branch)


def _landing(
    git: Git, pr: PullRequestFacts, tip: str, added_commit: str
) -> tuple[Landing | None, str]:
    """How PR `pr` landed on main at `tip`, or why that can't be established."""
    merge = pr.merge_commit_sha or ""
    if not _on_first_parent_chain(git, merge, tip):
        return None, (
            f"GitHub says PR #{pr.number} merged as {merge[:12]}, which is not on main's "
            "first-parent history: main does not contain what was merged"
        )
    depth = len(pr.commits) + 1
    chain = [
        ChainStep(sha, parents)
        for sha, parents in graph.first_parents_with_parents(git, merge, depth)
    ]
    api_files = _file_view(pr.files)

    def same_change(base: str) -> bool:
        return _file_view(changed_files(git, base, merge)) == api_files

    landing = find_landing(chain, pr.head_sha, (c.sha for c in pr.commits), same_change)
    if landing is None:
        return None, (
            f"can't tell main as it stood before PR #{pr.number} landed (merge {merge[:12]}): "
            "main's change there is not the PR's file list; refusing to guess the policies"
        )
    if added_commit not in landing.commits:
        return None, (
            f"commit {added_commit[:12]} that added the request is not one PR #{pr.number} "
            f"brought to main ({landing.method.value} onto {landing.base[:12]})"
        )
    return landing, ""


def _on_first_parent_chain(git: Git, commit: str, tip: str) -> bool:
    """Whether `commit` is on `tip`'s first-parent chain (walks only the commits since it)."""
    if not graph.is_commit(git, commit):
        return False
    return commit in graph.first_parents_down_to(git, tip, graph.parents_of(git, commit))


def _merged_at(git: Git, pr: PullRequestFacts) -> datetime:
    if pr.merged_at is not None:
        return pr.merged_at
    return committed_at(git, pr.merge_commit_sha or "")


def _file_view(files: list[ChangedFile] | tuple[ChangedFile, ...]) -> set[tuple[str, str]]:
    return {(f.path, f.status.value) for f in files}


def _current_groups_findings(
    git: Git, github: PullFacts, pr: PullRequestFacts, verdict: Verdict, tip: str
) -> tuple[Finding, ...]:
    """At issue time main's current groups and policy must allow the grant as well as the
    merge's (`pr` with the reviews before its merge): a policy deleted or narrowed on main
    stops the pending requests merged under it. Only ever denies more."""
    base, merge = verdict.policy_commit, verdict.merge_commit
    path = f"requests/{verdict.request_id}.yaml"
    [blob, rotations] = read_files(git, tip, [GROUPS_PATH, ONCALL_PATH])
    current = with_rotations(parse_groups(blob), parse_oncall(rotations))
    merged_at = _merged_at(git, pr)
    change = ChangeSet(pr.files, base, merge, groups=current, policies_at=tip)
    now_judged = judge_pull(git, github, pr, change, merged_at)
    mine = next((r for r in now_judged.report.decision.requests if r.path == path), None)
    if mine is not None and mine.approved:
        return ()
    why = "; ".join(f.message for f in (mine.findings if mine else ()) if f.is_error)
    if mine is not None and mine.allowed:
        why = "its approvals no longer hold under them"
    policy = verdict.decision.policy if verdict.decision else None
    rules = f"{POLICY_DIR}/{policy.name}.yaml" if policy else ""
    if rules and git.show_bytes(base, rules) != git.show_bytes(tip, rules):
        what = f"main's current {rules}"
        return (Finding("policy-changed", f"{what} no longer allows this grant: {why}", path),)
    return (
        Finding(
            "groups-changed",
            f"main's current policies/groups.yaml no longer allows this grant: {why}",
            path,
        ),
    )


def _window(decision: RequestDecision, merged_at: datetime, now: datetime) -> IssueWindow:
    duration = decision.duration or (decision.policy.default_duration if decision.policy else None)
    due = max(decision.start or merged_at, merged_at)
    return issue_window(due, duration or timedelta(0), now)


def _refused(
    request_id: str, pr: PullRequestFacts, landing: Landing, code: str, message: str
) -> Verdict:
    finding = Finding(code, message, f"requests/{request_id}.yaml")
    merge = pr.merge_commit_sha or ""
    return Verdict(request_id, merge, landing.base, pr, None, (finding,), None, landing)


def _fetch_commits(git: Git, shas: list[str]) -> None:
    """Make PR commits readable (a squash merge leaves the PR head out of main's history)."""
    fetch_missing(git, shas)
