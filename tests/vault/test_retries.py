"""Transient answers are tried again by the session's urllib3 `Retry`; a call that must not
happen twice (`retry=False`) is sent once, whatever Vault answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jitflow.adapters.vault.transport import Transport, VaultApiError
from tests.conftest_servers import JitflowVault
from tests.sync.vault_proxy import CuttableVaultProxy


@pytest.fixture()
def proxy(jitflow_vault: JitflowVault) -> Iterator[CuttableVaultProxy]:
    with CuttableVaultProxy(jitflow_vault.addr) as relay:
        yield relay


def test_transient_answers_are_tried_again(proxy: CuttableVaultProxy, runner_token: str) -> None:
    transport = Transport(proxy.addr, runner_token, retries=3, backoff=0.01)
    proxy.answer_with("GET", "auth/token/lookup-self", 503, ("Vault is sealed",), times=2)
    proxy.answer_with("GET", "sys/mounts", 500, ("internal error",), times=4)

    answer = transport.call("GET", "auth/token/lookup-self")

    assert answer is not None and answer["data"]["id"] == runner_token
    assert proxy.relayed("GET", "auth/token/lookup-self") == 1  # after two 503s
    with pytest.raises(VaultApiError) as caught:
        transport.call("GET", "sys/mounts")  # 1 + 3 tries, all answered 500
    assert caught.value.status == 500 and "internal error" in caught.value.message
    assert proxy.relayed("GET", "sys/mounts") == 0
    assert runner_token not in str(caught.value)


def test_a_call_that_must_not_happen_twice_is_sent_once(
    proxy: CuttableVaultProxy, runner_token: str
) -> None:
    transport = Transport(proxy.addr, runner_token, retries=3, backoff=0.01)
    proxy.answer_with("GET", "auth/token/lookup-self", 502, ("bad gateway",), times=1)

    with pytest.raises(VaultApiError) as caught:  # a retry would have gone through
        transport.call("GET", "auth/token/lookup-self", retry=False)

    assert caught.value.status == 502
    assert proxy.relayed("GET", "auth/token/lookup-self") == 0
    assert transport.call("GET", "auth/token/lookup-self", retry=False) is not None
    assert proxy.relayed("GET", "auth/token/lookup-self") == 1
