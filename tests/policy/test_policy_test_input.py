"""`jitflow policy test` checks its own input against a JSON Schema and the policies it
tests before running anything: bad values are located errors (exit 2), never a Python
exception (exit 3) or a silent pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jitflow.cli import cli
from tests.policy.test_policy_tools import _repo

CASE = "    request: {policy: staging-readonly, requester: carol, reason: read staging config}\n"


def _run(tmp_path: Path, name: str, body: str) -> Result:
    _repo(tmp_path)
    (tmp_path / "policies/tests" / name).write_text("cases:\n  - name: x\n" + CASE + body)
    return CliRunner().invoke(cli, ["policy", "test", "--repo", str(tmp_path)])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    context: {now: tomorrow}\n    expect: {allowed: true}\n",
            "bad.yaml:4:20: cases[0].context.now 'tomorrow' is not in the expected form",
        ),
        (
            "    context: {reviews: [{reviewer: bob, state: APPROVE}]}\n"
            "    expect: {allowed: true}\n",
            "bad.yaml:4:48: cases[0].context.reviews[0].state is 'APPROVE'; allowed values: "
            "APPROVED",
        ),
        (
            '    expect: {allowed: "yes"}\n',
            "bad.yaml:4:23: cases[0].expect.allowed must be a boolean (true or false), got a "
            "string 'yes'",
        ),
        (
            "    context: {groups: {sre: alice}}\n    expect: {allowed: true}\n",
            "bad.yaml:4:29: cases[0].context.groups.sre must be a list, got a string 'alice'",
        ),
    ],
    ids=["now", "review-state", "allowed-string", "groups-string"],
)
def test_bad_case_values_are_located_usage_errors(tmp_path: Path, body: str, expected: str) -> None:
    result = _run(tmp_path, "bad.yaml", body)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "ValueError" not in result.output


def test_yml_files_are_run_too(tmp_path: Path) -> None:
    result = _run(tmp_path, "extra.yml", "    expect: {allowed: false}\n")
    assert result.exit_code == 1
    assert "FAIL policies/tests/extra.yml:2 x" in result.output


def test_a_broken_policy_in_the_work_tree_stops_the_run_with_its_location(tmp_path: Path) -> None:
    _repo(tmp_path)
    policy = tmp_path / "policies/staging-readonly.yaml"
    policy.write_text(policy.read_text().replace("\napprovals:", "\naprovals:"))
    result = CliRunner().invoke(cli, ["policy", "test", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "policies/staging-readonly.yaml:9:1: unknown key 'aprovals'" in result.output
    assert "at the base" not in result.output


EXTENSION_CASES = """\
cases:
  - name: carol extends her active grant by 4h
    request: {policy: staging-readonly, requester: carol, duration: 4h, reason: the migration runs over, extends: g-1}
    context:
      now: 2026-11-10T15:00:00Z
      reviews: [{reviewer: alice}]
      active: [{id: g-1, policy: staging-readonly, requester: carol, expires_at: 2026-11-10T17:00:00Z, started_at: 2026-11-10T09:00:00Z}]
    expect: {allowed: true}
  - name: past the total maximum of 1d
    request: {policy: staging-readonly, requester: carol, duration: 20h, reason: the migration runs over, extends: g-1}
    context:
      now: 2026-11-10T15:00:00Z
      reviews: [{reviewer: alice}]
      active: [{id: g-1, policy: staging-readonly, requester: carol, expires_at: 2026-11-10T17:00:00Z, started_at: 2026-11-10T09:00:00Z}]
    expect: {allowed: false, findings: [extension-over-total-max]}
  - name: someone else's grant
    request: {policy: staging-readonly, requester: carol, duration: 1h, reason: the migration runs over, extends: g-2}
    context:
      now: 2026-11-10T15:00:00Z
      reviews: [{reviewer: alice}]
      active: [{id: g-2, policy: staging-readonly, requester: alice, expires_at: 2026-11-10T17:00:00Z}]
    expect: {allowed: false, findings: [extends-other-requester]}
"""


def test_a_case_can_extend_a_described_active_grant(tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / "policies/tests/ext.yaml").write_text(EXTENSION_CASES)
    result = CliRunner().invoke(cli, ["policy", "test", "--repo", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("extends her active grant", "past the total maximum", "someone else's grant"):
        assert name in result.output


def test_an_active_grant_end_that_is_no_time_is_located(tmp_path: Path) -> None:
    body = (
        "    context: {active: [{policy: staging-readonly, requester: carol, expires_at: soon}]}\n"
        "    expect: {allowed: true}\n"
    )
    result = _run(tmp_path, "bad.yaml", body)
    assert result.exit_code == 2, result.output
    assert "bad.yaml:4:" in result.output and "expires_at 'soon'" in result.output
