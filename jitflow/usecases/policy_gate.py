"""The gate for pull requests that ask for no access: policy changes, docs, workflows.

Branch protection requires `jitflow/policy` and `jitflow/approval` on every PR into main, so
every PR gets a verdict. A PR that touches nothing under `requests/` passes the request gate
with a description saying so; one that changes `policies/` must also load cleanly and pass
the policy tests at its head (`jitflow/policy`), is approved only by a code owner of what it
changes, on its current head (`jitflow/approval`), and its impact on past and active grants
is posted in the PR comment. One that changes `.jitflow/outbound.yaml` must leave it loading.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.core.change_gate import ChangeDetails, ChangeGateReport, Verdict
from jitflow.core.doctor import CODEOWNERS_LOCATIONS, codeowners_rules, owners_of
from jitflow.core.identities import account_problem
from jitflow.core.loading import GROUPS_PATH, parse_groups
from jitflow.core.model import PullRequestFacts, ReviewState
from jitflow.errors import JitflowError

POLICY_DIR = "policies/"
COMMENT_MARKER = "check"  # the same one comment the request gate keeps


class ChangeGateGitHub(Protocol):
    """The calls the change gate makes (the GitHub adapter provides them)."""

    def pull_request(self, number: int) -> PullRequestFacts: ...

    def is_team_member(self, org: str, slug: str, login: str) -> bool: ...

    def set_status(
        self, sha: str, context: str, state: str, description: str, target_url: str | None
    ) -> None: ...

    def upsert_comment(self, number: int, marker: str, body: str) -> int: ...


class ChangeGateFeedback(Protocol):
    """The words of the PR comment (reporters.change_gate renders them)."""

    def change_comment(self, report: ChangeGateReport) -> str: ...


def judge_change(
    git: Git, github: ChangeGateGitHub, pr: PullRequestFacts, repo: Path, now: datetime
) -> ChangeGateReport:
    """The verdict on a PR without request files (its head is checked out in `repo`).

    A rename or copy is judged at its old path too (GitHub lists it under the new one), so
    moving an owned file out of `policies/` or `.github/` still needs its owners."""
    paths = sorted({p for f in pr.files for p in (f.path, f.previous_path) if p})
    outbound = _outbound_verdict(git, pr, paths)
    if outbound is not None:
        approval, why = _code_owner_verdict(git, github, pr, paths)
        return ChangeGateReport(
            pr.number, pr.head_sha, outbound[0], approval, _with_teams(outbound[1], why)
        )
    if not any(p.startswith(POLICY_DIR) for p in paths):
        nothing = "no access request and no policy change: nothing for jitflow to judge"
        approval, why = (
            _code_owner_verdict(git, github, pr, paths)
            if paths
            else (Verdict("success", ""), ChangeDetails())
        )
        if approval.state == "success":
            approval = Verdict("success", nothing)
        return ChangeGateReport(pr.number, pr.head_sha, Verdict("success", nothing), approval, why)
    policy, details = _policy_verdict(git, pr, repo, now)
    approval, why = _code_owner_verdict(git, github, pr, paths)
    return ChangeGateReport(pr.number, pr.head_sha, policy, approval, _with_teams(details, why))


def _with_teams(details: ChangeDetails, owners: ChangeDetails) -> ChangeDetails:
    """`details` plus what the code owner verdict says of unreadable teams."""
    return replace(
        details, unreadable_teams=owners.unreadable_teams, teams_error=owners.teams_error
    )


def _outbound_verdict(
    git: Git, pr: PullRequestFacts, paths: Sequence[str]
) -> tuple[Verdict, ChangeDetails] | None:
    """A broken `.jitflow/outbound.yaml` fails here, not in every sync run after the merge."""
    from jitflow.core.outbound import OUTBOUND_PATH, parse_outbound

    content = git.show_bytes(pr.head_sha, OUTBOUND_PATH) if OUTBOUND_PATH in paths else None
    if content is None:
        return None
    findings = parse_outbound(content).findings
    if not findings:
        return None
    return Verdict("failure", f"{OUTBOUND_PATH} does not load"), ChangeDetails(
        outbound_findings=tuple(findings)
    )


def _policy_verdict(
    git: Git, pr: PullRequestFacts, repo: Path, now: datetime
) -> tuple[Verdict, ChangeDetails]:
    from jitflow.usecases.policy_cases import PolicyTestOptions, run_policy_tests
    from jitflow.usecases.policy_impact import ImpactOptions, run_impact
    from jitflow.usecases.repository import all_policy_names, read_policies

    names = all_policy_names(git, pr.head_sha)
    broken = tuple(
        finding
        for loaded in read_policies(git, pr.head_sha, names).values()
        for finding in loaded.findings
    )
    if broken:
        failed = Verdict("failure", "policy change: a policy does not load")
        return failed, ChangeDetails(broken_policies=broken)
    try:
        tests = run_policy_tests(PolicyTestOptions(repo))
    except JitflowError as exc:
        failed = Verdict("failure", "policy change: the policy tests can't run")
        return failed, ChangeDetails(tests_error=exc.message)
    impact = run_impact(ImpactOptions(repo, pr.base_sha, pr.head_sha, now))
    details = ChangeDetails(tests=tests, impact=impact)
    if not tests.passed:
        return Verdict("failure", "policy change: policy tests fail"), details
    count = len(tests.results)
    text = f"policy change: {len(names)} policies load, {count} policy cases pass"
    return Verdict("success", text), details


def _code_owner_verdict(
    git: Git, github: ChangeGateGitHub, pr: PullRequestFacts, paths: Sequence[str]
) -> tuple[Verdict, ChangeDetails]:
    """Every changed path with code owners (CODEOWNERS at the base) needs one of its owners'
    approval on the current head; the PR author's own never counts. A code owner team that
    can't be read fails the approval (never pending), saying what to configure."""
    rules = codeowners_rules(_codeowners_at(git, pr.base_sha))
    approvers = _approvers_on_head(pr)
    doubted = _doubted(git, pr, approvers)
    teams = sorted({o for p in paths for o in owners_of(rules, p) if "/" in o})
    missing: dict[tuple[str, ...], list[str]] = {}
    try:
        for team in teams:  # read each team now, so one that can't be read fails at once
            _is_owner(github, team, pr.author)  # (the author's own membership never counts)
        for path in paths:
            owners = owners_of(rules, path)
            if not owners and path.startswith(POLICY_DIR):
                owners = ("nobody: give policies/ an owner in CODEOWNERS",)
            if owners and not any(
                _is_owner(github, o, w, doubted) for o in owners for w in approvers
            ):
                missing.setdefault(owners, []).append(path)
    except JitflowError as exc:
        return _unreadable_teams(teams, exc)
    if not missing:
        owned = [p for p in paths if owners_of(rules, p)]
        verdict = "approved by a code owner" if owned else "no code-owned path"
        return Verdict("success", verdict), ChangeDetails()
    owners, waiting = next(iter(missing.items()))
    more = f" (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
    return Verdict(
        "pending", f"waiting for a code owner ({' '.join(owners)}) to approve {waiting[0]}{more}"
    ), ChangeDetails()


def _unreadable_teams(teams: Sequence[str], exc: JitflowError) -> tuple[Verdict, ChangeDetails]:
    """Fail closed: no approval counts while a code owner team can't be read."""
    verdict = Verdict(
        "failure",
        f"can't read code owner team {' '.join(teams)}: set JITFLOW_TEAMS_APP_ID and "
        "JITFLOW_TEAMS_APP_PRIVATE_KEY (see the PR comment)",
    )
    return verdict, ChangeDetails(unreadable_teams=tuple(teams), teams_error=exc.message)


def _codeowners_at(git: Git, commit: str) -> str:
    for location in CODEOWNERS_LOCATIONS:
        content = git.show_bytes(commit, location)
        if content is not None:
            return content.decode(errors="replace")
    return ""


def _approvers_on_head(pr: PullRequestFacts) -> list[str]:
    latest: dict[str, ReviewState] = {}
    for review in sorted(pr.reviews, key=lambda r: r.submitted_at):
        if review.state in (ReviewState.COMMENTED, ReviewState.PENDING):
            continue
        if pr.base_changed_at and review.submitted_at <= pr.base_changed_at:
            continue  # it saw the diff against another base branch
        latest[review.reviewer.lower()] = (
            review.state if review.commit_sha == pr.head_sha else ReviewState.DISMISSED
        )
    author = pr.author.lower()
    return [who for who, state in latest.items() if state is ReviewState.APPROVED and who != author]


def _doubted(git: Git, pr: PullRequestFacts, approvers: list[str]) -> set[str]:
    """Approvers who can't be a code owner named by @login: their GitHub account is not the
    one groups.yaml (at the base) pins for the login (renamed and taken over), or the login
    is pinned nowhere. A base that pins nobody yet (a repository before its first `jitflow
    policy pin`) doubts none, so the PR adding the pins can be approved; GitHub's own code
    owner review (which needs write access) still applies. Team members need no pin."""
    groups = parse_groups(git.show_bytes(pr.base_sha, GROUPS_PATH)).value
    if groups is None or not groups.github_ids:
        return set()
    accounts = {r.reviewer.lower(): r.reviewer_id for r in pr.reviews}
    return {a for a in approvers if account_problem(a, accounts.get(a), groups) is not None}


def _is_owner(
    github: ChangeGateGitHub, owner: str, login: str, doubted: Collection[str] = ()
) -> bool:
    name = owner.removeprefix("@")
    if "/" in name:
        org, _, slug = name.partition("/")
        return github.is_team_member(org, slug, login)
    return name.lower() == login.lower() and login.lower() not in doubted


@dataclass(frozen=True)
class ChangePull:
    """A policy-change PR to judge: its number, the checkout it is judged in, `now`, and the
    link its statuses point to."""

    number: int
    repo: Path
    now: datetime
    target: str | None = None


def run_change_gate(
    git: Git, github: ChangeGateGitHub, pull: ChangePull, feedback: ChangeGateFeedback
) -> tuple[str, bool]:
    """Judge the PR, set both statuses on its head and upsert the one jitflow comment (in
    `feedback`'s words). Returns what to print and whether the PR passes (approval may still
    be pending)."""
    number, target = pull.number, pull.target
    report = judge_change(git, github, github.pull_request(number), pull.repo, pull.now)
    for context, verdict in status_pairs(report).items():
        github.set_status(report.head_sha, context, verdict.state, verdict.description, target)
    comment = feedback.change_comment(report)
    github.upsert_comment(number, COMMENT_MARKER, comment)
    return comment, "failure" not in (report.policy.state, report.approval.state)


def status_pairs(report: ChangeGateReport) -> Mapping[str, Verdict]:
    return {"jitflow/policy": report.policy, "jitflow/approval": report.approval}


__all__ = [
    "ChangeGateFeedback",
    "ChangeGateGitHub",
    "ChangePull",
    "judge_change",
    "run_change_gate",
    "status_pairs",
]
