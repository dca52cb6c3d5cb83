"""Fixtures for the Vault adapter tests (servers come from tests/conftest_servers.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jitflow.adapters.vault import VaultGateway
from jitflow.sandbox.servers.openbao import OpenBaoDevServer
from tests.conftest_servers import JitflowVault

_ids = itertools.count(1)


def api(addr: str, token: str, method: str, path: str, body: Any = None) -> requests.Response:
    """Raw HTTP to Vault, for checking what the adapter did from the outside."""
    return requests.request(
        method, f"{addr}/v1/{path}", headers={"X-Vault-Token": token}, json=body, timeout=30
    )


def make_token(vault: JitflowVault, policies: list[str], ttl: str = "1h") -> str:
    answer = api(
        vault.addr,
        vault.root_token,
        "POST",
        "auth/token/create-orphan",
        {"policies": policies, "ttl": ttl, "no_default_policy": True},
    )
    answer.raise_for_status()
    token: str = answer.json()["auth"]["client_token"]
    return token


def new_request_id() -> str:
    return f"r{next(_ids):04d}"


@pytest.fixture(scope="session")
def runner_token(jitflow_vault: JitflowVault) -> str:
    """A token with only the documented runner policy: proves the policy is sufficient."""
    return make_token(jitflow_vault, [jitflow_vault.setup.runner_policy], ttl="4h")


@pytest.fixture()
def gateway(jitflow_vault: JitflowVault, runner_token: str) -> VaultGateway:
    return VaultGateway(jitflow_vault.addr, runner_token, backoff=0.05)


@pytest.fixture()
def private_server() -> Iterator[OpenBaoDevServer]:
    """A server of our own, for tests that stop or seal it."""
    with OpenBaoDevServer() as server:
        yield server
