"""Doctor checks on-call rotations: the file loads, every rotation a policy names exists,
someone is on call now (else when someone first is), rotation logins are known to groups.yaml,
and a rule that counts on whoever is on call is not reported as unreachable. Pure, fake now;
one run of the CLI on a repository."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.core.doctor import CheckStatus
from jitflow.core.doctor_policies import policy_rule_problems
from jitflow.core.doctor_rotations import check_rotations
from jitflow.core.loading import parse_groups, parse_oncall, parse_policy
from tests.core.test_oncall import ONCALL, POLICY

GROUPS = parse_groups(b"sre: [alice, bob, carol, erin]\nleads: [frank]\n").value
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _policy(text: bytes = POLICY) -> object:
    loaded = parse_policy(text, "policies/prod-write.yaml")
    assert loaded.findings == ()
    return loaded.value


def _checks(oncall: bytes | None, policy: bytes = POLICY, now: datetime = NOW) -> dict[str, object]:
    rotations = parse_oncall(oncall).value
    found = check_rotations([_policy(policy)], rotations, GROUPS, now)  # type: ignore[list-item]
    return {c.id: c for c in found}


def test_a_rotation_in_use_with_someone_on_call_is_ok() -> None:
    checks = _checks(ONCALL)
    [check] = [c for c in checks.values() if c.id == "repository.rotations.sre-primary"]  # type: ignore[attr-defined]
    assert check.status is CheckStatus.OK  # type: ignore[attr-defined]
    assert "@alice is on call in sre-primary now" in check.message  # type: ignore[attr-defined]
    # dave holds an override but is in no group: a typo would make a stranger an approver
    logins = checks["repository.rotations.logins"]
    assert logins.status is CheckStatus.WARN  # type: ignore[attr-defined]
    assert logins.details == ("policies/rotations.yaml: rotation sre-primary: @dave",)  # type: ignore[attr-defined]


def test_a_policy_naming_a_missing_rotation_fails() -> None:
    for oncall in (None, ONCALL.replace(b"sre-primary:", b"sre-secondary:")):
        check = _checks(oncall)["repository.rotations.defined"]
        assert check.status is CheckStatus.FAIL  # type: ignore[attr-defined]
        details = "\n".join(check.details)  # type: ignore[attr-defined]
        assert "approvals.rules[0].from.oncall names rotation 'sre-primary'" in details
        assert "approvals.oncall_waives names rotation 'sre-primary'" in details


def test_nobody_on_call_yet_is_warned_with_when_the_first_turn_starts() -> None:
    early = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)  # the rotation starts on 2026-10-19
    check = _checks(ONCALL, now=early)["repository.rotations.sre-primary"]
    assert check.status is CheckStatus.WARN  # type: ignore[attr-defined]
    assert "nobody is on call in sre-primary now" in check.message  # type: ignore[attr-defined]
    assert "the first turn starts 2026-10-19T07:00Z" in check.message  # type: ignore[attr-defined]
    far = datetime(2026, 9, 1, tzinfo=UTC)
    message = _checks(ONCALL, now=far)["repository.rotations.sre-primary"].message  # type: ignore[attr-defined]
    assert "nor in the next 14 days" in message


def test_an_unloadable_file_fails_and_no_rotations_at_all_is_ok() -> None:
    assert _checks(b"rotations: {}\n")["repository.rotations"].status is CheckStatus.FAIL  # type: ignore[attr-defined]
    plain = POLICY.replace(b", oncall: [sre-primary]", b"").replace(
        b"  oncall_waives: [sre-primary]\n", b""
    )
    assert _checks(None, plain)["repository.rotations"].status is CheckStatus.OK  # type: ignore[attr-defined]


ONLY_ON_CALL = POLICY.replace(
    b"{groups: [leads], oncall: [sre-primary]}", b"{oncall: [sre-primary]}"
)


def test_a_rule_only_whoever_is_on_call_can_meet_is_reachable() -> None:
    only = ONLY_ON_CALL
    assert policy_rule_problems([_policy(only)], GROUPS) == []  # type: ignore[list-item]
    two = only.replace(b"count: 1", b"count: 2")
    [problem] = policy_rule_problems([_policy(two)], GROUPS)  # type: ignore[list-item]
    assert "asks for 2 approval(s) from whoever is on call in sre-primary" in problem


def test_doctor_reports_rotations(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/groups.yaml").write_bytes(b"sre: [alice, bob, carol, dave, erin]\n")
    (tmp_path / "policies/rotations.yaml").write_bytes(ONCALL)
    (tmp_path / "policies/prod-write.yaml").write_bytes(ONLY_ON_CALL)
    result = CliRunner().invoke(
        cli,
        ["doctor", "--repo", str(tmp_path), "--skip", "github", "--skip", "vault", "--format=json"],
        env={"VAULT_ADDR": "", "GITHUB_TOKEN": ""},
    )
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["repository.rotations.sre-primary"]["status"] == "ok"  # now: weekly turns
    assert "repository.rotations.logins" not in checks
    assert checks["repository.policy-rules"]["status"] == "ok", checks["repository.policy-rules"]
