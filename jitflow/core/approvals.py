"""Approval evaluation: pure, from reviews and content digests to a status per rule.

An approval is bound to the content of the request files the reviewer saw: it survives a
rebase or update merge that leaves every request file byte-identical, and is void as soon as
any request file changes. Only a reviewer's latest review counts. The PR author, the
requester named in the file and anyone who contributed to the PR (author, committer or
co-author of a commit, or pusher, as `core.contributors` judges it) never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from jitflow.core.identities import named_logins, team_logins, unproven
from jitflow.core.model import ApprovalRule, Groups, Policy, Principals, Review, ReviewState

RETARGETED = (
    "void: the PR's base branch changed after this approval, which saw its diff against "
    "another branch"
)


@dataclass(frozen=True)
class ApprovalFacts:
    """What approval evaluation needs to know about a PR."""

    author: str
    head_sha: str
    reviews: tuple[Review, ...] = ()
    committers: frozenset[str] = frozenset()
    # Digest of all request files of the PR at a commit; a review counts only when the digest
    # at its commit equals the digest at the head. Unknown commits void the review.
    content_digests: Mapping[str, str] = field(default_factory=dict)
    # The PR author's SSH public keys as GitHub publishes them when the facts were read
    # (None: not read, as in the offline check).
    author_ssh_keys: tuple[str, ...] | None = None
    # When the PR was last retargeted: an approval before it saw a diff against another
    # branch (request files already there were not shown), so it counts for nothing.
    base_changed_at: datetime | None = None
    # The GitHub account id behind each login of the PR (author, reviewers; lower-cased), as
    # GitHub reported it: a login named in policies/ counts only as the account pinned for it
    # (core.identities). None: the facts did not come from GitHub, so accounts aren't judged.
    accounts: Mapping[str, int | None] | None = None


@dataclass(frozen=True)
class RuleStatus:
    """One approval rule: how many, from whom, who approved, who still may."""

    index: int
    count: int
    approvers: Principals
    approved_by: tuple[str, ...]
    eligible: tuple[str, ...]
    excluded: tuple[str, ...]
    blocked_by: tuple[str, ...]
    self_approved: bool = False
    # approvals that count because the approver was on call: (login, rotation)
    oncall: tuple[tuple[str, str], ...] = ()

    @property
    def satisfied(self) -> bool:
        return len(self.approved_by) >= self.count and not self.blocked_by

    @property
    def missing(self) -> int:
        return max(0, self.count - len(self.approved_by))

    def describe(self) -> str:
        source = self.approvers.describe()
        text = f"{self.count} approval{'s' if self.count != 1 else ''} from {source}"
        if self.excluded:
            text += f" (not {', '.join('@' + x for x in self.excluded)})"
        return text


@dataclass(frozen=True)
class ReviewOutcome:
    """How each reviewer's latest review was counted (for the PR comment)."""

    reviewer: str
    state: ReviewState
    counted: bool
    note: str


@dataclass(frozen=True)
class ApprovalStatus:
    rules: tuple[RuleStatus, ...]
    reviews: tuple[ReviewOutcome, ...] = ()
    voided: tuple[str, ...] = ()
    break_glass: bool = False
    waived: str = ""  # why no approval is needed (e.g. a requester giving up their own grant)
    oncall_waived: str = ""  # the rotation whose on-call requester needed no approval
    # named logins whose GitHub account is not the one pinned for them, and why
    unproven: tuple[tuple[str, str], ...] = ()

    @property
    def satisfied(self) -> bool:
        if self.break_glass or self.waived:
            return True
        return bool(self.rules) and all(rule.satisfied for rule in self.rules)


def members(
    principals: Principals, groups: Groups, teams: Mapping[str, frozenset[str]]
) -> set[str]:
    """Lower-cased logins in a set of principals; unresolved teams contribute nobody."""
    return named_logins(principals, groups) | team_logins(principals, groups, teams)


def approvers_of(policy: Policy, groups: Groups, teams: Mapping[str, frozenset[str]]) -> set[str]:
    """Lower-cased logins eligible under any of the policy's approval rules."""
    eligible: set[str] = set()
    for rule in policy.approval_rules:
        eligible |= members(rule.approvers, groups, teams)
    return eligible


def approval_times(reviews: Iterable[Review], logins: Iterable[str]) -> dict[str, datetime]:
    """When each of `logins` submitted the approving review that counted (their latest)."""
    latest = latest_reviews(reviews)
    times: dict[str, datetime] = {}
    for login in logins:
        review = latest.get(login.lower())
        if review is not None and review.state is ReviewState.APPROVED:
            times[login] = review.submitted_at
    return times


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """Each reviewer's latest decisive review; COMMENTED never replaces a decision."""
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        login = review.reviewer.lower()
        if review.state in (ReviewState.COMMENTED, ReviewState.PENDING) and login in latest:
            continue
        latest[login] = review
    return latest


def evaluate_approvals(
    policy: Policy,
    requester: str,
    facts: ApprovalFacts,
    groups: Groups,
    teams: Mapping[str, frozenset[str]] | None = None,
) -> ApprovalStatus:
    """Decide every rule of `policy` for one request (break-glass: `with_break_glass`)."""
    teams = teams or {}
    excluded = {facts.author.lower(), requester.lower()} | {c.lower() for c in facts.committers}
    head_digest = facts.content_digests.get(facts.head_sha)
    approvals: set[str] = set()
    blockers: set[str] = set()
    outcomes: list[ReviewOutcome] = []
    voided: list[str] = []
    for login, review in sorted(latest_reviews(facts.reviews).items()):
        if review.state is ReviewState.APPROVED:
            seen = facts.content_digests.get(review.commit_sha)
            if login in excluded:
                outcomes.append(
                    ReviewOutcome(login, review.state, False, _exclusion(login, facts, requester))
                )
            elif facts.base_changed_at and review.submitted_at <= facts.base_changed_at:
                voided.append(login)
                outcomes.append(ReviewOutcome(login, review.state, False, RETARGETED))
            elif head_digest is None or seen != head_digest:
                voided.append(login)
                outcomes.append(
                    ReviewOutcome(
                        login,
                        review.state,
                        False,
                        "void: a request file changed since this approval",
                    )
                )
            else:
                approvals.add(login)
                outcomes.append(ReviewOutcome(login, review.state, True, "counts"))
        elif review.state is ReviewState.CHANGES_REQUESTED:
            blockers.add(login)
            outcomes.append(ReviewOutcome(login, review.state, False, "changes requested"))
        else:
            outcomes.append(ReviewOutcome(login, review.state, False, "does not count"))
    named = set().union(*(named_logins(r.approvers, groups) for r in policy.approval_rules))
    doubted = unproven((approvals | {requester.lower()}) & named, facts.accounts, groups)
    tally = _Tally(requester, approvals, blockers, excluded, doubted)
    rules = tuple(
        _rule_status(numbered, policy, tally, groups, teams)
        for numbered in enumerate(policy.approval_rules, start=1)
    )
    for outcome_index, outcome in enumerate(outcomes):
        if outcome.counted and not any(outcome.reviewer in rule.approved_by for rule in rules):
            why = doubted.get(outcome.reviewer, "not an eligible approver for this policy")
            outcomes[outcome_index] = ReviewOutcome(outcome.reviewer, outcome.state, False, why)
    return ApprovalStatus(
        rules=rules,
        reviews=tuple(outcomes),
        voided=tuple(voided),
        unproven=tuple(sorted(doubted.items())),
    )


def with_break_glass(status: ApprovalStatus, policy: Policy, asked: bool) -> ApprovalStatus:
    """`status` marked break-glass when the request asks for it and `policy` allows it."""
    return replace(status, break_glass=asked and policy.break_glass.allowed)


@dataclass(frozen=True)
class _Tally:
    """One request's reviews as counted: who approved, who blocks, who may not approve."""

    requester: str
    approvals: set[str]
    blockers: set[str]
    excluded: set[str]
    # named logins whose GitHub account is not the pinned one: why (they count nowhere but
    # through a live team)
    unproven: Mapping[str, str] = field(default_factory=dict)


def _exclusion(login: str, facts: ApprovalFacts, requester: str) -> str:
    if login == facts.author.lower():
        return "the PR author can't approve their own request"
    if login == requester.lower():
        return "the requester can't approve their own request"
    return "contributed to this PR (commit, co-author or push), so can't approve it"


def _rule_status(
    numbered: tuple[int, ApprovalRule],
    policy: Policy,
    tally: _Tally,
    groups: Groups,
    teams: Mapping[str, frozenset[str]],
) -> RuleStatus:
    index, rule = numbered
    requester, approvals = tally.requester, tally.approvals
    blockers, excluded = tally.blockers, tally.excluded
    eligible = members(rule.approvers, groups, teams)
    through_teams = team_logins(rule.approvers, groups, teams)

    def proven(login: str) -> bool:
        return login not in tally.unproven or login in through_teams

    approved = sorted(a for a in approvals & eligible if proven(a))
    self_approved = False
    if policy.allow_self_approval and requester.lower() in eligible and proven(requester.lower()):
        # The requester is one of this rule's approvers and the policy lets that count once.
        approved = sorted({*approved, requester.lower()})
        self_approved = True
    return RuleStatus(
        index=index,
        count=rule.count,
        approvers=rule.approvers,
        approved_by=tuple(approved),
        eligible=tuple(sorted(eligible - excluded - set(approved))),
        excluded=tuple(sorted(eligible & excluded)),
        blocked_by=tuple(sorted(blockers & eligible)),
        self_approved=self_approved,
        oncall=oncall_approvals(rule.approvers, groups, teams, approved),
    )


def oncall_approvals(
    approvers: Principals,
    groups: Groups,
    teams: Mapping[str, frozenset[str]],
    approved: Iterable[str],
) -> tuple[tuple[str, str], ...]:
    """Which of `approved` count only because they were on call: (login, rotation)."""
    if not approvers.oncall:
        return ()
    otherwise = members(Principals(approvers.users, approvers.groups), groups, teams)
    holders = {groups.on_call[r].lower(): r for r in approvers.oncall if r in groups.on_call}
    return tuple((a, holders[a]) for a in sorted(approved) if a in holders and a not in otherwise)


def required_approvals(
    policy: Policy,
    requester: str,
    author: str,
    groups: Groups,
    teams: Mapping[str, frozenset[str]] | None = None,
) -> ApprovalStatus:
    """The rules as they stand with no reviews yet (what the offline check lists)."""
    return evaluate_approvals(
        policy, requester, ApprovalFacts(author=author, head_sha=""), groups, teams
    )
