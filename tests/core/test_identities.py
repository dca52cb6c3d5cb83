"""A login named in policies/ counts only as the GitHub account groups.yaml pins for it
(core.identities): renamed-away logins registered by someone else, unpinned logins, logins
GitHub reported without an id. Pure, no server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jitflow.core.approvals import ApprovalFacts, evaluate_approvals
from jitflow.core.identities import account_problem, unproven
from jitflow.core.loading import parse_groups
from jitflow.core.model import ReviewState
from tests.core.test_approvals import DIGEST, HEAD, LEADS, facts, policy, review
from tests.core.test_approvals import GROUPS as UNPINNED

A = ReviewState.APPROVED
PINNED = replace(UNPINNED, github_ids={"alice": 1, "bob": 2, "carol": 3, "bea": 4})


def _with_accounts(f: ApprovalFacts, **accounts: int | None) -> ApprovalFacts:
    return replace(f, accounts=accounts)


def test_the_pinned_account_counts_and_another_holding_its_login_does_not() -> None:
    bob = facts(review("bob", A))
    assert evaluate_approvals(LEADS, "carol", _with_accounts(bob, bob=2), PINNED).satisfied
    status = evaluate_approvals(LEADS, "carol", _with_accounts(bob, bob=77), PINNED)
    assert not status.satisfied
    [outcome] = status.reviews
    assert not outcome.counted and "@bob is now GitHub account 77, not account 2" in outcome.note


def test_an_unpinned_login_or_one_reported_without_an_id_counts_for_nothing() -> None:
    bob = facts(review("bob", A))
    status = evaluate_approvals(LEADS, "carol", _with_accounts(bob, bob=2), UNPINNED)
    assert not status.satisfied
    assert "jitflow policy pin" in status.reviews[0].note
    assert not evaluate_approvals(LEADS, "carol", _with_accounts(bob, bob=None), PINNED).satisfied


def test_facts_not_from_github_judge_no_account() -> None:
    """The offline check and policy tests have no accounts: nothing to compare."""
    assert evaluate_approvals(LEADS, "carol", facts(review("bob", A)), UNPINNED).satisfied


def test_self_approval_counts_only_for_the_pinned_account() -> None:
    mine = policy((1, ("leads",)), self_approval=True)
    own = ApprovalFacts("alice", HEAD, (), content_digests={HEAD: DIGEST})
    assert evaluate_approvals(mine, "alice", _with_accounts(own, alice=1), PINNED).satisfied
    assert not evaluate_approvals(mine, "alice", _with_accounts(own, alice=9), PINNED).satisfied


def test_account_problem_messages() -> None:
    assert account_problem("Bob", 2, PINNED) is None  # logins are case-insensitive
    assert unproven({"bob", "bea"}, {"bob": 2, "bea": 5}, PINNED).keys() == {"bea"}
    assert unproven({"bob"}, None, UNPINNED) == {}


def test_groups_file_pins_logins_case_insensitively() -> None:
    loaded = parse_groups(b"sre: [Alice]\ngithub_ids:\n  Alice: 583231\n")
    assert loaded.value.github_ids == {"alice": 583231}
    assert loaded.value.members == {"sre": ("Alice",)}


@pytest.mark.parametrize(
    ("pins", "where", "says"),
    [
        ("  Bob: 1\n  bob: 2\n", (4, 3), "pins 'Bob' and 'bob', the same GitHub login"),
        ("  bob: 1.0\n", (3, 3), "github_ids.bob must be a whole number (a GitHub account id)"),
        ("  bob: '12'\n", (3, 8), "github_ids.bob must be a whole number, got a string '12'"),
        ("  bob: 0\n", (3, 8), "github_ids.bob: 0 is less than the minimum of 1"),
        ("  b_b: 3\n", (3, 3), "key 'b_b' in github_ids is not allowed; expected a GitHub login"),
    ],
)
def test_a_bad_pin_is_located_and_explained(pins: str, where: tuple[int, int], says: str) -> None:
    loaded = parse_groups(f"sre: [bob]\ngithub_ids:\n{pins}".encode())
    [finding] = loaded.findings
    assert loaded.value is None and (finding.line, finding.column) == where
    assert says in finding.message and finding.path == "policies/groups.yaml"
