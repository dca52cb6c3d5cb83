"""Bad input says what is wrong: a wrong folder or reference, a policy name with a typo, a
policy or groups file that can't be loaded. Each message names the file, line and column,
or the thing to fix, and the exit code is the documented one."""

from __future__ import annotations

from pathlib import Path

import pytest

from jitflow.core.loading import parse_request
from tests.cli.scenarios import GOOD_REQUEST, NOW, check, make_base, run_cli
from tests.gitrepo import GitRepo

REASON = "read the staging secrets to debug the checkout flow"
TYPO_POLICY = "policies/staging-readonly.yaml"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = make_base(tmp_path_factory.mktemp("bad-input") / "access")
    repo.checkout("main")
    original = repo.read("main", TYPO_POLICY)
    assert original is not None and b"\napprovals:" in original
    typo = original.replace(b"\napprovals:", b"\naprovals:")
    repo.commit({TYPO_POLICY: typo}, parent="main", branch="typo")
    repo.commit({"policies/groups.yaml": None}, parent="main", branch="no-groups")
    repo.commit({"policies/groups.yaml": "sre: alice\n"}, parent="main", branch="bad-groups")
    return repo


def _request(repo: GitRepo, policy: str, base: str = "main") -> tuple[int, str]:
    result = run_cli(
        [
            *("request", policy, "--reason", REASON, "--as", "alice", "--base", base),
            *("--repo", str(repo.path), "--now", NOW),
        ]
    )
    return result.exit_code, result.output


def test_a_repo_that_does_not_exist_is_named(tmp_path: Path) -> None:
    result = run_cli(["policies", "--repo", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere does not exist" in result.output and "git is not installed" not in result.output


def test_a_folder_that_is_not_a_repository_is_named(tmp_path: Path) -> None:
    result = run_cli(["policies", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path} is not a git repository" in result.output
    assert "does not name a commit" not in result.output


def test_audit_of_a_missing_ref_names_the_ref_not_jitflow(work: GitRepo) -> None:
    result = run_cli(["audit", "--ref", "nosuch", "--repo", str(work.path)])
    assert result.exit_code == 2
    assert "'nosuch' does not name a commit" in result.output
    assert "clone of the jitflow repository" not in result.output


def test_an_unknown_policy_lists_the_known_ones_and_the_closest(work: GitRepo) -> None:
    code, output = _request(work, "staging-readonli")
    assert code == 1
    assert "did you mean 'staging-readonly'?" in output
    known = "k8s-prod-admins, orders-api-cert, orders-db-write, prod-ssh, staging-readonly"
    assert f"known: {known}" in output
    head = work.branch(
        "unknown-policy", {"requests/alice-x.yaml": GOOD_REQUEST.replace("staging-", "stagin-")}
    )
    finding = check(work, "unknown-policy").all_findings()[0]
    assert finding["code"] == "unknown-policy" and "known: none" not in finding["message"]
    assert "did you mean 'staging-readonly'?" in finding["message"], head


def test_a_policy_typo_is_located_by_request_and_check(work: GitRepo) -> None:
    where = f"{TYPO_POLICY}:9:1: unknown key 'aprovals' in the policy file"
    code, output = _request(work, "staging-readonly", base="typo")
    assert code == 1 and where in output and "(did you mean 'approvals'?)" in output
    work.branch("typo-request", {"requests/alice-y.yaml": GOOD_REQUEST}, base="typo")
    run = check(work, "typo-request", base="typo")
    messages = [f["message"] for f in run.all_findings() if f["code"] == "policy-invalid"]
    assert messages and where in messages[0]


def test_policies_reports_a_broken_policy_and_exits_2(work: GitRepo) -> None:
    result = run_cli(["policies", "--repo", str(work.path), "--ref", "typo"])
    assert result.exit_code == 2
    assert f"jitflow: error: {TYPO_POLICY}:9:1: unknown key 'aprovals'" in result.stderr


def test_a_missing_groups_file_is_said(work: GitRepo) -> None:
    result = run_cli(["policies", "--repo", str(work.path), "--ref", "no-groups", "--for", "alice"])
    assert "policies/groups.yaml does not exist" in result.stderr
    code, output = _request(work, "staging-readonly", base="no-groups")
    assert code == 1 and "policies/groups.yaml does not exist" in output


def test_a_malformed_groups_file_is_an_error_not_no_policies(work: GitRepo) -> None:
    result = run_cli(
        ["policies", "--repo", str(work.path), "--ref", "bad-groups", "--for", "alice"]
    )
    assert result.exit_code == 2
    assert "policies/groups.yaml:1:6: sre must be a list, got a string 'alice'" in result.stderr
    assert "no policies found" not in result.output
    code, output = _request(work, "staging-readonly", base="bad-groups")
    assert code == 1 and "policies/groups.yaml:1:6: sre must be a list" in output


def test_yaml_errors_keep_their_context() -> None:
    loaded = parse_request(b'policy: "abc\nrequester: x\n', "requests/a.yaml")
    message = loaded.findings[0].message
    assert message.startswith("while scanning a quoted scalar (started at line 1, column 9)")


def test_an_unknown_key_is_located_at_the_key() -> None:
    loaded = parse_request(GOOD_REQUEST.encode() + b"colour:   blue\n", "requests/a.yaml")
    (finding,) = loaded.findings
    assert (finding.line, finding.column) == (5, 1)


def test_an_invalid_duration_is_not_summarised_as_the_default(work: GitRepo) -> None:
    content = GOOD_REQUEST.replace("duration: 2h", "duration: 30")
    work.branch("duration-int", {"requests/alice-d.yaml": content})
    text = check(work, "duration-int", output_format="text").stdout
    assert "duration   30 (invalid) (policy max 1d)" in text
    assert "8h" not in text
