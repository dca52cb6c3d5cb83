"""Issue #10, hole 6: the gate judges only PRs into the protected branch, so a PR from the
same head into an attacker's branch can't turn that head's jitflow statuses green."""

from __future__ import annotations

from jitflow.errors import ExitCode
from tests.gate.scenario import Scenario, request_yaml

REQ = "requests/alice-orders-7.yaml"


def _jitflow_statuses(scenario: Scenario, sha: str) -> list[str]:
    return [s["context"] for s in scenario.standin.statuses(sha) if "jitflow" in s["context"]]


def test_a_pr_into_another_branch_gets_no_jitflow_status(scenario: Scenario) -> None:
    scenario.work.run("push", "--quiet", "origin", "origin/main:refs/heads/mallory-base")
    head = scenario.commit("req", {REQ: request_yaml()})
    into_main = scenario.open("req")
    elsewhere = scenario.standin.create_pull("alice", "req", "mallory-base", title="same head")
    scenario.standin.submit_review(elsewhere, "bob", "APPROVE")  # approved where it's harmless

    result = scenario.run_check(elsewhere, "pull_request_review", actor="bob")
    assert result.exit_code is ExitCode.OK
    assert "not judged" in result.output
    assert _jitflow_statuses(scenario, head) == []
    assert scenario.standin.comments(elsewhere) == []

    scenario.run_check(into_main)  # the PR into main is judged on its own reviews: none
    assert scenario.status(head, "jitflow/approval")["state"] == "pending"


def test_jitflow_branch_names_the_protected_branch(
    scenario: Scenario,
) -> None:
    scenario.commit("req", {REQ: request_yaml()})
    number = scenario.open("req")
    result = scenario.run_check(number, extra_env={"JITFLOW_BRANCH": "production"})
    assert "not the protected branch 'production'" in result.output
