"""The gate judges who a request comes from with what GitHub vouches for: the requester's
published SSH keys, the identities GitHub ties to each commit, co-authors and pushers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.errors import ExitCode
from tests.gate.scenario import Scenario, request_yaml

SSH_REQ = "requests/alice-ssh-1.yaml"


def new_key(tmp: Path, name: str) -> str:
    path = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_name(name + ".pub").read_text().strip()


def codes(result_reports: object) -> set[str]:
    reports = getattr(result_reports, "reports", ())
    return {f.code for r in reports for f in r.decision.all_findings()}


def test_ssh_key_must_be_one_the_requester_publishes(scenario: Scenario, tmp_path: Path) -> None:
    own, other = new_key(tmp_path, "alice_key"), new_key(tmp_path, "bob_key")
    scenario.standin.set_ssh_keys("alice", [own])
    scenario.standin.set_ssh_keys("bob", [other])
    head = scenario.commit("ssh", {SSH_REQ: request_yaml(policy="prod-ssh", ssh_public_key=other)})
    number = scenario.open("ssh")
    result = scenario.run_check(number)
    assert result.exit_code is ExitCode.DENIED
    assert "ssh-key-not-published" in codes(result)
    assert scenario.status(head, "jitflow/policy")["state"] == "failure"

    head = scenario.commit(
        "ssh", {SSH_REQ: request_yaml(policy="prod-ssh", ssh_public_key=own + " laptop")}, new=False
    )
    result = scenario.run_check(number)
    assert result.exit_code is ExitCode.OK, codes(result)
    assert scenario.status(head, "jitflow/policy")["state"] == "success"


def test_limit_counts_requests_of_the_same_pr(scenario: Scenario) -> None:
    files = {
        "requests/alice-orders-1.yaml": request_yaml(),
        "requests/alice-orders-2.yaml": request_yaml(),
    }
    scenario.commit("two", files)
    result = scenario.run_check(scenario.open("two"))
    assert result.exit_code is ExitCode.DENIED
    (report,) = result.reports
    assert all("active-limit" in {f.code for f in r.findings} for r in report.decision.requests)


def test_limit_counts_merged_requests_still_waiting_for_sync(scenario: Scenario) -> None:
    scenario.commit("first", {"requests/alice-orders-1.yaml": request_yaml()})
    first = scenario.open("first")
    scenario.standin.submit_review(first, "bob", "APPROVE")
    scenario.standin.merge_pull(first, "bob")  # merged; no sync has issued it yet
    scenario.commit("second", {"requests/alice-orders-2.yaml": request_yaml()})
    result = scenario.run_check(scenario.open("second"))
    assert result.exit_code is ExitCode.DENIED
    (report,) = result.reports
    (finding,) = [f for f in report.decision.all_findings() if f.code == "active-limit"]
    assert "alice-orders-1 (merged, waiting)" in finding.message


ALICE = {
    "GIT_AUTHOR_NAME": "alice",
    "GIT_AUTHOR_EMAIL": "alice@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "alice",
    "GIT_COMMITTER_EMAIL": "alice@users.noreply.github.com",
}


def forge(
    scenario: Scenario,
    branch: str,
    files: Mapping[str, bytes],
    identity: dict[str, str],
    pusher: str,
    message: str = "tweak",
) -> str:
    """Someone commits on `branch` with whatever identity they like and pushes as `pusher`."""
    clone = scenario.tmp / f"clone-{pusher}"
    if not clone.exists():
        Git(scenario.tmp).run("clone", "--quiet", str(scenario.bare), str(clone))
    git = Git(clone)
    git.run("fetch", "--quiet", "origin")
    git.run("checkout", "--quiet", "-B", branch, f"origin/{branch}")
    for path, content in files.items():
        (clone / path).write_bytes(content)
        git.run("add", path)
    git.run("commit", "--quiet", "-m", message, env=identity)
    return scenario.standin.push(clone, branch, pusher)


def approve_and_check(scenario: Scenario, number: int, approver: str = "bob") -> dict[str, object]:
    scenario.standin.submit_review(number, approver, "APPROVE")
    result = scenario.run_check(number, "pull_request_review", actor=approver)
    data: dict[str, object] = json.loads(result.output)
    return data


def finding_codes(data: Mapping[str, object]) -> set[str]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return {f["code"] for f in findings}


def test_an_approver_pushing_a_commit_that_claims_the_requester_cannot_approve_it(
    scenario: Scenario,
) -> None:
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    head = forge(scenario, "req", {req: request_yaml(duration="2h")}, ALICE, pusher="bob")
    data = approve_and_check(scenario, number)
    assert "pushed-by-other" in finding_codes(data)
    assert data["approved"] is False
    assert scenario.status(head, "jitflow/policy")["state"] == "failure"
    requests = data["requests"]
    assert isinstance(requests, list)
    rule = requests[0]["approvals_required"][0]
    assert rule["approved_by"] == [] and "bob" in rule["excluded"]


def test_a_commit_whose_email_is_linked_to_no_account_is_refused(scenario: Scenario) -> None:
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    nobody = {
        "GIT_AUTHOR_NAME": "alice",
        "GIT_AUTHOR_EMAIL": "someone@unlinked.invalid",
        "GIT_COMMITTER_NAME": "alice",
        "GIT_COMMITTER_EMAIL": "someone@unlinked.invalid",
    }
    forge(scenario, "req", {req: request_yaml(duration="2h")}, nobody, pusher="alice")
    commits = scenario.standin.pull(number)
    assert commits["commits"] == 2
    data = approve_and_check(scenario, number)
    assert "commit-identity-unlinked" in finding_codes(data)
    assert data["approved"] is False


def test_a_listed_co_author_is_refused_and_cannot_approve(scenario: Scenario) -> None:
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    message = "tweak\n\nCo-authored-by: Bob <bob@users.noreply.github.com>"
    forge(scenario, "req", {req: request_yaml(duration="1h")}, ALICE, "alice", message)
    data = approve_and_check(scenario, number)
    assert "co-author" in finding_codes(data)
    requests = data["requests"]
    assert isinstance(requests, list)
    assert "bob" in requests[0]["approvals_required"][0]["excluded"]


def test_the_requester_pushing_their_own_commits_still_passes(scenario: Scenario) -> None:
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    forge(scenario, "req", {req: request_yaml(duration="1h")}, ALICE, pusher="alice")
    data = approve_and_check(scenario, number)
    assert data["approved"] is True, finding_codes(data)


def _main_moves(scenario: Scenario) -> None:
    scenario.commit("unrelated", {"NOTES.md": b"notes\n"}, login="carol")
    scenario.work.run("push", "--quiet", "origin", "unrelated:main")


def _click_update_branch(scenario: Scenario, number: int, login: str) -> str:
    """The PR page's "Update branch" button, through the REST API as @login."""
    from tests.standin_helpers import pygithub

    pr = pygithub(scenario.standin, login).get_repo("acme/access").get_pull(number)
    assert pr.update_branch() is True
    return str(scenario.standin.pull(number)["head"]["sha"])


def test_an_approver_clicking_update_branch_cannot_approve_the_request(
    scenario: Scenario,
) -> None:
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    _main_moves(scenario)
    head = _click_update_branch(scenario, number, "bob")
    data = approve_and_check(scenario, number)
    assert {"pushed-by-other", "commit-not-by-author"} <= finding_codes(data)
    assert data["approved"] is False
    assert scenario.status(head, "jitflow/policy")["state"] == "failure"


def test_the_requester_updating_her_branch_keeps_the_approval(scenario: Scenario) -> None:
    """GitHub's merge commit is committed and signed by web-flow: verified, so it is alice's;
    the request bytes are unchanged, so bob's earlier approval still holds."""
    req = "requests/alice-orders-1.yaml"
    scenario.commit("req", {req: request_yaml()})
    number = scenario.open("req")
    scenario.standin.submit_review(number, "bob", "APPROVE")
    _main_moves(scenario)
    head = _click_update_branch(scenario, number, "alice")
    result = scenario.run_check(number)
    assert result.exit_code is ExitCode.OK, codes(result)
    assert codes(result) == set()
    assert scenario.status(head, "jitflow/approval")["state"] == "success"
