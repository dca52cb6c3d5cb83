"""Accounts, teams, statuses, comments and branch protection through the gateway."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jitflow.adapters.github import STATUS_DESCRIPTION_LIMIT
from jitflow.errors import GitHubError, UsageError
from tests.github.conftest import OWNER, World, add_request

pytestmark = pytest.mark.slow

PushBranch = Callable[..., tuple[str, str]]


def test_whoami_names_the_token_owner(github_world: World) -> None:
    assert github_world.gateway("carol").whoami() == "carol"


def test_configured_login_is_used_without_asking_github(github_world: World) -> None:
    before = len(github_world.server.requests_log)

    assert github_world.gateway("carol", login="github-actions[bot]").whoami() == (
        "github-actions[bot]"
    )
    assert len(github_world.server.requests_log) == before


def test_ssh_public_keys_are_the_published_ones(github_world: World) -> None:
    gateway = github_world.gateway()

    assert gateway.ssh_public_keys("alice") == ["ssh-ed25519 AAAAC3alice alice@laptop"]
    assert gateway.ssh_public_keys("bob") == []


def test_ssh_keys_of_an_unknown_user_is_a_not_found_error(github_world: World) -> None:
    with pytest.raises(GitHubError, match=r"SSH keys of @nobody-here.*HTTP 404.*does not exist"):
        github_world.gateway().ssh_public_keys("nobody-here")


def test_team_membership_is_true_for_members_and_false_for_others(github_world: World) -> None:
    gateway = github_world.gateway()

    assert gateway.is_team_member(OWNER, "admins", "bob") is True
    assert gateway.is_team_member(OWNER, "admins", "carol") is False


def test_unknown_team_fails_closed_with_an_explanation(github_world: World) -> None:
    with pytest.raises(GitHubError, match=r"team acme/ghosts.*HTTP 404.*Members: read"):
        github_world.gateway().is_team_member(OWNER, "ghosts", "bob")


def test_token_that_cannot_read_teams_fails_closed_naming_the_fix(github_world: World) -> None:
    gateway = github_world.gateway("no-org")

    with pytest.raises(GitHubError) as caught:
        gateway.is_team_member(OWNER, "admins", "bob")

    message = str(caught.value)
    assert "HTTP 403" in message
    assert "Members: read" in message
    assert "JITFLOW_TEAMS_TOKEN" in message


def test_teams_token_is_used_for_team_reads(github_world: World) -> None:
    gateway = github_world.gateway("no-org", teams_token=github_world.tokens["jitflow-bot"])

    assert gateway.is_team_member(OWNER, "admins", "bob") is True
    assert gateway.whoami() == "no-org"  # the main token still acts for everything else


def test_status_is_set_and_read_back_with_description_cut_to_the_limit(
    github_world: World, push_branch: PushBranch
) -> None:
    _, head = push_branch(add_request)
    gateway = github_world.gateway()

    gateway.set_status(head, "jitflow", "pending", "evaluating")
    gateway.set_status(head, "jitflow", "failure", "x" * 200, target_url="https://ci.example/1")

    newest, older = github_world.server.statuses(head)
    assert (newest["context"], newest["state"]) == ("jitflow", "failure")
    assert len(newest["description"]) == STATUS_DESCRIPTION_LIMIT
    assert newest["description"].endswith("…")
    assert newest["target_url"] == "https://ci.example/1"
    assert newest["creator"]["login"] == "jitflow-bot"
    assert (older["state"], older["description"]) == ("pending", "evaluating")


def test_invalid_status_state_is_refused_before_any_request(github_world: World) -> None:
    before = len(github_world.server.requests_log)

    with pytest.raises(UsageError, match="state must be one of"):
        github_world.gateway().set_status("0" * 40, "jitflow", "green", "ok")
    assert len(github_world.server.requests_log) == before


def test_upsert_comment_creates_once_then_edits_in_place(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, _ = push_branch(add_request)
    number = server.create_pull("alice", branch, title="comments")
    gateway = github_world.gateway()

    first = gateway.upsert_comment(number, "evaluation", "2 findings")
    second = gateway.upsert_comment(number, "evaluation", "all clear")

    assert second == first
    comments = server.comments(number)
    assert len(comments) == 1
    assert comments[0]["id"] == first
    assert comments[0]["body"] == "<!-- jitflow:evaluation -->\nall clear"
    assert gateway.find_marked_comments(number, "evaluation") == [
        (first, "jitflow-bot", "<!-- jitflow:evaluation -->\nall clear")
    ]


def test_upsert_comment_ignores_markers_pasted_by_someone_else(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, _ = push_branch(add_request)
    number = server.create_pull("alice", branch, title="forged marker")
    forged = server.add_comment(number, "alice", "<!-- jitflow:evaluation -->\napproved!")
    gateway = github_world.gateway()

    ours = gateway.upsert_comment(number, "evaluation", "3 findings")

    assert ours != forged
    bodies = {c["id"]: c["body"] for c in server.comments(number)}
    assert bodies == {
        forged: "<!-- jitflow:evaluation -->\napproved!",
        ours: "<!-- jitflow:evaluation -->\n3 findings",
    }
    found = gateway.find_marked_comments(number, "evaluation")
    assert [(cid, author) for cid, author, _ in found] == [(forged, "alice"), (ours, "jitflow-bot")]


def test_markers_do_not_match_by_prefix(github_world: World, push_branch: PushBranch) -> None:
    branch, _ = push_branch(add_request)
    number = github_world.server.create_pull("alice", branch, title="two markers")
    gateway = github_world.gateway()

    one = gateway.upsert_comment(number, "eval", "short marker")
    two = gateway.upsert_comment(number, "evaluation", "long marker")

    assert one != two
    assert [c[0] for c in gateway.find_marked_comments(number, "eval")] == [one]


def test_branch_protection_is_none_when_unprotected_and_raw_json_when_set(
    github_world: World,
) -> None:
    server = github_world.server
    gateway = github_world.gateway()
    server.set_branch_protection("main", None)
    assert gateway.branch_protection("main") is None

    server.set_branch_protection(
        "main",
        {
            "required_pull_request_reviews": {"required_approving_review_count": 2},
            "required_status_checks": {"strict": True, "contexts": ["jitflow"]},
            "enforce_admins": True,
            "restrictions": None,
        },
    )
    try:
        protection = gateway.branch_protection("main")
    finally:
        server.set_branch_protection("main", None)

    assert protection is not None
    assert protection["required_pull_request_reviews"]["required_approving_review_count"] == 2
    assert protection["required_status_checks"]["contexts"] == ["jitflow"]
