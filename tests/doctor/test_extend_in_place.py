"""`doctor`'s `vault.extend-in-place`: where policies allow extensions, the token role issues
renewable tokens and the runner's policies may renew them (else extensions are by replacement:
a warning). The runner policy the sandbox writes (as docs/vault-setup.md step 3) passes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jitflow.core.doctor_vault import check_extend_in_place, runner_policy_names
from jitflow.core.loading import parse_policy
from jitflow.core.model import Policy
from jitflow.sandbox.servers.vault_setup import runner_policy_hcl

ROOT = Path(__file__).resolve().parents[2]


def _policy(name: str) -> Policy:
    path = f"policies/{name}.yaml"
    loaded = parse_policy((ROOT / path).read_bytes(), path)
    assert loaded.value is not None
    return loaded.value


ROLE = {"renewable": True, "orphan": True}
JWT_ROLE = {"token_policies": ["jitflow-runner"]}


def test_the_documented_runner_policy_can_extend_in_place() -> None:
    acls = {name: runner_policy_hcl() for name in runner_policy_names(JWT_ROLE)}
    check = check_extend_in_place([_policy("orders-db-write")], ROLE, acls)
    assert check is not None and check.status.value == "ok"


def test_a_runner_without_renew_lines_or_a_non_renewable_role_is_warned() -> None:
    old = runner_policy_hcl().replace("renew-accessor", "nothing").replace("leases/renew", "x")
    check = check_extend_in_place(
        [_policy("orders-db-write")], {**ROLE, "renewable": False}, {"jitflow-runner": old}
    )
    assert check is not None and check.status.value == "warn"
    assert "renewable=false" in check.message
    assert "auth/token/renew-accessor, sys/leases/renew" in check.message
    assert "by replacement" in check.message


def test_no_check_when_no_policy_allows_extensions() -> None:
    policy = _policy("orders-db-write")
    assert check_extend_in_place([replace(policy, extension=None)], ROLE, {}) is None
