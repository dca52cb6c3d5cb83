"""Reading PRs, their files, reviews and commits, and finding PRs by commit."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from jitflow.core.model import ChangedFile, ChangeStatus, ReviewState
from tests.github.conftest import World, add_request

pytestmark = pytest.mark.slow

PushBranch = Callable[..., tuple[str, str]]


def _mixed_changes(work: Path) -> None:
    requests = work / "requests"
    (requests / "edit.yaml").write_text("id: edit.yaml\nreason: changed reason text\n")
    (requests / "gone.yaml").unlink()
    (requests / "old-name.yaml").rename(requests / "new-name.yaml")
    (requests / "added.yaml").write_text("id: added\n")


def test_pull_request_lists_renames_with_previous_path_edits_deletions_and_additions(
    github_world: World, push_branch: PushBranch
) -> None:
    branch, head = push_branch(_mixed_changes)
    number = github_world.server.create_pull("alice", branch, title="mixed")

    facts = github_world.gateway().pull_request(number)

    assert set(facts.files) == {
        ChangedFile("requests/edit.yaml", ChangeStatus.MODIFIED),
        ChangedFile("requests/gone.yaml", ChangeStatus.DELETED),
        ChangedFile(
            "requests/new-name.yaml", ChangeStatus.RENAMED, previous_path="requests/old-name.yaml"
        ),
        ChangedFile("requests/added.yaml", ChangeStatus.ADDED),
    }
    assert (facts.number, facts.author, facts.title) == (number, "alice", "mixed")
    assert (facts.state, facts.draft, facts.merged) == ("open", False, False)
    assert (facts.head_ref, facts.head_sha, facts.base_ref) == (branch, head, "main")
    assert facts.base_sha == github_world.clone.rev_parse("origin/main")


def test_reviews_are_read_from_every_page(github_world: World, push_branch: PushBranch) -> None:
    server = github_world.server
    branch, head = push_branch(add_request)
    number = server.create_pull("alice", branch, title="reviews")
    verdicts = [
        ("bob", "COMMENT"),
        ("carol", "REQUEST_CHANGES"),
        ("bob", "APPROVE"),
        ("carol", "APPROVE"),
        ("jitflow-bot", "COMMENT"),
    ]
    for reviewer, state in verdicts:
        server.submit_review(number, reviewer, state)

    facts = github_world.gateway(per_page=2).pull_request(number)

    assert [(r.reviewer, r.state) for r in facts.reviews] == [
        ("bob", ReviewState.COMMENTED),
        ("carol", ReviewState.CHANGES_REQUESTED),
        ("bob", ReviewState.APPROVED),
        ("carol", ReviewState.APPROVED),
        ("jitflow-bot", ReviewState.COMMENTED),
    ]
    assert {r.commit_sha for r in facts.reviews} == {head}
    assert all(r.submitted_at.tzinfo is not None for r in facts.reviews)
    review_pages = [
        path
        for method, path, status in server.requests_log
        if method == "GET" and re.search(rf"/pulls/{number}/reviews\b", path) and status == 200
    ]
    assert len(review_pages) == 3  # 5 reviews, 2 per page


def test_dismissed_review_is_reported_as_dismissed(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, _ = push_branch(add_request)
    number = server.create_pull("alice", branch, title="dismissed")
    review_id = server.submit_review(number, "bob", "APPROVE")
    server.dismiss_review(number, review_id, message="stale")

    facts = github_world.gateway().pull_request(number)

    assert [(r.reviewer, r.state) for r in facts.reviews] == [("bob", ReviewState.DISMISSED)]


def test_commits_carry_author_and_committer_logins(
    github_world: World, push_branch: PushBranch
) -> None:
    branch, head = push_branch(add_request, author="alice", committer="carol")
    number = github_world.server.create_pull("alice", branch, title="logins")

    facts = github_world.gateway().pull_request(number)

    assert [(c.sha, c.author_login, c.committer_login) for c in facts.commits] == [
        (head, "alice", "carol")
    ]


def test_commit_by_unknown_person_has_no_login(
    github_world: World, push_branch: PushBranch
) -> None:
    branch, head = push_branch(add_request, author="stranger", committer="stranger")
    number = github_world.server.create_pull("alice", branch, title="stranger")

    facts = github_world.gateway().pull_request(number)

    assert [(c.sha, c.author_login, c.committer_login) for c in facts.commits] == [
        (head, None, None)
    ]


def test_merged_pull_is_found_by_its_merge_commit_and_reports_the_merge(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, _ = push_branch(add_request)
    number = server.create_pull("alice", branch, title="to merge")
    gateway = github_world.gateway()
    assert gateway.pulls_for_commit(gateway.pull_request(number).head_sha) == []  # not merged

    merge_sha = server.merge_pull(number, "bob")

    assert gateway.pulls_for_commit(merge_sha) == [number]
    facts = gateway.pull_request(number)
    assert (facts.merged, facts.merged_by, facts.merge_commit_sha) == (True, "bob", merge_sha)
    assert facts.merged_at is not None


def test_open_pulls_are_found_by_head_sha(github_world: World, push_branch: PushBranch) -> None:
    server = github_world.server
    branch, head = push_branch(add_request)
    number = server.create_pull("alice", branch, title="queue")
    other_branch, _ = push_branch(add_request)
    server.create_pull("alice", other_branch, title="another")

    gateway = github_world.gateway(per_page=1)

    assert gateway.open_pulls_with_head_sha(head) == [number]
    assert gateway.open_pulls_with_head_sha("0" * 40) == []


def test_create_pull_opens_one_and_reuses_it_when_asked_again(
    github_world: World, push_branch: PushBranch
) -> None:
    branch, head = push_branch(add_request)
    gateway = github_world.gateway()

    number = gateway.create_pull(branch, "main", "grant expired", "revoked by jitflow")
    again = gateway.create_pull(branch, "main", "grant expired", "revoked by jitflow")

    assert again == number
    pull = github_world.server.pull(number)
    assert (pull["title"], pull["head"]["sha"], pull["user"]["login"]) == (
        "grant expired",
        head,
        "jitflow-bot",
    )
