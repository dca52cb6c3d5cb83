"""The stand-in answers like GitHub: every body it serves in a realistic PyGithub
session validates against GitHub's published OpenAPI response schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from github import GithubException
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.routes import OPERATIONS
from tests.standin_helpers import push_branch
from tests.standin_helpers import pygithub as gh

SUBSET = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "openapi-subset.json"
SPEC = json.loads(SUBSET.read_text())
SCHEMAS = {
    (op["operationId"], int(status)): schema
    for op in SPEC["operations"]
    for status, schema in op["responses"].items()
}
SUCCESS = {op["operationId"]: min(int(s) for s in op["responses"]) for op in SPEC["operations"]}


def validate(operation_id: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError when `body` breaks GitHub's schema."""
    schema = SCHEMAS[(operation_id, status)]
    if schema is None:
        return  # GitHub documents no body here (it still sends its usual error JSON)
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStandIn]:
    """One realistic PR life, driven through PyGithub; yields the stand-in that served it."""
    from tests.standin_helpers import clone, make_bare_repo

    root = tmp_path_factory.mktemp("contract")
    bare = make_bare_repo(
        root, {"README.md": b"# access\n", "old.txt": b"old\n", "policy.yaml": b"a: 1\nb: 2\n"}
    )
    work = clone(bare, root / "work")
    with GitHubStandIn(bare) as standin:
        _scenario(standin, work)
        yield standin


def _scenario(standin: GitHubStandIn, work: Git) -> None:
    standin.add_user("alice", ssh_keys=["ssh-ed25519 AAAAC3Nza alice@laptop"])
    standin.add_user("bob", can_read_org=True)
    standin.add_user("carol")
    standin.add_user("dave", hides_teams=True)
    standin.add_app("acme-bare")
    standin.add_app("acme-teams", {"members": "read"})
    standin.add_team("acme", "approvers", ["bob"])
    files: dict[str, bytes | None] = {f"requests/r{i}.yaml": b"x: %d\n" % i for i in range(5)}
    files["old.txt"] = None
    files["README.md"] = b"# access\nchanged\n"
    push_branch(work, "req/alice", files, "Request access")
    (work.path / "policies").mkdir()
    work.run("mv", "policy.yaml", "policies/db.yaml")
    sha = push_branch(work, "req/alice", {}, "Rename")

    alice, bob, carol = gh(standin, "alice", 2), gh(standin, "bob", 2), gh(standin, "carol")
    repo = alice.get_repo("acme/access")
    pr = repo.create_pull(base="main", head="req/alice", title="Request access", body="why")
    changed = {f.filename: (f.status, f.previous_filename) for f in pr.get_files()}  # 2 per page
    assert len(changed) == 8
    assert changed["policies/db.yaml"] == ("renamed", "policy.yaml")
    assert changed["old.txt"] == ("removed", None)
    assert changed["README.md"] == ("modified", None)
    assert [c.sha for c in pr.get_commits()][-1] == sha
    _, activity = alice.requester.requestJsonAndCheck(
        "GET", "/repos/acme/access/activity", parameters={"ref": "refs/heads/req/alice"}
    )
    assert [(a["actor"]["login"], a["activity_type"], a["after"]) for a in activity] == [
        ("alice", "branch_creation", sha)
    ]
    assert [p.number for p in repo.get_pulls(state="open", base="main")] == [pr.number]
    assert repo.get_pulls(state="closed").totalCount == 0
    work.run("push", "--quiet", "origin", "origin/main:refs/heads/dev")
    pr.edit(base="dev")  # retargeted, and back: two base_ref_changed events
    pr.edit(base="main", title="Request access")
    _, events = alice.requester.requestJsonAndCheck(
        "GET", f"/repos/acme/access/issues/{pr.number}/events"
    )
    assert [(e["event"], e["actor"]["login"]) for e in events] == [
        ("base_ref_changed", "alice")
    ] * 2
    assert repo.get_pull(pr.number).base.ref == "main"

    bob_pr = bob.get_repo("acme/access").get_pull(pr.number)
    carol_pr = carol.get_repo("acme/access").get_pull(pr.number)
    with pytest.raises(GithubException) as own:
        pr.create_review(event="APPROVE")
    assert own.value.status == 422
    rejected = carol_pr.create_review(event="REQUEST_CHANGES", body="why this scope?")
    carol_pr.create_review(event="COMMENT", body="fine now")
    bob_pr.create_review(event="APPROVE", body="ok")
    bob_pr.get_review(rejected.id).dismiss("answered in thread")
    with pytest.raises(GithubException):
        bob_pr.get_review(rejected.id).dismiss("twice")
    assert {r.state for r in pr.get_reviews()} == {"DISMISSED", "COMMENTED", "APPROVED"}

    comment = pr.create_issue_comment("jitflow check: pending")
    comment.edit("jitflow check: passed")
    assert pr.get_issue_comment(comment.id).body == "jitflow check: passed"
    # anyone with write access may edit anyone's comment (GitHub: "Managing disruptive
    # comments"), so a comment's author vouches for nothing in it
    carol_pr.get_issue_comment(comment.id).edit("jitflow check: edited by carol")
    comment.edit("jitflow check: passed")
    assert [c.body for c in pr.get_issue_comments()] == ["jitflow check: passed"]

    commit = repo.get_commit(sha)
    commit.create_status("pending", context="jitflow", description="checking")
    commit.create_status("success", context="jitflow", description="allowed")
    assert commit.get_combined_status().state == "success"
    assert [s.state for s in commit.get_statuses()] == ["success", "pending"]
    with pytest.raises(GithubException):
        commit.create_status("bogus")

    assert [k.key for k in alice.get_user("alice").get_keys()] == [
        "ssh-ed25519 AAAAC3Nza alice@laptop"
    ]
    assert alice.get_user().login == "alice"
    team = bob.get_organization("acme").get_team_by_slug("approvers")
    assert team.get_team_membership("bob").state == "active"
    with pytest.raises(GithubException) as absent:
        team.get_team_membership("carol")
    assert absent.value.status == 404
    with pytest.raises(GithubException) as forbidden:
        alice.get_organization("acme").get_team_by_slug("approvers").get_team_membership("bob")
    assert forbidden.value.status == 403  # an integration token without Members: read
    assert forbidden.value.data["message"] == "Resource not accessible by integration"
    with pytest.raises(GithubException) as hidden:  # a person's token without read:org
        gh(standin, "dave").get_organization("acme").get_team_by_slug("approvers")
    assert hidden.value.status == 404
    with pytest.raises(GithubException) as app_denied:  # an App installed without `members`
        gh(standin, "acme-bare[bot]").get_organization("acme").get_team_by_slug("approvers")
    assert app_denied.value.status == 403
    teams_app = gh(standin, "acme-teams[bot]").get_organization("acme")
    assert teams_app.get_team_by_slug("approvers").get_team_membership("bob").state == "active"
    standin.set_actions_variable("JITFLOW_TEAMS_APP_ID", "654321")
    standin.set_actions_secret("JITFLOW_TEAMS_APP_PRIVATE_KEY")
    assert repo.get_variable("JITFLOW_TEAMS_APP_ID").value == "654321"
    assert repo.get_secret("JITFLOW_TEAMS_APP_PRIVATE_KEY").name == "JITFLOW_TEAMS_APP_PRIVATE_KEY"
    with pytest.raises(GithubException) as no_variable:
        repo.get_variable("JITFLOW_NOPE")
    assert no_variable.value.status == 404
    with pytest.raises(GithubException):
        alice.get_user("nobody")
    # carol renames her account and a newcomer registers "carol": carol's reviews show her new
    # login with her id, the newcomer gets another id, and GET /user/{id} follows the account
    carol_id = carol.get_user().id
    standin.rename_user("carol", "carol-new")
    standin.add_user("carol")
    reviewers = {(r.user.login, r.user.id) for r in pr.get_reviews() if r.state != "APPROVED"}
    assert reviewers == {("carol-new", carol_id)}
    assert alice.get_user("carol").id != carol_id
    assert alice.get_user_by_id(carol_id).login == "carol-new"

    branch = repo.get_branch("main")
    with pytest.raises(GithubException) as unprotected:
        branch.get_protection()
    assert unprotected.value.data["message"] == "Branch not protected"
    standin.set_branch_protection(
        "main",
        {
            "required_pull_request_reviews": {"required_approving_review_count": 2},
            "required_status_checks": {"strict": False, "contexts": ["jitflow"]},
            "enforce_admins": True,
            "restrictions": None,
        },
    )
    assert repo.get_branch("main").get_protection().enforce_admins is True
    ruleset_id = standin.add_ruleset(
        "main gate",
        [
            {"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
            {
                "type": "required_status_checks",
                "parameters": {"required_status_checks": [{"context": "jitflow/policy"}]},
            },
            {"type": "non_fast_forward"},
        ],
        bypass_actors=[{"actor_id": 5, "actor_type": "RepositoryRole"}],
    )
    requester = bob.requester
    _, rules = requester.requestJsonAndCheck("GET", "/repos/acme/access/rules/branches/main")
    assert {(r["type"], r["ruleset_id"]) for r in rules} == {
        ("pull_request", ruleset_id),
        ("required_status_checks", ruleset_id),
        ("non_fast_forward", ruleset_id),
    }
    _, other = requester.requestJsonAndCheck("GET", "/repos/acme/access/rules/branches/dev")
    assert other == []
    _, ruleset = requester.requestJsonAndCheck("GET", f"/repos/acme/access/rulesets/{ruleset_id}")
    assert ruleset["bypass_actors"][0]["actor_type"] == "RepositoryRole"
    with pytest.raises(GithubException) as no_ruleset:
        requester.requestJsonAndCheck("GET", "/repos/acme/access/rulesets/999999")
    assert no_ruleset.value.status == 404
    # set through the REST API, as the README tells admins to (gh api ...)
    _, created = requester.requestJsonAndCheck(
        "POST",
        "/repos/acme/access/rulesets",
        input={
            "name": "ledger writer",
            "target": "branch",
            "enforcement": "evaluate",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "bypass_actors": [
                {"actor_id": 77, "actor_type": "Integration", "bypass_mode": "always"}
            ],
            "rules": [{"type": "deletion"}],
        },
    )
    assert created["bypass_actors"][0]["actor_type"] == "Integration"
    with pytest.raises(GithubException) as unnamed:
        requester.requestJsonAndCheck("POST", "/repos/acme/access/rulesets", input={"rules": []})
    assert unnamed.value.status == 422
    _, protected = requester.requestJsonAndCheck(
        "PUT",
        "/repos/acme/access/branches/main/protection",
        input={
            "required_status_checks": {"strict": False, "contexts": ["jitflow"]},
            "enforce_admins": True,
            "required_pull_request_reviews": {"required_approving_review_count": 2},
            "restrictions": None,
        },
    )
    assert protected["enforce_admins"]["enabled"] is True
    with pytest.raises(GithubException) as blocked:
        bob_pr.merge(merge_method="merge")
    assert blocked.value.status == 405
    standin.set_branch_protection("main", {"required_status_checks": {"contexts": ["jitflow"]}})
    assert not pr.is_merged()
    assert pr.update_branch() is False  # "Update branch" (422): nothing new on main yet
    push_branch(work, "hotfix", {"HOTFIX.md": b"hotfix\n"}, "Hotfix")
    work.run("push", "--quiet", "origin", "hotfix:main")
    assert pr.update_branch(expected_head_sha=sha)
    sha = repo.get_pull(pr.number).head.sha  # the merge of main into the PR, by alice
    assert repo.get_commit(sha).raw_data["commit"]["verification"]["reason"] == "valid"
    standin.create_status(sha, "bob", "success", "jitflow")
    with pytest.raises(GithubException) as stale:
        bob_pr.merge(sha="0" * 40)
    assert stale.value.status == 409
    with pytest.raises(GithubException) as ruled:  # the ruleset on main applies at merge too
        bob_pr.merge(merge_method="merge", sha=sha)
    assert ruled.value.data["message"] == 'Required status check "jitflow/policy" is expected.'
    standin.create_status(sha, "bob", "success", "jitflow/policy")
    merged = bob_pr.merge(merge_method="merge", sha=sha)
    assert merged.merged and pr.is_merged()
    assert [p.number for p in repo.get_commit(merged.sha).get_pulls()] == [pr.number]
    assert repo.get_pull(pr.number).merged_by.login == "bob"


def test_session_really_merged_in_git(session: GitHubStandIn) -> None:
    git = Git(session.bare_repo)
    main = git.rev_parse("main")
    parents = git.run("rev-list", "--parents", "-n", "1", main).split()[1:]
    assert len(parents) == 2
    assert git.show_bytes(main, "policies/db.yaml") == b"a: 1\nb: 2\n"
    assert git.show_bytes(main, "old.txt") is None


@pytest.fixture(scope="module")
def served(session: GitHubStandIn) -> list[tuple[str, int, Any]]:
    return session.served


def test_every_served_body_matches_githubs_schema(served: list[tuple[str, int, Any]]) -> None:
    checked = 0
    for operation_id, status, body in served:
        if (operation_id, status) not in SCHEMAS:
            continue  # e.g. 401s, which GitHub does not document per operation
        validate(operation_id, status, body)
        checked += 1
    assert checked >= len(OPERATIONS)


def test_team_reads_refused_for_want_of_members_read_answer_githubs_error_bodies(
    served: list[tuple[str, int, Any]],
) -> None:
    """GitHub documents no 403 for team reads, but sends one (to integration tokens without
    Members: read) in its basic-error shape; a person's token is told 404 instead."""
    team_ops = ("teams/get-by-name", "teams/get-membership-for-user-in-org")
    refused = [(op, status, body) for op, status, body in served if op in team_ops]
    assert {status for _, status, _ in refused} >= {200, 403, 404}
    basic_error = SCHEMAS[("teams/get-by-name", 404)]
    for _, status, body in refused:
        if status in (403, 404):
            OAS30Validator(basic_error, format_checker=oas30_format_checker).validate(body)
            assert body["message"] in ("Resource not accessible by integration", "Not Found")
            assert body["documentation_url"].startswith("https://docs.github.com/")


def test_every_operation_in_the_subset_was_exercised(served: list[tuple[str, int, Any]]) -> None:
    seen = {(op, status) for op, status, _ in served}
    missing = [op for op, status in SUCCESS.items() if (op, status) not in seen]
    assert missing == []
    assert {op.operation_id for op in OPERATIONS} == set(SUCCESS)


def _first(served: list[tuple[str, int, Any]], operation_id: str) -> Any:
    return next(copy.deepcopy(b) for op, s, b in served if op == operation_id and s == SUCCESS[op])


@pytest.mark.parametrize(
    ("operation_id", "mutate"),
    [
        ("pulls/get", lambda b: b.pop("head")),
        ("pulls/get", lambda b: b.update(number="1")),
        ("pulls/list-files", lambda b: b[0].update(status="deleted")),
        ("pulls/list-reviews", lambda b: b[0].pop("commit_id")),
        ("repos/get-commit", lambda b: b["commit"]["author"].update(date="yesterday")),
        ("issues/create-comment", lambda b: b.update(html_url="not a uri")),
        ("repos/get-branch-rules", lambda b: b[0].update(type="no_such_rule")),
        ("repos/get-repo-ruleset", lambda b: b.update(enforcement="sometimes")),
    ],
)
def test_validator_catches_drift(
    served: list[tuple[str, int, Any]], operation_id: str, mutate: Any
) -> None:
    body = _first(served, operation_id)
    validate(operation_id, SUCCESS[operation_id], body)
    mutate(body)
    with pytest.raises(jsonschema.ValidationError):
        validate(operation_id, SUCCESS[operation_id], body)


def test_subset_records_its_provenance() -> None:
    assert SPEC["package_version"] and SPEC["spec_version"]
    assert SPEC["openapi"].startswith("3.0")
