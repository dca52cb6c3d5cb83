"""GitHub's "require approval of the most recent reviewable push", enforced at merge by the
stand-in (branch protection and rulesets), through PyGithub and pushes over HTTP.

The README asks for it on main (`doctor` checks `github.last-push-approval`): without it an
approver who pushes to a request PR could approve their own change.
"""

from __future__ import annotations

from typing import Any

import pytest
from github import GithubException

from jitflow.adapters.git import Git
from tests.github.http_repo import Repo
from tests.standin_helpers import write_files

REFUSAL = "New changes require approval from someone other than the last pusher."


def _push(git: Git, branch: str, name: str, content: bytes) -> str:
    if not git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"):
        git.run("fetch", "--quiet", "origin")
        git.run("checkout", "--quiet", "-B", branch, f"origin/{branch}")
    write_files(git.path, {name: content})
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", f"change {name}")
    git.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    return git.rev_parse("HEAD")


def _open_request(repo: Repo) -> int:
    alice = repo.clone_as("alice")
    alice.run("checkout", "--quiet", "-b", "req/a")
    write_files(alice.path, {"requests/a.yaml": b"duration: 30m\n"})
    alice.run("add", "--all")
    alice.run("commit", "--quiet", "-m", "request a")
    alice.run("push", "--quiet", "origin", "req/a")
    return repo.standin.create_pull("alice", "req/a")


def _refused(pr: Any) -> str:
    with pytest.raises(GithubException) as refused:
        pr.merge()
    assert refused.value.status == 405
    return str(refused.value.data.get("message"))


PROTECTION = {
    "required_pull_request_reviews": {
        "required_approving_review_count": 1,
        "require_last_push_approval": True,
    },
    "required_status_checks": None,
    "enforce_admins": True,
    "restrictions": None,
}


def test_protection_refuses_a_merge_approved_only_by_the_last_pusher(repo: Repo) -> None:
    repo.standin.set_branch_protection("main", PROTECTION)
    number = _open_request(repo)
    repo.pr("bob", number).create_review(event="APPROVE")
    # bob pushes to alice's PR (over HTTP, so GitHub knows it is bob) and approves again
    head = _push(repo.clone_as("bob"), "req/a", "requests/a.yaml", b"duration: 8h\n")
    assert repo.pr("bob", number).head.sha == head
    repo.pr("bob", number).create_review(event="APPROVE")
    assert _refused(repo.pr("bob", number)) == REFUSAL
    # someone other than the last pusher approves the pushed head: now it merges
    repo.pr("carol", number).create_review(event="APPROVE")
    assert repo.pr("bob", number).merge().merged


def test_a_ruleset_refuses_an_approval_given_before_the_last_push(repo: Repo) -> None:
    rule = {
        "type": "pull_request",
        "parameters": {"required_approving_review_count": 1, "require_last_push_approval": True},
    }
    repo.standin.add_ruleset("main", [rule])
    number = _open_request(repo)
    repo.pr("bob", number).create_review(event="APPROVE")
    # the author pushes again; stale approvals are not dismissed, so the count still holds
    _push(repo.clone_as("alice"), "req/a", "requests/a.yaml", b"duration: 2h\n")
    assert _refused(repo.pr("carol", number)) == REFUSAL
    repo.pr("bob", number).create_review(event="APPROVE")
    assert repo.pr("carol", number).merge().merged


def test_a_change_request_after_the_approval_voids_it(repo: Repo) -> None:
    rule = {
        "type": "pull_request",
        "parameters": {"required_approving_review_count": 0, "require_last_push_approval": True},
    }
    repo.standin.add_ruleset("main", [rule])
    number = _open_request(repo)
    repo.pr("bob", number).create_review(event="APPROVE")
    repo.pr("bob", number).create_review(event="REQUEST_CHANGES", body="too long")
    assert _refused(repo.pr("carol", number)) == REFUSAL


def test_without_the_setting_the_last_pushers_approval_is_enough(repo: Repo) -> None:
    """The control: it is the setting that refuses, so doctor must check it."""
    reviews = {"required_approving_review_count": 1}
    repo.standin.set_branch_protection(
        "main", {**PROTECTION, "required_pull_request_reviews": reviews}
    )
    number = _open_request(repo)
    _push(repo.clone_as("bob"), "req/a", "requests/a.yaml", b"duration: 8h\n")
    repo.pr("bob", number).create_review(event="APPROVE")
    assert repo.pr("bob", number).merge().merged


def test_the_merge_queue_enforces_it_too(repo: Repo) -> None:
    repo.standin.set_branch_protection("main", PROTECTION)
    number = _open_request(repo)
    _push(repo.clone_as("bob"), "req/a", "requests/a.yaml", b"duration: 8h\n")
    repo.pr("bob", number).create_review(event="APPROVE")
    from jitflow.sandbox.github_standin import StandInError

    with pytest.raises(StandInError, match="someone other than the last pusher"):
        repo.standin.merge_queue([number], "bob")
