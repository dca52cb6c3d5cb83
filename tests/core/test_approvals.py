"""Pure approval evaluation: which reviews count, which block, and when they go void."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.core.approvals import (
    ApprovalFacts,
    ApprovalStatus,
    evaluate_approvals,
    with_break_glass,
)
from jitflow.core.evaluation import Context, Decision, evaluate
from jitflow.core.loading import Loaded, parse_request
from jitflow.core.model import (
    ApprovalRule,
    BreakGlass,
    GrantKind,
    GrantSpec,
    Groups,
    Policy,
    Principals,
    Review,
    ReviewState,
)

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HEAD = "c-head"
DIGEST = "digest-1"
GROUPS = Groups(
    {
        "sre": ("alice", "carol"),
        "leads": ("bob", "bea", "alice"),
        "security": ("frank", "zed"),
        "platform": ("dave", "zed"),
        "org-team": ("github-team:acme/oncall",),
    }
)


def policy(
    *rules: tuple[int, tuple[str, ...]],
    self_approval: bool = False,
    break_glass: bool = False,
    name: str = "p",
) -> Policy:
    return Policy(
        name=name,
        description="test policy",
        grant=GrantSpec(GrantKind.VAULT_TOKEN, policies=("read",)),
        default_duration=timedelta(hours=1),
        max_duration=timedelta(hours=2),
        requesters=Principals(groups=("sre",)),
        approval_rules=tuple(
            ApprovalRule(count, Principals(groups=groups)) for count, groups in rules
        ),
        allow_self_approval=self_approval,
        break_glass=BreakGlass(allowed=break_glass),
    )


LEADS = policy((1, ("leads",)))


def review(who: str, state: ReviewState, minute: int = 0, commit: str = HEAD) -> Review:
    return Review(who, state, commit, T0 + timedelta(minutes=minute))


def facts(*reviews: Review, digests: dict[str, str] | None = None, **kw: object) -> ApprovalFacts:
    return ApprovalFacts(
        author=str(kw.get("author", "carol")),
        head_sha=HEAD,
        reviews=reviews,
        committers=frozenset(kw.get("committers", frozenset())),  # type: ignore[arg-type]
        content_digests=digests if digests is not None else {HEAD: DIGEST},
    )


def status(p: Policy, f: ApprovalFacts, requester: str = "carol", **kw: object) -> ApprovalStatus:
    break_glass = bool(kw.pop("break_glass", False))
    result = evaluate_approvals(p, requester, f, GROUPS, **kw)  # type: ignore[arg-type]
    return with_break_glass(result, p, break_glass)


def test_an_eligible_approval_counts() -> None:
    result = status(LEADS, facts(review("bob", ReviewState.APPROVED)))
    assert result.satisfied
    assert result.rules[0].approved_by == ("bob",)


def test_no_reviews_is_not_satisfied() -> None:
    result = status(LEADS, facts())
    assert not result.satisfied
    assert result.rules[0].missing == 1
    assert result.rules[0].eligible == ("alice", "bea", "bob")


def test_an_approval_from_outside_the_group_does_not_count() -> None:
    result = status(LEADS, facts(review("frank", ReviewState.APPROVED)))
    assert not result.satisfied
    assert result.reviews[0].note == "not an eligible approver for this policy"


def test_commented_does_not_count() -> None:
    assert not status(LEADS, facts(review("bob", ReviewState.COMMENTED))).satisfied


def test_commented_after_approval_does_not_override_it() -> None:
    result = status(
        LEADS,
        facts(review("bob", ReviewState.APPROVED, 1), review("bob", ReviewState.COMMENTED, 2)),
    )
    assert result.satisfied


def test_only_the_latest_review_counts() -> None:
    approve_then_block = facts(
        review("bob", ReviewState.APPROVED, 1), review("bob", ReviewState.CHANGES_REQUESTED, 2)
    )
    assert not status(LEADS, approve_then_block).satisfied
    block_then_approve = facts(
        review("bob", ReviewState.CHANGES_REQUESTED, 1), review("bob", ReviewState.APPROVED, 2)
    )
    assert status(LEADS, block_then_approve).satisfied


def test_reviews_are_ordered_by_time_not_by_list_order() -> None:
    shuffled = facts(
        review("bob", ReviewState.APPROVED, 5), review("bob", ReviewState.CHANGES_REQUESTED, 1)
    )
    assert status(LEADS, shuffled).satisfied


def test_changes_requested_by_an_eligible_reviewer_blocks_other_approvals() -> None:
    result = status(
        LEADS,
        facts(
            review("bob", ReviewState.APPROVED, 1), review("bea", ReviewState.CHANGES_REQUESTED, 2)
        ),
    )
    assert not result.satisfied
    assert result.rules[0].blocked_by == ("bea",)
    assert result.rules[0].approved_by == ("bob",)


def test_changes_requested_then_dismissed_no_longer_blocks() -> None:
    result = status(
        LEADS,
        facts(
            review("bob", ReviewState.APPROVED, 1),
            review("bea", ReviewState.CHANGES_REQUESTED, 2),
            review("bea", ReviewState.DISMISSED, 3),
        ),
    )
    assert result.satisfied
    assert result.rules[0].blocked_by == ()


def test_changes_requested_by_someone_not_eligible_does_not_block() -> None:
    result = status(
        LEADS,
        facts(
            review("bob", ReviewState.APPROVED, 1),
            review("frank", ReviewState.CHANGES_REQUESTED, 2),
        ),
    )
    assert result.satisfied


def test_a_dismissed_approval_counts_for_nothing() -> None:
    result = status(
        LEADS,
        facts(review("bob", ReviewState.APPROVED, 1), review("bob", ReviewState.DISMISSED, 2)),
    )
    assert not result.satisfied
    assert result.rules[0].approved_by == ()


def test_approval_survives_a_new_head_with_identical_request_content() -> None:
    digests = {"c-old": DIGEST, HEAD: DIGEST}
    result = status(
        LEADS, facts(review("bob", ReviewState.APPROVED, commit="c-old"), digests=digests)
    )
    assert result.satisfied
    assert result.voided == ()


def test_approval_is_void_when_the_request_content_changed() -> None:
    digests = {"c-old": "digest-0", HEAD: DIGEST}
    result = status(
        LEADS, facts(review("bob", ReviewState.APPROVED, commit="c-old"), digests=digests)
    )
    assert not result.satisfied
    assert result.voided == ("bob",)
    assert "changed" in result.reviews[0].note


def test_approval_of_an_unknown_commit_is_void() -> None:
    result = status(LEADS, facts(review("bob", ReviewState.APPROVED, commit="c-unknown")))
    assert not result.satisfied
    assert result.voided == ("bob",)


def test_author_requester_and_committers_never_count_even_in_the_group() -> None:
    for who, kw in (
        ("bea", {"author": "bea"}),
        ("alice", {}),
        ("bob", {"committers": {"bob"}}),
    ):
        result = status(LEADS, facts(review(who, ReviewState.APPROVED), **kw), requester="alice")
        assert not result.satisfied, who
        assert who in result.rules[0].excluded
        assert who not in result.rules[0].eligible


def test_a_rule_needs_distinct_approvers() -> None:
    two_leads = policy((2, ("leads",)))
    same_twice = facts(
        review("bob", ReviewState.APPROVED, 1), review("bob", ReviewState.APPROVED, 2)
    )
    result = status(two_leads, same_twice)
    assert not result.satisfied
    assert result.rules[0].missing == 1
    both = facts(review("bob", ReviewState.APPROVED, 1), review("bea", ReviewState.APPROVED, 2))
    assert status(two_leads, both).satisfied


def test_every_rule_must_hold() -> None:
    two_rules = policy((1, ("platform",)), (1, ("security",)))
    result = status(two_rules, facts(review("dave", ReviewState.APPROVED)))
    assert not result.satisfied
    assert [r.satisfied for r in result.rules] == [True, False]


def test_one_approval_may_satisfy_several_rules() -> None:
    two_rules = policy((1, ("platform",)), (1, ("security",)))
    result = status(two_rules, facts(review("zed", ReviewState.APPROVED)))
    assert result.satisfied
    assert [r.approved_by for r in result.rules] == [("zed",), ("zed",)]


def test_self_approval_counts_once_when_the_policy_allows_it() -> None:
    lenient = policy((1, ("leads",)), self_approval=True)
    result = status(lenient, facts(author="alice"), requester="alice")
    assert result.satisfied
    assert result.rules[0].self_approved
    strict = policy((1, ("leads",)))
    assert not status(strict, facts(author="alice"), requester="alice").satisfied
    two = policy((2, ("leads",)), self_approval=True)
    needs_one_more = status(two, facts(author="alice"), requester="alice")
    assert not needs_one_more.satisfied
    assert needs_one_more.rules[0].missing == 1


def test_self_approval_does_nothing_for_a_requester_who_is_not_an_approver() -> None:
    lenient = policy((1, ("leads",)), self_approval=True)
    result = status(lenient, facts(), requester="carol")
    assert not result.satisfied
    assert not result.rules[0].self_approved


def test_break_glass_marks_and_satisfies_where_allowed() -> None:
    allowed = policy((1, ("leads",)), break_glass=True)
    result = status(allowed, facts(), break_glass=True)
    assert result.break_glass
    assert result.satisfied
    refused = status(LEADS, facts(), break_glass=True)
    assert not refused.break_glass
    assert not refused.satisfied


def test_teams_resolve_through_the_teams_map_only() -> None:
    team_rule = policy((1, ("org-team",)))
    approved = facts(review("oscar", ReviewState.APPROVED))
    assert not status(team_rule, approved).satisfied
    resolved = status(team_rule, approved, teams={"github-team:acme/oncall": frozenset({"Oscar"})})
    assert resolved.satisfied


def test_login_case_does_not_matter() -> None:
    assert status(LEADS, facts(review("BOB", ReviewState.APPROVED))).satisfied
    assert not status(LEADS, facts(review("Bea", ReviewState.APPROVED), author="bea")).satisfied


def _request(name: str, policy_name: str) -> Loaded:
    content = f"policy: {policy_name}\nrequester: carol\nreason: needs both\n"
    return parse_request(content.encode(), f"requests/{name}.yaml")


def test_two_requests_need_both_policies_approvals() -> None:
    leads = policy((1, ("leads",)), name="needs-leads")
    security = policy((1, ("security",)), name="needs-security")
    policies = {"needs-leads": Loaded(leads, ()), "needs-security": Loaded(security, ())}
    requests = [_request("carol-a", "needs-leads"), _request("carol-b", "needs-security")]

    def decide(*reviews: Review) -> Decision:
        context = Context(now=T0, author="carol", approval_facts=facts(*reviews))
        return evaluate(requests, policies, Loaded(GROUPS, ()), context)

    only_leads = decide(review("bob", ReviewState.APPROVED))
    assert only_leads.allowed
    assert not only_leads.approved
    assert [r.approved for r in only_leads.requests] == [True, False]
    both = decide(review("bob", ReviewState.APPROVED), review("frank", ReviewState.APPROVED))
    assert both.approved
