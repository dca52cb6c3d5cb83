"""A 403 from lookup-accessor is judged, never trusted: OpenBao answers it for a token it is
expiring (held, no longer honoured) exactly as for a caller whose own token lapsed or whose
policy lacks the capability. Only the first is "gone"; the others stop the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jitflow.adapters.vault import VaultGateway
from jitflow.errors import VaultError
from tests.conftest_servers import JitflowVault
from tests.sync.vault_proxy import CuttableVaultProxy
from tests.vault.conftest import api, make_token

_LOOKUP = "auth/token/lookup-accessor"
# OpenBao's answer, word for word, for a token between its expiry and its removal (seen by
# hammering lookup-accessor across a periodic token's expiry: 5 of 20 expiries, 8 threads)
VAULT_ENDING = ("1 error occurred:\n\t* permission denied\n\n",)
_SELF = "jitflow-test-lookup-self-only"


@pytest.fixture()
def proxy(jitflow_vault: JitflowVault) -> Iterator[CuttableVaultProxy]:
    with CuttableVaultProxy(jitflow_vault.addr) as relay:
        yield relay


def _accessor(vault: JitflowVault, token: str) -> str:
    answer = api(vault.addr, vault.root_token, "POST", "auth/token/lookup", {"token": token})
    answer.raise_for_status()
    accessor: str = answer.json()["data"]["accessor"]
    return accessor


def test_a_token_vault_is_expiring_is_gone_not_an_error(
    proxy: CuttableVaultProxy, jitflow_vault: JitflowVault, runner_token: str
) -> None:
    ending = _accessor(jitflow_vault, make_token(jitflow_vault, ["default"]))
    proxy.answer_with("POST", _LOOKUP, 403, VAULT_ENDING, body_has=ending)
    gateway = VaultGateway(proxy.addr, runner_token, backoff=0.01)

    assert gateway.lookup_accessor(ending) is None
    # judged: the runner looked itself up, then its own accessor, before believing it
    assert proxy.relayed("GET", "auth/token/lookup-self") == 1
    assert proxy.relayed("POST", _LOOKUP) == 1  # its own accessor (the ending one: canned)


def test_the_runners_own_lapsed_token_stops_the_run(jitflow_vault: JitflowVault) -> None:
    token = make_token(jitflow_vault, [jitflow_vault.setup.runner_policy])
    target = _accessor(jitflow_vault, make_token(jitflow_vault, ["default"]))
    gateway = VaultGateway(jitflow_vault.addr, token, backoff=0.01)
    assert gateway.lookup_accessor(target) is not None
    api(jitflow_vault.addr, jitflow_vault.root_token, "POST", "auth/token/revoke", {"token": token})

    with pytest.raises(VaultError, match=r"own Vault token .* is no longer valid") as caught:
        gateway.lookup_accessor(target)  # Vault says 403: about us, not about the target
    assert token not in str(caught.value)


def test_a_policy_without_lookup_accessor_stops_the_run(jitflow_vault: JitflowVault) -> None:
    policy = 'path "auth/token/lookup-self" { capabilities = ["read"] }\n'
    body = {"policy": policy}
    api(jitflow_vault.addr, jitflow_vault.root_token, "PUT", f"sys/policies/acl/{_SELF}", body)
    weak = make_token(jitflow_vault, [_SELF])  # lookup-self, but no lookup-accessor
    target = _accessor(jitflow_vault, make_token(jitflow_vault, ["default"]))
    gateway = VaultGateway(jitflow_vault.addr, weak, backoff=0.01)

    with pytest.raises(VaultError, match="may not look tokens up by accessor") as caught:
        gateway.lookup_accessor(target)
    assert "auth/token/lookup-accessor" in str(caught.value)
    assert weak not in str(caught.value)
