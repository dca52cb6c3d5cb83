"""The one decision path of the gate (`check --event`) and `sync`.

Both gather a PR's facts through the `PullFacts` port and git, then call `judge_pull`; only
the facts differ (the gate: the open PR at its base and head; sync: the merged PR at main
just before it landed and at its merge commit, with the reviews submitted before the merge).
An approval is bound to the request files the reviewer saw: the digest of the PR's request
files at the reviewed commit must equal the digest at the head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from jitflow.adapters.git import Git
from jitflow.adapters.git.reading import entries_in
from jitflow.adapters.git.remote import fetch_missing
from jitflow.core.approvals import ApprovalFacts
from jitflow.core.changes import ChangeKind, is_request_path
from jitflow.core.check_report import CheckReport
from jitflow.core.contributors import judge_contributions
from jitflow.core.evaluation import Decision
from jitflow.core.model import Finding, Groups, PullRequestFacts
from jitflow.usecases.check import ChangeSet, Reviewed, evaluate_change
from jitflow.usecases.port import PullFacts
from jitflow.usecases.repository import snapshot

TEAM_PREFIX = "github-team:"


def request_digest(git: Git, commit: str, base_ids: frozenset[str]) -> str | None:
    """Digest of the request files a PR adds at `commit`, or None if the commit is unknown."""
    listed = entries_in(git, commit, "requests/")
    if listed is None:
        return None
    entries = []
    for mode, oid, path in listed:
        if not is_request_path(path):
            continue
        if path.rsplit("/", 1)[-1].removesuffix(".yaml") in base_ids:
            continue
        entries.append(f"{mode} {oid} {path}")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def request_ids_at(git: Git, commits: Iterable[str]) -> set[str]:
    """Ids of the request files at `commits`: a snapshot of the base asked for them knows which
    are not a PR's own (pending, active or archived there). A file main archived after the
    branch was made stays on the branch while a merge keeps main's removal, so the digests
    leave it out; a PR adding an archived id is refused anyway (`duplicate-id`)."""
    ids = set()
    for commit in commits:
        for _, _, path in entries_in(git, commit, "requests/") or ():
            if is_request_path(path):
                ids.add(path.rsplit("/", 1)[-1].removesuffix(".yaml"))
    return ids


def approval_facts_for(
    git: Git,
    pr: PullRequestFacts,
    base_ids: frozenset[str] = frozenset(),
    author_ssh_keys: tuple[str, ...] | None = None,
) -> ApprovalFacts:
    """Reviews, committers and content digests of a PR, ready for approval evaluation."""
    commits = {pr.head_sha, *(review.commit_sha for review in pr.reviews)}
    # Reviewed commits a force-push left behind: GitHub still serves them by id.
    fetch_missing(git, sorted(commits))
    digests = {}
    for commit in sorted(commits):
        digest = request_digest(git, commit, base_ids)
        if digest is not None:
            digests[commit] = digest
    committers = judge_contributions(pr).contributors
    return ApprovalFacts(
        author=pr.author,
        head_sha=pr.head_sha,
        reviews=pr.reviews,
        committers=frozenset(committers),
        content_digests=digests,
        author_ssh_keys=author_ssh_keys,
        base_changed_at=pr.base_changed_at,
        accounts=accounts_of(pr),
    )


def accounts_of(pr: PullRequestFacts) -> dict[str, int | None]:
    """The account id GitHub reported behind each login of the PR (author, reviewers); None
    for a login reported with no id or with two."""
    accounts: dict[str, int | None] = {}
    for login, account in [(r.reviewer, r.reviewer_id) for r in pr.reviews] + [
        (pr.author, pr.author_id)
    ]:
        seen = accounts.setdefault(login.lower(), account)
        if seen != account:
            accounts[login.lower()] = None
    return accounts


@dataclass(frozen=True)
class Judged:
    """A PR's decision, and the teams that could not be read (they counted as empty)."""

    report: CheckReport
    team_findings: tuple[Finding, ...]


def judge_pull(
    git: Git, github: PullFacts, pr: PullRequestFacts, change: ChangeSet, now: datetime
) -> Judged:
    """Decide PR `pr`'s `change` (request files read at its head, policies and groups at its
    base, or its own groups when given), approvals from `pr.reviews`."""
    groups = change.groups
    reviewed = sorted({pr.head_sha, *(review.commit_sha for review in pr.reviews)})
    fetch_missing(git, reviewed)  # reviewed commits a force-push left behind
    state = snapshot(git, change.base, request_ids_at(git, reviewed))
    # The requester's keys as GitHub publishes them now: a request may only name one of them.
    keys = tuple(github.ssh_public_keys(pr.author))
    facts = approval_facts_for(git, pr, state.existing_ids, keys)
    group_value = (groups or state.groups).value
    logins = {pr.author, *(r.reviewer for r in pr.reviews)}
    teams, team_findings = (
        resolve_teams(group_value, logins, github.is_team_member) if group_value else ({}, [])
    )
    report = evaluate_change(git, change, pr.author, now, Reviewed(facts, teams))
    return Judged(with_identity_findings(report, pr), tuple(team_findings))


def with_identity_findings(report: CheckReport, pr: PullRequestFacts) -> CheckReport:
    """A request PR must be its author's own as GitHub vouches for it (core.contributors);
    a revocation only takes access away, so who wrote it doesn't matter."""
    if report.change.kind is ChangeKind.REVOCATION:
        return report
    findings = judge_contributions(pr).findings
    if not findings:
        return report
    decision = report.decision
    return replace(report, decision=Decision((*decision.findings, *findings), decision.requests))


def team_references(groups: Groups) -> set[str]:
    return {m for members in groups.members.values() for m in members if m.startswith(TEAM_PREFIX)}


def resolve_teams(
    groups: Groups,
    logins: Iterable[str],
    is_member: Callable[[str, str, str], bool],
) -> tuple[dict[str, frozenset[str]], list[Finding]]:
    """Which of `logins` belong to each `github-team:org/slug` named in groups.

    Fails closed: a team that can't be read contributes nobody, with an error finding that
    explains the permission needed.
    """
    from jitflow.errors import JitflowError

    teams: dict[str, frozenset[str]] = {}
    findings: list[Finding] = []
    for reference in sorted(team_references(groups)):
        org, _, slug = reference.removeprefix(TEAM_PREFIX).partition("/")
        found = set()
        try:
            for login in sorted({login.lower() for login in logins}):
                if is_member(org, slug, login):
                    found.add(login)
        except JitflowError as exc:
            findings.append(
                Finding(
                    "team-membership-unavailable",
                    f"can't read members of {reference}, so it counts as empty: {exc.message}",
                    "policies/groups.yaml",
                )
            )
        teams[reference] = frozenset(found)
    return teams, findings


def mismatch_finding(api: Mapping[str, str], local: Mapping[str, str]) -> Finding | None:
    """The API's file list and the checkout's diff must agree, or nothing is trusted."""
    if dict(api) == dict(local):
        return None
    only_api = sorted(set(api) - set(local))
    only_local = sorted(set(local) - set(api))
    differ = sorted(p for p in set(api) & set(local) if api[p] != local[p])
    return Finding(
        "files-mismatch",
        "GitHub's file list for this PR and the checkout's git diff disagree "
        f"(only on GitHub: {only_api or '-'}; only in git: {only_local or '-'}; "
        f"different status: {differ or '-'}); re-run the check after a fresh checkout",
    )
