"""vault-token grants: issue, use, revoke, confirm; TTL capping; idempotence."""

from __future__ import annotations

import time

import pytest

from jitflow.adapters.vault import GrantHandle, GrantOrder, RevokeOutcome, VaultGateway
from jitflow.adapters.vault.gateway import GatewayNames
from jitflow.core.model import GrantKind
from tests.vault.conftest import JitflowVault, api, new_request_id


def token_order(duration: int = 600, **overrides: object) -> GrantOrder:
    fields: dict[str, object] = {
        "request_id": new_request_id(),
        "policy": "read-secrets",
        "requester": "alice",
        "kind": GrantKind.VAULT_TOKEN,
        "duration_seconds": duration,
        "vault_policies": ("jitflow-readonly",),
    }
    fields.update(overrides)
    return GrantOrder(**fields)  # type: ignore[arg-type]


def handle_of(order: GrantOrder, accessor: str | None) -> GrantHandle:
    return GrantHandle(order.request_id, order.kind, accessor, {})


def test_token_is_issued_usable_then_revoked(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    order = token_order(duration=900)
    grant = gateway.issue(order)
    token = grant.secret.values["token"] if grant.secret else ""
    assert token and grant.accessor
    assert grant.granted_ttl_seconds == 900 and not grant.capped
    assert abs(grant.expires_at.timestamp() - (time.time() + 900)) < 30

    me = api(jitflow_vault.addr, token, "GET", "auth/token/lookup-self")
    assert me.status_code == 200
    data = me.json()["data"]
    assert data["orphan"] is True and data["type"] == "service" and data["renewable"] is False
    assert "jitflow-readonly" in data["policies"]
    assert data["meta"] == {
        "jitflow_request": order.request_id,
        "jitflow_policy": "read-secrets",
        "jitflow_requester": "alice",
        "jitflow_kind": "vault-token",
    }
    assert data["display_name"].endswith(f"jitflow-{order.request_id}")

    assert gateway.revoke(handle_of(order, grant.accessor)) is RevokeOutcome.REVOKED
    assert api(jitflow_vault.addr, token, "GET", "auth/token/lookup-self").status_code == 403
    assert gateway.lookup_accessor(grant.accessor) is None


def test_revoke_twice_is_idempotent(gateway: VaultGateway) -> None:
    order = token_order()
    grant = gateway.issue(order)
    handle = handle_of(order, grant.accessor)
    assert gateway.revoke(handle) is RevokeOutcome.REVOKED
    assert gateway.revoke(handle) is RevokeOutcome.ALREADY_GONE


def test_revoke_after_expiry_is_success(gateway: VaultGateway) -> None:
    order = token_order(duration=2)
    grant = gateway.issue(order)
    assert grant.granted_ttl_seconds == 2
    deadline = time.monotonic() + 15
    while gateway.lookup_accessor(grant.accessor or "") is not None:
        assert time.monotonic() < deadline, "token did not expire"
        time.sleep(0.5)
    assert gateway.revoke(handle_of(order, grant.accessor)) is RevokeOutcome.ALREADY_GONE


def test_ttl_capped_by_token_role_is_recorded(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    role = "jitflow-capped"
    answer = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "POST",
        f"auth/token/roles/{role}",
        {
            "allowed_policies": ["jitflow-readonly"],
            "orphan": True,
            "token_type": "service",
            "renewable": False,
            "token_explicit_max_ttl": "300s",
        },
    )
    assert answer.status_code == 204
    policy = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "POST",
        "sys/policies/acl/jitflow-runner-capped",
        {"policy": f'path "auth/token/create/{role}" {{ capabilities = ["update"] }}'},
    )
    assert policy.status_code == 204
    capped_runner = VaultGateway(
        jitflow_vault.addr,
        _runner_with(jitflow_vault, "jitflow-runner-capped"),
        names=GatewayNames(token_role=role),
    )
    grant = capped_runner.issue(token_order(duration=3600))
    assert grant.capped is True
    assert 0 < grant.granted_ttl_seconds <= 300
    assert grant.expires_at.timestamp() <= time.time() + 301
    gateway.revoke(GrantHandle("x", GrantKind.VAULT_TOKEN, grant.accessor, {}))


def _runner_with(vault: JitflowVault, extra_policy: str) -> str:
    from tests.vault.conftest import make_token

    return make_token(vault, [vault.setup.runner_policy, extra_policy])


def test_listing_finds_jitflow_tokens_only(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    order = token_order(policy="listing", requester="bob")
    grant = gateway.issue(order)
    listed = {info.accessor: info for info in gateway.list_jitflow_tokens()}
    assert grant.accessor in listed
    info = listed[grant.accessor or ""]
    assert (info.request_id, info.policy, info.requester) == (order.request_id, "listing", "bob")
    assert info.expire_time is not None and info.ttl > 0
    assert all(i.request_id for i in listed.values())
    gateway.revoke(handle_of(order, grant.accessor))
    assert grant.accessor not in {i.accessor for i in gateway.list_jitflow_tokens()}


def test_issue_refuses_policies_outside_the_token_role(gateway: VaultGateway) -> None:
    from jitflow.errors import VaultError

    with pytest.raises(VaultError, match=r"403|400"):
        gateway.issue(token_order(vault_policies=("root",)))
