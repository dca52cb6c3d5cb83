"""The gate judges who a request comes from with what GitHub vouches for: the requester's
published SSH keys, the identities GitHub ties to each commit, co-authors and pushers."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
