"""`secret` grants against real engines: a PKI client certificate a real mTLS endpoint admits,
a certificate that would outlive its grant refused, database credentials through the generic
path (a lease that revocation really ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jitflow.adapters.vault import GrantHandle, GrantOrder, RevokeOutcome, VaultGateway
from jitflow.adapters.vault.types import SecretOutlivesGrantError
from jitflow.core.model import GrantKind
from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.sandbox.servers.vault_setup import PKI_DOMAIN
from tests.mtls import mtls_server
from tests.vault.conftest import JitflowVault, api, new_request_id
from tests.vault.test_kinds import role_exists


def pki_order(vault: JitflowVault, duration: int, ttl_param: str = "ttl") -> GrantOrder:
    setup = vault.setup
    return GrantOrder(
        request_id=new_request_id(),
        policy="client-cert",
        requester="alice",
        kind=GrantKind.SECRET,
        duration_seconds=duration,
        vault_policies=(setup.pki_policy,),
        path=f"{setup.pki_mount}/issue/{setup.pki_role}",
        method="POST",
        params=(("common_name", f"{{requester}}.{PKI_DOMAIN}"),),
        ttl_param=ttl_param,
        revocable=False,
    )


def write_pem(directory: Path, values: dict[str, str]) -> tuple[Path, Path]:
    cert, key = directory / "client.pem", directory / "client.key"
    cert.write_text(values["certificate"] + "\n")
    key.write_text(values["private_key"] + "\n")
    key.chmod(0o600)
    return cert, key


def test_pki_certificate_read_with_the_grant_token_is_admitted_and_recorded(
    gateway: VaultGateway, jitflow_vault: JitflowVault, tmp_path: Path
) -> None:
    order = pki_order(jitflow_vault, duration=600)
    before = datetime.now(UTC)
    grant = gateway.issue(order)
    assert grant.secret is not None
    values = dict(grant.secret.values)
    assert "PRIVATE KEY" in values["private_key"]
    ids = grant.identifiers
    assert ids["path"] == "pki/issue/jitflow-client" and ids["method"] == "POST"
    assert ids["revocable"] == "false" and "CRL" in ids["revocation_note"]
    assert ids["lease_id"].startswith("pki/issue/jitflow-client/")
    assert ids["cert_serial"] == values["serial_number"]
    # capped to the grant: the certificate ends no later than the grant's token
    not_after = datetime.fromtimestamp(int(values["expiration"]), UTC)
    assert grant.expires_at == not_after <= before + timedelta(seconds=601)
    assert not_after >= before + timedelta(seconds=590)
    assert values["private_key"] not in repr(grant) + str(dict(ids))

    with mtls_server(jitflow_vault.setup.pki_ca_pem, tmp_path) as server:
        read, verdict = server.connect(*write_pem(tmp_path, values))
    assert read == f"hello alice.{PKI_DOMAIN}\n"
    assert verdict == f"admitted alice.{PKI_DOMAIN}"

    # the lease is the grant token's child: Vault lists it under the token's lineage
    lease = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "PUT",
        "sys/leases/lookup",
        {"lease_id": ids["lease_id"]},
    )
    assert lease.status_code == 200, lease.text

    handle = GrantHandle(order.request_id, order.kind, grant.accessor, ids)
    assert gateway.revoke(handle) is RevokeOutcome.NOT_REVOCABLE
    assert gateway.lookup_accessor(grant.accessor or "") is None
    gone = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "PUT",
        "sys/leases/lookup",
        {"lease_id": ids["lease_id"]},
    )
    assert gone.status_code == 400  # the lease is revoked: the serial is on the CRL


def test_a_certificate_that_would_outlive_its_grant_is_refused_and_ended(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    # no TTL parameter: the PKI role's default (1h) outlives a 2-minute grant
    order = pki_order(jitflow_vault, duration=120, ttl_param="")
    with pytest.raises(SecretOutlivesGrantError) as refused:
        gateway.issue(order)
    assert "can't be revoked early" in refused.value.message
    assert "PRIVATE KEY" not in str(refused.value)
    anchors = [t for t in gateway.list_jitflow_tokens() if t.request_id == order.request_id]
    assert anchors == []  # the grant token (and with it the lease) is gone


def test_database_credentials_through_the_generic_path_die_with_revocation(
    gateway: VaultGateway, jitflow_vault: JitflowVault, postgres: PostgresServer
) -> None:
    setup = jitflow_vault.setup
    order = GrantOrder(
        request_id=new_request_id(),
        policy="db-generic",
        requester="alice",
        kind=GrantKind.SECRET,
        duration_seconds=600,
        vault_policies=(setup.database_policy or "",),
        path=f"{setup.database_mount}/creds/{setup.database_role}",
    )
    grant = gateway.issue(order)
    assert grant.secret is not None
    user, password = grant.secret.values["username"], grant.secret.values["password"]
    assert grant.identifiers["revocable"] == "true"
    assert "revocation_note" not in grant.identifiers
    assert grant.identifiers["lease_seconds"] == "3600"  # the role's default_ttl
    assert grant.expires_at <= datetime.now(UTC) + timedelta(seconds=600)
    assert postgres.psql("SELECT 1", user=user, password=password).returncode == 0

    handle = GrantHandle(order.request_id, order.kind, grant.accessor, grant.identifiers)
    assert gateway.revoke(handle) is RevokeOutcome.REVOKED
    assert not role_exists(postgres, user)
    assert postgres.psql("SELECT 1", user=user, password=password).returncode != 0


def test_creds_exports_aws_sts_credentials_as_the_aws_cli_reads_them() -> None:
    from jitflow.reporters.creds import render_credentials as render

    shown = render({"access_key": "AKIA1", "secret_key": "s'1", "security_token": "t1"}, "env")
    assert shown.splitlines() == [
        "export AWS_ACCESS_KEY_ID='AKIA1'",
        "export AWS_SECRET_ACCESS_KEY='s'\\''1'",
        "export AWS_SESSION_TOKEN='t1'",
    ]
