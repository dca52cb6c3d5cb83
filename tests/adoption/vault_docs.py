"""Run docs/vault-setup.md's `sh` blocks, as an admin would, against a fresh OpenBao.

What can't be the same on a test machine is substituted, and only that (each key must occur
in the page, so a reworded page fails here instead of being silently skipped):

- the server address and the repository name;
- GitHub's OIDC discovery URL: OpenBao can't reach token.actions.githubusercontent.com, so the
  JWT auth method gets the test signer's public key (`jwt_validation_pubkeys`) instead;
- the database host, database and admin password: the test PostgreSQL's.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from jitflow.sandbox.servers.openbao import OpenBaoDevServer, find_bao
from jitflow.sandbox.servers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "vault-setup.md"
_DISCOVERY = "oidc_discovery_url=https://token.actions.githubusercontent.com"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.M | re.S)


def run_vault_setup(
    server: OpenBaoDevServer,
    repository: str,
    jwt_public_key: Path,
    postgres: PostgresServer,
    scratch: Path,
    repository_clone: Path,
) -> str:
    """Every `sh` block of the page, in order, in one shell, run (as the admin would) in a
    clone of the access repository, where step 8 writes the signers file; returns what it
    printed."""
    text = PAGE.read_text(encoding="utf-8")
    substitutions = {
        "export VAULT_ADDR=https://vault.example.com:8200": f"export VAULT_ADDR={server.addr}",
        "REPO=example-org/access": f"REPO={repository}",
        _DISCOVERY: f"jwt_validation_pubkeys=@{jwt_public_key}",
        "db.example.com:5432/app": f"{postgres.host}:{postgres.port}/{postgres.database}",
    }
    for old in substitutions:
        assert old in text, f"docs/vault-setup.md no longer says {old!r}: update this test"
    script = "\n".join(sh_blocks(text))
    for old, new in substitutions.items():
        script = script.replace(old, new)
    password = "vault-admin-" + os.urandom(8).hex()
    postgres.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault_admin') THEN "
        "CREATE ROLE vault_admin LOGIN SUPERUSER; END IF; END $$; "
        f"ALTER ROLE vault_admin PASSWORD '{password}';"
    )
    bao = find_bao()
    assert bao is not None
    env = {
        "PATH": f"{Path(bao).parent}:/usr/bin:/bin",
        "HOME": str(scratch),
        "BAO_TOKEN": server.root_token,
        "VAULT_TOKEN": server.root_token,
        "DB_ADMIN_PASSWORD": password,
    }
    if Path(bao).name != "bao":  # the bundled binary under another name: put `bao` on PATH
        (scratch / "bin").mkdir()
        (scratch / "bin" / "bao").symlink_to(bao)
        env["PATH"] = f"{scratch / 'bin'}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=repository_clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"docs/vault-setup.md failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
