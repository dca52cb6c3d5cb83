"""Doctor names policies that load cleanly but can't work as written, a CODEOWNERS that still
names init's placeholder team, and policy files it would otherwise ignore."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.core.doctor import CheckStatus, check_codeowners

ROOT = Path(__file__).resolve().parents[2]
OWNERS = "".join(
    f"/{d} @acme/access-admins\n"
    for d in ("policies/", ".github/", "requests/active/", "requests/archive/", ".jitflow/")
)


def _doctor(repo: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli,
        ["doctor", "--repo", str(repo), "--skip", "github", "--skip", "vault", "--format=json"],
        env={"VAULT_ADDR": "", "GITHUB_TOKEN": ""},
    )
    checks: dict[str, Any] = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    return checks


def _repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/CODEOWNERS").write_text(OWNERS)
    return tmp_path


def test_the_shipped_policies_pass(tmp_path: Path) -> None:
    checks = _doctor(_repo(tmp_path))
    assert checks["repository.policies"]["status"] == "ok"
    assert checks["repository.policy-rules"]["status"] == "ok"


def test_rules_that_can_never_be_met_are_named(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    orders = repo / "policies/orders-db-write.yaml"
    orders.write_text(
        orders.read_text()
        .replace("{groups: [sre]}", "{groups: [sre, sre-oncall]}")
        .replace(
            "{count: 1, from: {groups: [sre-leads]}}", "{count: 2, from: {groups: [sre-leads]}}"
        )
    )
    ssh = repo / "policies/prod-ssh.yaml"
    ssh.write_text(ssh.read_text().replace("max_duration: 1h", "max_duration: 12h"))
    check = _doctor(repo)["repository.policy-rules"]
    assert check["status"] == "fail"
    details = "\n".join(check["details"])
    assert (
        "orders-db-write.yaml: requesters names group 'sre-oncall', but it is not defined"
        in details
    )
    assert (
        "approvals.rules[0] asks for 2 approval(s) from group sre-leads, which has 1 member"
        in details
    )
    assert "break_glass.max_duration 12h is longer than duration.max 8h" in details


def test_a_missing_groups_file_is_named(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "policies/groups.yaml").unlink()
    details = "\n".join(_doctor(repo)["repository.policy-rules"]["details"])
    assert "names group 'sre', but policies/groups.yaml does not exist" in details


def test_problems_are_located_at_their_key_in_the_words_users_write(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "policies/groups.yaml").write_text("sre: alice\nsre-leads: [bob]\n")
    ssh = repo / "policies/prod-ssh.yaml"
    ssh.write_text(ssh.read_text().replace("max: 8h", "max: 99999d"))
    (repo / "policies/extra.yml").write_text("name: extra\n")
    details = "\n".join(_doctor(repo)["repository.policies"]["details"])
    assert "policies/groups.yaml:1:6: sre must be a list, got a string 'alice'" in details
    assert "array" not in details
    assert "policies/prod-ssh.yaml:9:30: duration.max: '99999d' is longer than" in details
    assert "policies/extra.yml: ignored" in details


def test_the_placeholder_owner_from_init_fails() -> None:
    placeholder = OWNERS.replace("@acme/", "@your-org/")
    result = check_codeowners({".github/CODEOWNERS": placeholder})
    assert result.status is CheckStatus.FAIL
    assert "placeholder owner @your-org/access-admins" in result.message
    assert check_codeowners({".github/CODEOWNERS": OWNERS}).status is CheckStatus.OK
