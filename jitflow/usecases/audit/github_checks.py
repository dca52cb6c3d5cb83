"""`audit verify --github`: the ledger's claims about GitHub, checked against GitHub's record.

Offline, verify can only compare the ledger with itself: who approved and who merged are what
the runner wrote. With `--github` every grant is checked through the API: its PR exists and
GitHub merged it as the recorded merge commit (`github-pr-missing`, `github-merge-mismatch`),
its author is the requester (`github-author-mismatch`), and the reviews GitHub holds --
each reviewer's latest, APPROVED, submitted before the merge, on a commit whose request file
is the one merged, by someone who is neither the author nor a PR contributor (author,
committer, co-author or pusher of a commit, as `core.contributors` judges it) -- satisfy the
policy at the policy commit (`github-approvals-insufficient`). Break-glass grants need no
prior approval (their post-hoc review is checked offline).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import blob_id
from jitflow.core.approvals import latest_reviews
from jitflow.core.audit_rows import approval_shortfalls
from jitflow.core.contributors import judge_contributions
from jitflow.core.identities import account_problem, named_logins
from jitflow.core.model import Groups, PullRequestFacts, Push, ReviewState
from jitflow.core.verify_report import Violation
from jitflow.errors import JitflowError
from jitflow.usecases.audit.checks import Checked


class PullRequests(Protocol):
    """What `--github` asks GitHub (the GitHub adapter's gateway)."""

    def pull_request(self, number: int) -> PullRequestFacts: ...


@runtime_checkable
class BranchPushes(Protocol):
    """GitHub's repository activity: who moved a branch, and when (by GitHub's clock)."""

    def branch_pushes(self, branch: str) -> list[Push]: ...


def check_github(checked: Checked, github: PullRequests, git: Git) -> list[Violation]:
    entry, row, grant, policy = checked.entry, checked.row, checked.grant, checked.policy
    trail, rid = entry.trail, entry.trail.id
    if trail.issue is None:
        return []
    number = grant.get("pr")
    merge = str(grant.get("merge_commit") or "")
    where = trail.issue.sha
    if not isinstance(number, int):
        return [Violation("github-pr-missing", rid, where, "the grant names no PR number")]
    try:
        pr = github.pull_request(number)
    except JitflowError as exc:
        return [Violation("github-pr-missing", rid, where, f"PR #{number}: {exc.message}")]
    found: list[Violation] = []
    if not pr.merged or (pr.merge_commit_sha or "") != merge:
        found.append(
            Violation(
                "github-merge-mismatch",
                rid,
                merge or where,
                f"GitHub says PR #{number} is {'merged' if pr.merged else 'not merged'} with "
                f"merge commit {pr.merge_commit_sha}; the grant records {merge or 'none'}",
            )
        )
    if pr.author.lower() != row.requester.lower():
        found.append(
            Violation(
                "github-author-mismatch",
                rid,
                merge or where,
                f"PR #{number} was opened by {pr.author}, the grant's requester is {row.requester}",
            )
        )
    terms, groups = policy
    named = named_logins(terms.requesters, groups) if terms is not None else set()
    requester_problem = (
        _account_problem(row.requester, pr.author_id, groups)
        if row.requester.lower() in named
        else None
    )
    if requester_problem:
        found.append(Violation("github-author-mismatch", rid, merge or where, requester_problem))
    if terms is None or row.break_glass:
        return found
    approvers = _approvers_per_github(pr, rid, entry.trail.request_blob, git)
    approvers = {a for a in approvers if not _account_problem(a, _review_account(pr, a), groups)}
    shortfalls = approval_shortfalls(terms, groups, row.requester, sorted(approvers))
    if shortfalls:
        found.append(
            Violation(
                "github-approvals-insufficient",
                rid,
                merge or where,
                f"GitHub's reviews of PR #{number} (approved before the merge, on the merged "
                f"request, by non-contributors: {', '.join(sorted(approvers)) or 'none'}) "
                f"do not satisfy {row.policy}: " + "; ".join(shortfalls),
            )
        )
    return found


def _approvers_per_github(
    pr: PullRequestFacts, rid: str, merged_blob: str | None, git: Git
) -> set[str]:
    # Authors, committers, co-authors and pushers, as the gate and sync judge them.
    contributors = {pr.author.lower(), *judge_contributions(pr).contributors}
    approved = set()
    for login, review in latest_reviews(pr.reviews).items():
        if review.state is not ReviewState.APPROVED or login.lower() in contributors:
            continue
        if pr.merged_at is not None and review.submitted_at > pr.merged_at:
            continue
        if pr.base_changed_at is not None and review.submitted_at <= pr.base_changed_at:
            continue  # it saw the diff against another base branch
        if not _same_request(git, review.commit_sha, pr.head_sha, rid, merged_blob):
            continue
        approved.add(login.lower())
    return approved


def _account_problem(login: str, account_id: int | None, groups: Groups) -> str | None:
    """Why GitHub's account behind @login is not the one pinned at the policy commit. A
    groups file that pins nobody (a grant decided before the repository pinned accounts)
    can't tell, so nothing is judged there."""
    if not groups.github_ids:
        return None
    return account_problem(login, account_id, groups)


def _review_account(pr: PullRequestFacts, login: str) -> int | None:
    ids = {r.reviewer_id for r in pr.reviews if r.reviewer.lower() == login.lower()}
    return ids.pop() if len(ids) == 1 else None


def _same_request(git: Git, commit: str, head: str, rid: str, merged_blob: str | None) -> bool:
    """Whether the reviewed commit holds the request file exactly as merged."""
    if merged_blob is None:
        return commit == head
    blob = blob_id(git, commit, f"requests/{rid}.yaml")
    if blob is None:
        return commit == head  # not in this clone (squash merge): the head GitHub merged
    return blob == merged_blob
