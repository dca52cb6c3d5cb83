"""The stand-in behaves like GitHub where jitflow depends on it."""

from __future__ import annotations

import pytest
import requests
from github import BadCredentialsException, GithubException, GithubRetry

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn, StandInError
from tests.standin_helpers import push_branch, pygithub


@pytest.fixture
def standin(github_standin: GitHubStandIn) -> GitHubStandIn:
    github_standin.add_user("alice")
    github_standin.add_user("bob")
    return github_standin


def test_pr_head_follows_pushes_and_records_synchronize(
    standin: GitHubStandIn, work_clone: Git
) -> None:
    first = push_branch(work_clone, "req/a", {"requests/a.yaml": b"a\n"})
    number = standin.create_pull("alice", "req/a")
    review = standin.submit_review(number, "bob", "APPROVE")
    second = push_branch(work_clone, "req/a", {"requests/a.yaml": b"b\n"})
    assert standin.pull(number)["head"]["sha"] == second
    assert standin.pull(number)["commits"] == 2
    events = [(e.event, e.data.get("before")) for e in standin.pull_timeline(number)]
    assert events == [("opened", None), ("reviewed", None), ("synchronize", first)]
    reviews = pygithub(standin, "alice").get_repo("acme/access").get_pull(number).get_reviews()
    assert [(r.id, r.commit_id) for r in reviews] == [(review, first)]


def test_unknown_token_is_bad_credentials(standin: GitHubStandIn) -> None:
    response = requests.get(
        f"{standin.api_url}/user", headers={"Authorization": "token nope"}, timeout=10
    )
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
    assert "documentation_url" in response.json()
    from github import Auth, Github

    with pytest.raises(BadCredentialsException):
        _ = Github(base_url=standin.api_url, auth=Auth.Token("nope"), retry=None).get_user().login


def test_injected_faults_are_retried_by_pygithub(standin: GitHubStandIn) -> None:
    standin.fail_next("GET", r"^/repos/acme/access$", 502, times=2)
    retry = GithubRetry(total=3, backoff_factor=0)
    repo = pygithub(standin, "alice", retry=retry).get_repo("acme/access")
    assert repo.full_name == "acme/access"
    statuses = [s for m, p, s in standin.requests_log if p == "/repos/acme/access"]
    assert statuses == [502, 502, 200]


def test_rate_limit_fault_carries_githubs_headers(standin: GitHubStandIn) -> None:
    headers = {"x-ratelimit-remaining": "0", "retry-after": "0"}
    standin.fail_next("GET", "/user$", 403, headers=headers)
    response = requests.get(
        f"{standin.api_url}/user",
        headers={"Authorization": f"token {standin.token_for('alice')}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert "rate limit" in response.json()["message"]
    again = requests.get(
        f"{standin.api_url}/user",
        headers={"Authorization": f"token {standin.token_for('alice')}"},
        timeout=10,
    )
    assert again.status_code == 200


def test_pagination_link_header(standin: GitHubStandIn, work_clone: Git) -> None:
    push_branch(work_clone, "req/many", {f"r/{i}.yaml": b"x\n" for i in range(5)})
    number = standin.create_pull("alice", "req/many")
    url = f"{standin.api_url}/repos/acme/access/pulls/{number}/files?per_page=2&page=2"
    auth = {"Authorization": f"token {standin.token_for('bob')}"}
    response = requests.get(url, headers=auth, timeout=10)
    assert [f["filename"] for f in response.json()] == ["r/2.yaml", "r/3.yaml"]
    link = response.headers["Link"]
    assert 'page=3>; rel="next"' in link and 'page=3>; rel="last"' in link
    assert 'page=1>; rel="prev"' in link


def test_squash_merge_has_one_parent_and_real_content(
    standin: GitHubStandIn, work_clone: Git
) -> None:
    push_branch(work_clone, "req/a", {"requests/a.yaml": b"a\n"}, "one")
    push_branch(work_clone, "req/a", {"requests/b.yaml": b"b\n"}, "two")
    number = standin.create_pull("alice", "req/a", title="Two files")
    sha = standin.merge_pull(number, "bob", method="squash")
    git = Git(standin.bare_repo)
    assert git.rev_parse("main") == sha
    assert len(git.run("rev-list", "--parents", "-n", "1", sha).split()) == 2
    assert git.run("log", "-1", "--format=%s%n%an", sha) == f"Two files (#{number})\nbob"
    assert git.show_bytes(sha, "requests/b.yaml") == b"b\n"
    assert standin.pull(number)["merged"] is True
    with pytest.raises(StandInError) as twice:
        standin.merge_pull(number, "bob")
    assert twice.value.status == 405


def test_conflicting_pr_is_not_mergeable(standin: GitHubStandIn, work_clone: Git) -> None:
    push_branch(work_clone, "req/a", {"README.md": b"one\n"})
    push_branch(work_clone, "req/b", {"README.md": b"two\n"})
    first = standin.create_pull("alice", "req/a")
    second = standin.create_pull("alice", "req/b")
    standin.merge_pull(first, "bob")
    assert standin.pull(second)["mergeable"] is False
    with pytest.raises(StandInError) as conflict:
        standin.merge_pull(second, "bob")
    assert conflict.value.status == 405


def test_protection_requires_fresh_approval(standin: GitHubStandIn, work_clone: Git) -> None:
    standin.set_branch_protection(
        "main",
        {"required_pull_request_reviews": {"dismiss_stale_reviews": True}},
    )
    push_branch(work_clone, "req/a", {"requests/a.yaml": b"a\n"})
    number = standin.create_pull("alice", "req/a")
    standin.submit_review(number, "bob", "APPROVE")
    push_branch(work_clone, "req/a", {"requests/a.yaml": b"widened\n"})
    with pytest.raises(StandInError, match="approving review"):
        standin.merge_pull(number, "bob")
    standin.submit_review(number, "bob", "APPROVE")
    standin.merge_pull(number, "bob")


def test_self_approval_is_refused(standin: GitHubStandIn, work_clone: Git) -> None:
    push_branch(work_clone, "req/a", {"requests/a.yaml": b"a\n"})
    number = standin.create_pull("alice", "req/a")
    pr = pygithub(standin, "alice").get_repo("acme/access").get_pull(number)
    with pytest.raises(GithubException) as refused:
        pr.create_review(event="APPROVE")
    assert refused.value.status == 422
    assert "Can not approve your own pull request" in str(refused.value.data)


def test_tokens_never_appear_in_repr(standin: GitHubStandIn) -> None:
    assert standin.token_for("alice") not in repr(standin)


def test_a_rename_keeps_the_account_and_frees_the_login(
    standin: GitHubStandIn, work_clone: Git
) -> None:
    """As GitHub: bob's commits signed with his `ID+login` noreply address stay his under
    his new login; the old-style `login@` address goes to whoever holds the login now."""
    bob = pygithub(standin, "bob").get_user()
    work_clone.run("config", "user.email", f"{bob.id}+bob@users.noreply.github.com")
    sha = push_branch(work_clone, "req/b", {"b.txt": b"b\n"})
    standin.rename_user("bob", "bob-at-acme")
    standin.add_user("bob")
    with pytest.raises(StandInError):
        standin.rename_user("alice", "Bob")  # logins are unique whatever their case
    repo = pygithub(standin, "alice").get_repo("acme/access")
    assert repo.get_commit(sha).author.login == "bob-at-acme"
    newcomer = pygithub(standin, "alice").get_user("bob")
    assert newcomer.id != bob.id and newcomer.id >= 100_000_000
