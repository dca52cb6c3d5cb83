"""`jitflow policy test` and `jitflow policy impact` on real repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from jitflow.adapters.git import Git
from jitflow.cli import cli

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {
    "GIT_AUTHOR_NAME": "admin",
    "GIT_AUTHOR_EMAIL": "a@x",
    "GIT_COMMITTER_NAME": "admin",
    "GIT_COMMITTER_EMAIL": "a@x",
}


def _repo(tmp_path: Path) -> Git:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    git = Git(tmp_path, env=IDENTITY)
    git.run("init", "--quiet", "--initial-branch=main")
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "policies")
    return git


def test_the_shipped_policy_cases_pass() -> None:
    result = CliRunner().invoke(cli, ["policy", "test", "--repo", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and "policy cases pass" in result.output


def test_a_failing_case_prints_a_readable_diff(tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / "policies/tests/wrong.yaml").write_text(
        "cases:\n"
        "  - name: wrongly expects dave to be allowed\n"
        "    request: {policy: orders-db-write, requester: dave, reason: Fix stuck rows in orders for INC-1, ticket: INC-1}\n"
        "    expect: {allowed: true, findings: []}\n"
    )
    result = CliRunner().invoke(cli, ["policy", "test", "--repo", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL policies/tests/wrong.yaml:2 wrongly expects dave to be allowed" in result.output
    assert "allowed: expected True" in result.output and "got False" in result.output
    assert "got ['requester-not-eligible']" in result.output


def test_a_broken_case_file_is_a_usage_error_with_its_line(tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / "policies/tests/bad.yaml").write_text(
        "cases:\n  - name: x\n    request: {policy: a}\n    expect: {allowed: true, surprise: 1}\n"
    )
    result = CliRunner().invoke(cli, ["policy", "test", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "policies/tests/bad.yaml:4:29: unknown key 'surprise'" in result.output


def test_impact_lists_past_and_active_requests_a_change_would_refuse(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    request = "policy: orders-db-write\nrequester: alice\nduration: 90m\nreason: Fix stuck rows in orders for INC-1\nticket: INC-1\n"
    grant = "grant:\n  kind: database\n  merged_at: '2026-11-20T10:00:00Z'\n"
    (tmp_path / "requests/active").mkdir(parents=True)
    (tmp_path / "requests/archive/2026/10").mkdir(parents=True)
    (tmp_path / "requests/active/alice-a.yaml").write_text(request + grant)
    (tmp_path / "requests/archive/2026/10/alice-b.yaml").write_text(
        request.replace("90m", "20m") + grant
    )
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "history")
    base = git.run("rev-parse", "HEAD")
    policy = tmp_path / "policies/orders-db-write.yaml"
    policy.write_text(policy.read_text().replace("max: 2h", "max: 1h"))
    git.run("commit", "--quiet", "-am", "tighten")
    result = CliRunner().invoke(
        cli, ["policy", "impact", "--repo", str(tmp_path), "--base", base, "--head", "HEAD"]
    )
    assert result.exit_code == 0, result.output
    assert "replayed 2 request(s); 1 would be decided differently" in result.output
    assert "alice-a [ACTIVE]" in result.output and "duration-over-max" in result.output
    assert "warning: active grant alice-a would not be allowed" in result.output
    assert "alice-b" not in result.output


def _record(request_id: str, duration: str, grant: str, extends: str = "") -> str:
    text = (
        f"policy: orders-db-write\nrequester: alice\nduration: {duration}\n"
        "reason: Fix stuck rows in orders for INC-1\nticket: INC-1\n"
    )
    return text + (f"extends: {extends}\n" if extends else "") + "grant:\n" + grant


def test_impact_replays_extensions_against_the_grant_they_extended(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    (tmp_path / "requests/active").mkdir(parents=True)
    (tmp_path / "requests/archive/2026/11").mkdir(parents=True)
    first = "  kind: database\n  merged_at: '2026-11-20T10:00:00Z'\n  issued_at: '2026-11-20T10:00:05Z'\n"
    # alice-a: 2h, extended by alice-b (20m, self-approved), then by alice-c (1h, approved)
    (tmp_path / "requests/archive/2026/11/alice-a.yaml").write_text(
        _record("alice-a", "2h", first + "  expires_at: '2026-11-20T12:00:05Z'\n")
    )
    started = "  started_at: '2026-11-20T10:00:05Z'\n  kind: database\n"
    (tmp_path / "requests/archive/2026/11/alice-b.yaml").write_text(
        _record("alice-b", "20m", started + "  merged_at: '2026-11-20T11:50:00Z'\n"
                "  expires_at: '2026-11-20T12:20:05Z'\n", extends="alice-a")
    )  # fmt: skip
    (tmp_path / "requests/active/alice-c.yaml").write_text(
        _record("alice-c", "1h", started + "  merged_at: '2026-11-20T12:10:00Z'\n"
                "  expires_at: '2026-11-20T13:20:05Z'\n", extends="alice-b")
    )  # fmt: skip
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "history")
    base = git.run("rev-parse", "HEAD")
    args = ["policy", "impact", "--repo", str(tmp_path), "--base", base, "--head", "HEAD"]
    unchanged = CliRunner().invoke(cli, args)
    assert "0 would be decided differently" in unchanged.output, unchanged.output

    policy = tmp_path / "policies/orders-db-write.yaml"
    rule = "extension: {total_max: 4h, self_approve_up_to: 30m}"
    policy.write_text(policy.read_text().replace(rule, "extension: {total_max: 3h}"))
    git.run("commit", "--quiet", "-am", "tighten extensions")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "replayed 3 request(s); 2 would be decided differently" in result.output
    # alice-b: self-approved before, needs a lead now
    assert "alice-b (alice, orders-db-write, extends alice-a)" in result.output
    assert "before: allowed, needs no approval (" in result.output
    # alice-c: from the first issue to its end 3h20m, over the new total maximum
    assert "alice-c [ACTIVE] (alice, orders-db-write, extends alice-b)" in result.output
    assert "after:  denied (extension-over-total-max)" in result.output
    assert "warning: active grant alice-c would not be allowed" in result.output
