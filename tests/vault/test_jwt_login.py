"""GitHub Actions OIDC login: only the sync workflow on main, in the jitflow environment."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from jitflow.adapters.vault import VaultGateway
from jitflow.errors import ConfigError, VaultError
from tests.conftest_servers import JwtSigner, github_claims
from tests.vault.conftest import JitflowVault

ClaimsFor = Callable[[str], dict[str, Any]]


class ActionsTokenEndpoint:
    """Stands in for ACTIONS_ID_TOKEN_REQUEST_URL: checks the bearer, signs for the audience."""

    def __init__(self, signer: JwtSigner) -> None:
        self.bearer = secrets.token_urlsafe(24)
        self.claims_for: ClaimsFor = lambda audience: github_claims(audience)
        self.issued: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"bearer {endpoint.bearer}":
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlparse(self.path).query)
                audience = query.get("audience", [""])[0]
                token = signer.sign(endpoint.claims_for(audience))
                endpoint.issued.append(token)
                body = json.dumps({"value": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/token?api-version=2.0"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def endpoint(jwt_signer: JwtSigner) -> Iterator[ActionsTokenEndpoint]:
    server = ActionsTokenEndpoint(jwt_signer)
    yield server
    server.close()


def actions_env(
    vault: JitflowVault, endpoint: ActionsTokenEndpoint, **extra: str
) -> dict[str, str]:
    env = {
        "VAULT_ADDR": vault.addr,
        "ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": endpoint.bearer,
        "JITFLOW_VAULT_ROLE": vault.setup.jwt_role or "",
        "JITFLOW_VAULT_IDENTITY_MOUNT": vault.setup.identity_mount,
    }
    env.update(extra)
    return env


def test_sync_workflow_on_main_logs_in_with_the_runner_policy(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    gateway = VaultGateway.from_env(actions_env(jitflow_vault, endpoint))
    me = gateway.whoami()
    assert jitflow_vault.setup.runner_policy in me.policies
    assert gateway.identity_mount == "userpass"
    assert endpoint.issued, "the OIDC endpoint was not asked"
    assert endpoint.issued[0] not in repr(gateway)


def _refused(
    vault: JitflowVault, endpoint: ActionsTokenEndpoint, claims: ClaimsFor, **env: str
) -> VaultError:
    endpoint.claims_for = claims
    with pytest.raises(VaultError, match="refused the GitHub OIDC login") as caught:
        VaultGateway.from_env(actions_env(vault, endpoint, **env))
    for token in endpoint.issued:
        assert token not in str(caught.value)
    assert endpoint.bearer not in str(caught.value)
    return caught.value


def test_other_repository_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    error = _refused(
        jitflow_vault,
        endpoint,
        lambda aud: {**github_claims(aud), "repository": "evil/fork"},
    )
    assert 'claim "repository"' in str(error)
    # and a real token from the fork (its own subject) is refused by the subject binding
    error = _refused(
        jitflow_vault, endpoint, lambda aud: github_claims(aud, repository="evil/fork")
    )
    assert "sub" in str(error)


def test_other_branch_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    error = _refused(
        jitflow_vault, endpoint, lambda aud: github_claims(aud, ref="refs/heads/feature")
    )
    assert 'claim "ref"' in str(error)


def test_other_environment_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    error = _refused(jitflow_vault, endpoint, lambda aud: github_claims(aud, environment="staging"))
    assert 'claim "environment"' in str(error)


def test_wrong_audience_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    error = _refused(
        jitflow_vault, endpoint, github_claims, JITFLOW_VAULT_AUDIENCE="https://github.com/x"
    )
    assert "https://github.com/x" in str(error) and "aud" in str(error)


def test_pull_request_run_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    error = _refused(
        jitflow_vault,
        endpoint,
        lambda aud: github_claims(
            aud,
            ref="refs/pull/1/merge",
            event_name="pull_request",
            environment=None,
            sub="repo:example-org/access:pull_request",
        ),
    )
    assert "sub" in str(error)


def test_other_workflow_on_main_is_refused(
    jitflow_vault: JitflowVault, endpoint: ActionsTokenEndpoint
) -> None:
    other = "example-org/access/.github/workflows/other.yml@refs/heads/main"
    error = _refused(
        jitflow_vault,
        endpoint,
        lambda aud: github_claims(aud, workflow_ref=other, job_workflow_ref=other),
    )
    assert "workflow_ref" in str(error)


def test_missing_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="VAULT_ADDR"):
        VaultGateway.from_env({})
    with pytest.raises(ConfigError, match="id-token: write"):
        VaultGateway.from_env({"VAULT_ADDR": "http://127.0.0.1:1"})


def test_vault_token_from_env_is_used(jitflow_vault: JitflowVault, runner_token: str) -> None:
    gateway = VaultGateway.from_env({"VAULT_ADDR": jitflow_vault.addr, "VAULT_TOKEN": runner_token})
    assert jitflow_vault.setup.runner_policy in gateway.whoami().policies
    assert runner_token not in repr(gateway)
