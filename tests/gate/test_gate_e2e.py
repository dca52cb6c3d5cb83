"""End-to-end: request PRs on the GitHub stand-in, judged by `check --event` through PyGithub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.errors import ExitCode
from jitflow.sandbox.github_standin.standin import StandInError
from tests.gate.scenario import Scenario, request_yaml

REQ = "requests/alice-orders-1.yaml"


def statuses(s: Scenario, sha: str) -> tuple[str, str]:
    return s.status(sha, "jitflow/policy")["state"], s.status(sha, "jitflow/approval")["state"]


def test_happy_path_pending_then_approved_with_one_comment(scenario: Scenario) -> None:
    head = scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    result = scenario.run_check(number)
    assert result.exit_code is ExitCode.OK
    assert statuses(scenario, head) == ("success", "pending")
    assert "sre-leads" in scenario.status(head, "jitflow/approval")["description"]
    comment = scenario.comment(number)
    assert "@alice" in comment and "orders-db-write" in comment and "INC-4211" in comment
    assert "@bob" in comment  # who may still approve

    scenario.standin.submit_review(number, "bob", "APPROVE")
    result = scenario.run_check(number, "pull_request_review", actor="bob")
    assert result.exit_code is ExitCode.OK
    assert statuses(scenario, head) == ("success", "success")
    assert "✅" in scenario.comment(number)  # the same single comment, edited in place


def test_approval_is_void_after_the_request_file_changes(scenario: Scenario) -> None:
    scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    scenario.standin.submit_review(number, "bob", "APPROVE")
    head = scenario.commit("req", {REQ: request_yaml(duration="2h")}, new=False)
    scenario.run_check(number)
    assert statuses(scenario, head) == ("success", "pending")
    assert "voided" in scenario.comment(number)


def test_approval_survives_a_rebase_that_leaves_the_file_unchanged(scenario: Scenario) -> None:
    first = scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    scenario.standin.submit_review(number, "bob", "APPROVE", commit_sha=first)
    # main moves on; the branch is rebased onto it with the request file byte-identical
    work = scenario.work
    work.run("checkout", "--quiet", "-B", "other", "origin/main")
    (work.path / "NOTES.md").write_text("unrelated\n")
    work.run("add", "NOTES.md")
    work.run(
        "commit",
        "--quiet",
        "-m",
        "unrelated",
        env={
            "GIT_AUTHOR_NAME": "dave",
            "GIT_AUTHOR_EMAIL": "d@x",
            "GIT_COMMITTER_NAME": "dave",
            "GIT_COMMITTER_EMAIL": "d@x",
        },
    )
    work.run("push", "--quiet", "origin", "other:main")
    work.run("checkout", "--quiet", "req")
    alice = {"GIT_COMMITTER_NAME": "alice", "GIT_COMMITTER_EMAIL": "alice@users.noreply.github.com"}
    work.run("rebase", "--quiet", "other", env=alice)  # alice rebases her own PR
    work.run("push", "--quiet", "--force", "origin", "req")
    head = work.run("rev-parse", "HEAD")
    assert head != first
    scenario.run_check(number)
    assert statuses(scenario, head) == ("success", "success")


def test_self_approval_is_refused_unless_the_policy_allows_it(scenario: Scenario) -> None:
    # dave is in platform, which may both request and approve k8s-prod-admins
    files = {"requests/dave-k8s-1.yaml": request_yaml("dave", "k8s-prod-admins")}
    head = scenario.commit("req", files, login="dave")
    number = scenario.open("req", author="dave")
    with pytest.raises(StandInError, match="approve your own"):
        scenario.standin.submit_review(number, "dave", "APPROVE")
    result = scenario.run_check(number, actor="dave")
    rule = json.loads(result.output)["requests"][0]["approvals_required"][0]
    assert rule["approved_by"] == [] and rule["excluded"] == ["dave"] and not rule["self_approved"]
    assert rule["may_approve"] == ["erin"]
    assert statuses(scenario, head) == ("success", "pending")


def test_allow_self_approval_counts_the_requester_and_says_so(scenario: Scenario) -> None:
    files = {"requests/alice-staging-1.yaml": request_yaml("alice", "staging-readonly")}
    head = scenario.commit("req", files)
    number = scenario.open("req")
    result = scenario.run_check(number)
    rule = json.loads(result.output)["requests"][0]["approvals_required"][0]
    assert rule["self_approved"] and rule["approved_by"] == ["alice"]
    assert statuses(scenario, head) == ("success", "success")
    assert "self-approval" in scenario.status(head, "jitflow/approval")["description"]
    assert "(self)" in scenario.comment(number)


def test_approval_from_a_non_member_is_ignored(scenario: Scenario) -> None:
    head = scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    scenario.standin.submit_review(number, "mallory", "APPROVE")
    scenario.run_check(number, "pull_request_review", actor="mallory")
    assert statuses(scenario, head) == ("success", "pending")
    assert "@mallory does not count" in scenario.comment(number)


def test_changes_requested_block_until_dismissed(scenario: Scenario) -> None:
    head = scenario.commit(
        "req",
        {"requests/dave-admin-1.yaml": request_yaml("dave", "vault-ops-admin", ticket="CHG-7")},
        login="dave",
    )
    number = scenario.open("req", author="dave")
    scenario.standin.submit_review(number, "erin", "APPROVE")
    blocking = scenario.standin.submit_review(number, "frank", "REQUEST_CHANGES")
    scenario.run_check(number, "pull_request_review", actor="frank")
    assert statuses(scenario, head) == ("success", "pending")
    assert "changes requested" in scenario.status(head, "jitflow/approval")["description"]
    scenario.standin.dismiss_review(number, blocking, "addressed")
    scenario.standin.submit_review(number, "frank", "APPROVE")
    scenario.run_check(number, "pull_request_review", actor="frank")
    assert statuses(scenario, head) == ("success", "success")


def test_two_requests_need_both_policies_approvals(scenario: Scenario) -> None:
    files = {
        "requests/dave-admin-1.yaml": request_yaml("dave", "vault-ops-admin", ticket="CHG-7"),
        "requests/dave-k8s-1.yaml": request_yaml("dave", "k8s-prod-admins"),
    }
    head = scenario.commit("req", files, login="dave")
    number = scenario.open("req", author="dave")
    scenario.standin.submit_review(number, "erin", "APPROVE")  # platform: k8s rule + admin rule 1
    scenario.run_check(number, "pull_request_review", actor="erin")
    assert statuses(scenario, head) == ("success", "pending")  # security still missing
    scenario.standin.submit_review(number, "frank", "APPROVE")
    scenario.run_check(number, "pull_request_review", actor="frank")
    assert statuses(scenario, head) == ("success", "success")


def test_a_pr_that_also_edits_policies_is_denied_despite_its_own_head_policy(
    scenario: Scenario,
) -> None:
    policy = (Path(__file__).resolve().parents[2] / "policies" / "orders-db-write.yaml").read_text()
    loosened = policy.replace("max: 2h", "max: 9h").replace(
        "requesters: {groups: [sre]}", "requesters: {users: [mallory]}"
    )
    head = scenario.commit(
        "req",
        {
            "requests/mallory-1.yaml": request_yaml("mallory", duration="9h"),
            "policies/orders-db-write.yaml": loosened.encode(),
        },
        login="mallory",
    )
    number = scenario.open("req", author="mallory")
    result = scenario.run_check(number, actor="mallory")
    assert result.exit_code is ExitCode.DENIED
    codes = {f["code"] for f in json.loads(result.output)["findings"]}
    request_codes = {f["code"] for f in json.loads(result.output)["requests"][0]["findings"]}
    assert "forbidden-change" in codes
    assert {"requester-not-eligible", "duration-over-max"} <= request_codes  # base policy applied
    assert statuses(scenario, head) == ("failure", "failure")


def test_requester_naming_someone_else_is_denied(scenario: Scenario) -> None:
    head = scenario.commit("req", {REQ: request_yaml("carol")}, login="alice")
    number = scenario.open("req", author="alice")
    result = scenario.run_check(number, actor="carol")  # the event's actor is irrelevant
    assert result.exit_code is ExitCode.DENIED
    assert "requester-mismatch" in {
        f["code"] for f in json.loads(result.output)["requests"][0]["findings"]
    }
    assert statuses(scenario, head)[0] == "failure"


def test_a_co_author_who_committed_to_the_branch_cannot_approve(scenario: Scenario) -> None:
    scenario.commit("req", {REQ: request_yaml()})
    head = scenario.commit(
        "req",
        {
            "requests/alice-orders-1.yaml": request_yaml(
                reason="Fix stuck rows in orders.status, see INC-4211"
            )
        },
        login="bob",
        new=False,
    )
    number = scenario.open("req")
    scenario.standin.submit_review(number, "bob", "APPROVE")
    result = scenario.run_check(number, "pull_request_review", actor="bob")
    output = json.loads(result.output)
    rule = output["requests"][0]["approvals_required"][0]
    assert rule["approved_by"] == [] and "bob" in rule["excluded"]
    # and a request PR someone else committed to is refused outright (core.contributors)
    assert "commit-not-by-author" in {f["code"] for f in output["findings"]}
    assert statuses(scenario, head) == ("failure", "failure")


def test_a_pr_outside_requests_gets_both_statuses(scenario: Scenario) -> None:
    """Blocker 2: branch protection requires both statuses on every PR into main."""
    head = scenario.commit("docs", {"NOTES.md": b"hello\n"})
    number = scenario.open("docs")
    result = scenario.run_check(number)
    assert result.exit_code is ExitCode.OK and "asks for no access" in result.output
    nothing = "no access request and no policy change: nothing for jitflow to judge"
    statuses = {
        s["context"]: (s["state"], s["description"]) for s in scenario.standin.statuses(head)
    }
    assert statuses == {
        "jitflow/policy": ("success", nothing),
        "jitflow/approval": ("success", nothing),
    }
    assert len(scenario.standin.comments(number)) == 1


def _ssh_key() -> str:
    import base64

    blob = (
        len(b"ssh-ed25519").to_bytes(4, "big")
        + b"ssh-ed25519"
        + (32).to_bytes(4, "big")
        + bytes(32)
    )
    return "ssh-ed25519 " + base64.b64encode(blob).decode() + " bob@laptop"


def test_merge_group_re_evaluates_every_pr_in_the_queue(scenario: Scenario, tmp_path: Path) -> None:
    from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
    from jitflow.sandbox.github_standin.events import build_event
    from jitflow.usecases.gate import GateOptions, run_gate
    from tests.gate.scenario import NOW

    scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    event = build_event("merge_group.checks_requested", scenario.standin, number)
    queue_sha = event["merge_group"]["head_sha"]
    path = tmp_path / "merge_group.json"
    path.write_text(json.dumps(event))
    Git(scenario.checkout).run("fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*")
    environ = {
        "GITHUB_TOKEN": scenario.tokens["jitflow-bot"],
        "GITHUB_API_URL": scenario.standin.api_url,
        "GITHUB_REPOSITORY": scenario.standin.full_name,
        "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
    }
    pending = run_gate(
        GateOptions(scenario.checkout, path, NOW, environ, feedback=PULL_REQUEST_FEEDBACK)
    )
    assert pending.exit_code is ExitCode.OK
    assert statuses(scenario, queue_sha) == ("success", "failure")  # approval missing
    scenario.standin.submit_review(number, "bob", "APPROVE")
    run_gate(GateOptions(scenario.checkout, path, NOW, environ, feedback=PULL_REQUEST_FEEDBACK))
    assert statuses(scenario, queue_sha) == ("success", "success")


def test_request_open_pushes_the_branch_and_opens_the_pr(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from jitflow.cli import cli

    monkeypatch.setenv("GITHUB_TOKEN", scenario.tokens["alice"])
    monkeypatch.setenv("GITHUB_API_URL", scenario.standin.api_url)
    monkeypatch.setenv("GITHUB_REPOSITORY", scenario.standin.full_name)
    monkeypatch.setenv("JITFLOW_GITHUB_WRITE_INTERVAL", "0")
    args = [
        "request",
        "orders-db-write",
        "--for",
        "30m",
        "--reason",
        "Fix stuck rows in orders.status for INC-4211",
        "--ticket",
        "INC-4211",
        "--as",
        "alice",
        "--open",
        "--remote",
        "upstream",
        "--into",
        "main",
        "--repo",
        str(scenario.work.path),
    ]
    scenario.work.run("remote", "rename", "origin", "upstream")  # pushing to origin would fail
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "opened pull request #1" in result.output
    pull = scenario.standin.pull(1)
    assert pull["user"]["login"] == "alice"
    assert pull["title"].startswith("Access request: orders-db-write for alice (30m)")
    assert pull["head"]["ref"].startswith("jitflow/request/alice-orders-db-write-")


def test_a_broken_outbound_configuration_fails_its_pr_at_the_line(scenario: Scenario) -> None:
    """`.jitflow/outbound.yaml` is judged like a policy: a mistake fails the PR, not every
    sync run after the merge."""
    broken = b"endpoints:\n  - name: siem\n    url: https://siem.example/in\n    format: ocsf\n"
    head = scenario.commit("outbound", {".jitflow/outbound.yaml": broken})
    number = scenario.open("outbound")
    result = scenario.run_check(number)
    assert result.exit_code is not ExitCode.OK
    status = scenario.status(head, "jitflow/policy")
    assert (status["state"], status["description"]) == (
        "failure",
        ".jitflow/outbound.yaml does not load",
    )
    assert "`.jitflow/outbound.yaml:2:5`" in scenario.comment(number)
    assert "required key 'secret'" in scenario.comment(number)
    fixed = broken + b"    secret: {env: SIEM_HMAC_KEY}\n"
    head = scenario.commit("outbound", {".jitflow/outbound.yaml": fixed}, new=False)
    assert scenario.run_check(number).exit_code is ExitCode.OK
    assert scenario.status(head, "jitflow/policy")["state"] == "success"
