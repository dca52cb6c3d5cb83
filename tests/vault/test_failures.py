"""Failures are loud and clear, never reported as success, and never leak a token."""

from __future__ import annotations

import pytest

from jitflow.adapters.vault import (
    GrantHandle,
    GrantOrder,
    RevokeOutcome,
    Secret,
    VaultGateway,
    WrappingTokenUsedError,
)
from jitflow.core.model import GrantKind
from jitflow.errors import VaultError
from jitflow.sandbox.servers.openbao import OpenBaoDevServer
from jitflow.sandbox.servers.vault_setup import configure_dev_vault
from tests.vault.conftest import JitflowVault, api, make_token, new_request_id


def order() -> GrantOrder:
    return GrantOrder(
        request_id=new_request_id(),
        policy="p",
        requester="alice",
        kind=GrantKind.VAULT_TOKEN,
        duration_seconds=600,
        vault_policies=("jitflow-readonly",),
    )


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    text = f"{error} {error!r} {getattr(error, 'message', '')}"
    for secret in secrets:
        assert secret not in text


def test_revoke_without_permission_is_an_error_not_success(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    grant = gateway.issue(order())
    weak = make_token(jitflow_vault, ["default"])
    weak_gateway = VaultGateway(jitflow_vault.addr, weak, backoff=0.01)
    handle = GrantHandle("weak", GrantKind.VAULT_TOKEN, grant.accessor, {})
    with pytest.raises(VaultError, match="403") as caught:
        weak_gateway.revoke(handle)
    assert "permission denied" in str(caught.value)
    assert_no_secret(caught.value, weak, grant.secret.values["token"] if grant.secret else "")
    assert gateway.lookup_accessor(grant.accessor or "") is not None  # still alive
    assert gateway.revoke(handle) is RevokeOutcome.REVOKED


def test_stopped_server_gives_a_clear_error(private_server: OpenBaoDevServer) -> None:
    configure_dev_vault(private_server.addr, private_server.root_token)
    gateway = VaultGateway(private_server.addr, private_server.root_token, backoff=0.01)
    grant = gateway.issue(order())
    private_server.stop()
    handle = GrantHandle("down", GrantKind.VAULT_TOKEN, grant.accessor, {})
    with pytest.raises(VaultError) as caught:
        gateway.revoke(handle)
    message = str(caught.value)
    assert "cannot reach Vault" in message and private_server.addr in message
    assert "VAULT_ADDR" in message
    assert_no_secret(caught.value, private_server.root_token)
    with pytest.raises(VaultError, match="cannot reach Vault"):
        gateway.health()


def test_sealed_server_gives_a_clear_error(private_server: OpenBaoDevServer) -> None:
    configure_dev_vault(private_server.addr, private_server.root_token)
    gateway = VaultGateway(private_server.addr, private_server.root_token, backoff=0.01)
    grant = gateway.issue(order())
    gateway.health()
    private_server.bao("operator", "seal")
    with pytest.raises(VaultError, match="sealed") as caught:
        gateway.health()
    assert "bao operator unseal" in str(caught.value)
    handle = GrantHandle("sealed", GrantKind.VAULT_TOKEN, grant.accessor, {})
    with pytest.raises(VaultError, match="sealed") as revoke_error:
        gateway.revoke(handle)
    assert "503" in str(revoke_error.value)
    assert_no_secret(revoke_error.value, private_server.root_token)


def test_wrap_then_unwrap_once(gateway: VaultGateway, jitflow_vault: JitflowVault) -> None:
    secret = Secret({"username": "u1", "password": "p-" + new_request_id()})
    wrapping_token = gateway.wrap(secret, ttl_seconds=120)
    lookup = api(jitflow_vault.addr, "", "POST", "sys/wrapping/lookup", {"token": wrapping_token})
    assert lookup.status_code == 200 and lookup.json()["data"]["creation_ttl"] == 120

    reader = VaultGateway(jitflow_vault.addr, "")  # the recipient needs no Vault token
    assert reader.unwrap(wrapping_token).values == secret.values
    with pytest.raises(WrappingTokenUsedError, match="intercepted") as caught:
        reader.unwrap(wrapping_token)
    assert_no_secret(caught.value, wrapping_token, secret.values["password"])


def test_secret_and_gateway_reprs_hide_values(gateway: VaultGateway, runner_token: str) -> None:
    grant = gateway.issue(order())
    assert grant.secret is not None
    token = grant.secret.values["token"]
    for text in (repr(grant), str(grant), repr(grant.secret), str(grant.secret), repr(gateway)):
        assert token not in text and runner_token not in text
    gateway.revoke(GrantHandle("x", GrantKind.VAULT_TOKEN, grant.accessor, {}))
