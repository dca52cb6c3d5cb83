"""A whole jitflow world for sync tests: OpenBao, the GitHub stand-in over a bare repo,
a requester's clone and the runner's clone, all real."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn

# Sync tests stop and reconfigure servers, so they get their own instances rather than
# sharing the session-wide ones of the Vault adapter tests.
from tests.conftest_servers import (  # noqa: F401
    JitflowVault,
    _postgres_or_none,
    jitflow_vault,
    jwt_signer,
    openbao,
    postgres,
)
from tests.standin_helpers import clone, github_ids, make_bare_repo

OWNER, REPO = "acme", "access"
POLICIES: Mapping[str, bytes] = {
    "policies/groups.yaml": b"sre: [alice, carol]\nleads: [bob]\n"
    + github_ids("alice", "bob", "carol").encode(),
    "policies/ops-read.yaml": b"""\
name: ops-read
description: A read-only Vault token
grant: {kind: vault-token, policies: [jitflow-readonly]}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
""",
    "policies/orders-db.yaml": b"""\
name: orders-db
description: Write access to the orders database
grant: {kind: database, mount: database, role: readwrite}
duration: {default: 30m, max: 2h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
""",
    "requests/.gitkeep": b"",
    "requests/active/.gitkeep": b"",
    "requests/archive/.gitkeep": b"",
}
_numbers = itertools.count(1)


def vault_api(addr: str, token: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, f"{addr}/v1/{path}", headers={"X-Vault-Token": token}, json=body, timeout=30
    )


@dataclass
class World:
    vault: JitflowVault
    standin: GitHubStandIn
    bare: Path
    requester: Git
    runner: Git
    key: Path
    env: dict[str, str] = field(repr=False)

    def request(
        self,
        policy: str = "ops-read",
        duration: str = "30m",
        author: str = "alice",
        extra: Mapping[str, bytes] | None = None,
        body: str = "",
    ) -> tuple[str, int]:
        """Push a request branch and open its PR; returns (id, PR number)."""
        request_id = f"{author}-{policy}-{next(_numbers):04d}-{os.getpid() % 1000}"
        content = body or (
            f"policy: {policy}\nrequester: {author}\nduration: {duration}\n"
            "reason: investigating the orders backlog for the incident\n"
        )
        git = self.requester
        git.run("fetch", "--quiet", "origin")
        branch = f"req/{request_id}"
        git.run("checkout", "--quiet", "-B", branch, "origin/main")
        files = {f"requests/{request_id}.yaml": content.encode(), **(extra or {})}
        for name, data in files.items():
            (git.path / name).parent.mkdir(parents=True, exist_ok=True)
            (git.path / name).write_bytes(data)
        git.run("add", "--all")
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.github.com",
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": f"{author}@users.noreply.github.com",
        }
        git.run("commit", "--quiet", "-m", f"Request {request_id}", env=env)
        git.run("push", "--quiet", "origin", branch)
        return request_id, self.standin.create_pull(author, branch)

    def approved_merge(self, policy: str = "ops-read", **kw: Any) -> tuple[str, int]:
        request_id, number = self.request(policy, **kw)
        self.standin.submit_review(number, "bob", "APPROVE")
        self.standin.merge_pull(number, "bob")
        return request_id, number

    def sync(
        self,
        *args: str,
        repo: Path | None = None,
        check: bool = True,
        env_extra: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "jitflow",
                "sync",
                "--repo",
                str(repo or self.runner.path),
                *args,
            ],
            env={**self.env, **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"sync failed ({result.returncode}): {result.stdout}{result.stderr}"
            )
        return result

    def main_file(self, path: str) -> bytes | None:
        return Git(self.bare).show_bytes("main", path)

    def trust_ledger_ca(self, allowed_signers: str) -> None:
        """An admin's commit on main: the ledger is signed by another Vault's CA from now on."""
        git = self.requester
        git.run("fetch", "--quiet", "origin")
        git.run("checkout", "--quiet", "-B", "signers", "origin/main")
        (git.path / ".jitflow" / "allowed_signers").write_text(allowed_signers)
        admin = {
            "GIT_AUTHOR_NAME": "admin",
            "GIT_AUTHOR_EMAIL": "admin@example.com",
            "GIT_COMMITTER_NAME": "admin",
            "GIT_COMMITTER_EMAIL": "admin@example.com",
        }
        git.run("commit", "--quiet", "-am", "Trust the ledger CA of this Vault", env=admin)
        git.run("push", "--quiet", "origin", "signers:main")

    def main_paths(self, prefix: str = "requests/") -> list[str]:
        return [p for _, _, p in Git(self.bare).list_tree("main", prefix)]


def run_creds(
    world: World, request_id: str, fmt: str = "env", identity: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`jitflow creds` as alice runs it against the world's runner checkout."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jitflow",
            "creds",
            request_id,
            "--identity",
            str(identity or world.key),
            "--format",
            fmt,
            "--repo",
            str(world.runner.path),
        ],
        env={**world.env, "GITHUB_TOKEN": world.standin.token_for("alice")},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def runner_token(jitflow_vault: JitflowVault) -> str:
    answer = vault_api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "POST",
        "auth/token/create-orphan",
        {"policies": [jitflow_vault.setup.runner_policy], "ttl": "4h", "no_default_policy": True},
    )
    answer.raise_for_status()
    token: str = answer.json()["auth"]["client_token"]
    return token


@pytest.fixture
def world(tmp_path: Path, jitflow_vault: JitflowVault, runner_token: str) -> Iterator[World]:
    # the ledger's trust root: the runner signs with a key certified by Vault's ledger CA
    signers = {".jitflow/allowed_signers": jitflow_vault.setup.allowed_signers.encode()}
    bare = make_bare_repo(tmp_path, {**POLICIES, **signers})
    key = tmp_path / "alice_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with GitHubStandIn(bare, owner=OWNER, repo=REPO) as standin:
        standin.add_user("alice", ssh_keys=[(tmp_path / "alice_ed25519.pub").read_text().strip()])
        standin.add_user("bob")
        standin.add_user("carol")
        bot = standin.add_user("jitflow-bot")
        requester = clone(bare, tmp_path / "alice")
        runner = clone(bare, tmp_path / "runner")
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("VAULT_", "BAO_", "GITHUB_"))
            },
            "VAULT_ADDR": jitflow_vault.addr,
            "VAULT_TOKEN": runner_token,
            "GITHUB_TOKEN": bot,
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": standin.api_url,
            "JITFLOW_BOT_LOGIN": "jitflow-bot",
            "JITFLOW_VAULT_IDENTITY_MOUNT": "userpass",
            # one Vault serves many worlds: each keeps its own ledger anchor
            "JITFLOW_LEDGER_ANCHOR_PATH": f"jitflow-kv/data/ledger-anchor/{tmp_path.name}",
        }
        yield World(jitflow_vault, standin, bare, requester, runner, key, env)
    # One Vault serves the worker's worlds, and a sync takes any jitflow token its ledger does
    # not record for an orphan (revoked, with a commit): the next test starts with none.
    from tests.sync.observe import revoke_leftovers  # observe imports World from here

    revoke_leftovers(jitflow_vault)
