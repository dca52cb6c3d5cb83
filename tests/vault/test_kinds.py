"""database, ssh and identity-group grants end to end against real servers."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from jitflow.adapters.vault import GrantHandle, GrantOrder, RevokeOutcome, VaultGateway
from jitflow.core.model import GrantKind
from jitflow.errors import JitflowError
from jitflow.sandbox.servers.postgres import PostgresServer
from tests.vault.conftest import JitflowVault, api, new_request_id


def db_order(vault: JitflowVault, duration: int = 600) -> GrantOrder:
    return GrantOrder(
        request_id=new_request_id(),
        policy="db-write",
        requester="alice",
        kind=GrantKind.DATABASE,
        duration_seconds=duration,
        mount=vault.setup.database_mount or "",
        role=vault.setup.database_role or "",
    )


def role_exists(pg: PostgresServer, name: str) -> bool:
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name), name
    result = pg.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{name}'")  # noqa: S608
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() == "1"


def test_database_credentials_work_then_die_with_revoke(
    gateway: VaultGateway, jitflow_vault: JitflowVault, postgres: PostgresServer
) -> None:
    assert postgres.psql("CREATE TABLE IF NOT EXISTS probe (note text)").returncode == 0
    order = db_order(jitflow_vault)
    grant = gateway.issue(order)
    assert grant.secret is not None
    user, password = grant.secret.values["username"], grant.secret.values["password"]
    assert grant.identifiers["db_username"] == user
    assert grant.identifiers["lease_id"].startswith("database/creds/readwrite/")
    assert password not in repr(grant) and password not in str(grant.identifiers)

    written = postgres.psql("INSERT INTO probe VALUES ('hello')", user=user, password=password)
    assert written.returncode == 0, written.stderr
    assert role_exists(postgres, user)

    handle = GrantHandle(order.request_id, order.kind, grant.accessor, grant.identifiers)
    assert gateway.revoke(handle) is RevokeOutcome.REVOKED
    refused = postgres.psql("SELECT 1", user=user, password=password)
    assert refused.returncode != 0
    assert not role_exists(postgres, user)
    assert gateway.revoke(handle) is RevokeOutcome.ALREADY_GONE


def test_database_lease_is_a_child_of_the_anchor_token(
    gateway: VaultGateway, jitflow_vault: JitflowVault, postgres: PostgresServer
) -> None:
    order = db_order(jitflow_vault)
    grant = gateway.issue(order)
    user = grant.identifiers["db_username"]
    assert role_exists(postgres, user)
    # Revoke the anchor alone (no lease id): Vault must revoke the credentials with it.
    gateway.revoke(GrantHandle(order.request_id, order.kind, grant.accessor, {}))
    deadline = time.monotonic() + 20
    while role_exists(postgres, user):
        assert time.monotonic() < deadline, "database role outlived its anchor token"
        time.sleep(0.2)


def test_database_lease_ttl_follows_the_anchor(
    gateway: VaultGateway, jitflow_vault: JitflowVault, postgres: PostgresServer
) -> None:
    grant = gateway.issue(db_order(jitflow_vault, duration=120))
    assert 100 <= grant.granted_ttl_seconds <= 120
    assert grant.expires_at.timestamp() <= time.time() + 121
    gateway.revoke(GrantHandle("x", GrantKind.DATABASE, grant.accessor, grant.identifiers))


def ssh_keypair(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    return key


def ssh_validity(cert_path: Path) -> tuple[datetime, datetime, list[str]]:
    shown = subprocess.run(
        ["ssh-keygen", "-L", "-f", str(cert_path)], check=True, capture_output=True, text=True
    ).stdout
    valid = re.search(r"Valid: from (\S+) to (\S+)", shown)
    assert valid, shown
    principals_block = shown.split("Principals:", 1)[1].split("Critical Options:", 1)[0]
    principals = [line.strip() for line in principals_block.splitlines() if line.strip()]
    return datetime.fromisoformat(valid[1]), datetime.fromisoformat(valid[2]), principals


def ssh_order(vault: JitflowVault, key: Path, duration: int) -> GrantOrder:
    return GrantOrder(
        request_id=new_request_id(),
        policy="ssh-prod",
        requester="alice",
        kind=GrantKind.SSH,
        duration_seconds=duration,
        mount=vault.setup.ssh_mount,
        role=vault.setup.ssh_role,
        principals=("ubuntu", "deploy"),
        ssh_public_key=(key.parent / (key.name + ".pub")).read_text(),
    )


def test_ssh_certificate_has_the_duration_and_principals(
    gateway: VaultGateway, jitflow_vault: JitflowVault, tmp_path: Path
) -> None:
    key = ssh_keypair(tmp_path)
    order = ssh_order(jitflow_vault, key, duration=1800)
    grant = gateway.issue(order)
    # the anchor token records the grant in Vault; the receipt, the certificate and serial
    assert grant.secret is None and grant.accessor and grant.public_material
    receipt = gateway.lookup_accessor(grant.identifiers["receipt_accessor"])
    assert receipt is not None and receipt.receipt_of == grant.accessor
    assert receipt.meta["jitflow_cert_serial"] == grant.identifiers["cert_serial"]
    assert receipt.meta["jitflow_certificate"] == grant.public_material.strip()
    cert_path = tmp_path / "id_ed25519-cert.pub"
    cert_path.write_text(grant.public_material)
    valid_from, valid_to, principals = ssh_validity(cert_path)
    not_before = 1  # the role's not_before_duration backdates the start by 1s
    assert (valid_to - valid_from).total_seconds() == 1800 + not_before
    assert sorted(principals) == ["deploy", "ubuntu"]
    assert abs(grant.expires_at.timestamp() - (time.time() + 1800)) < 30
    assert not grant.capped and 1790 <= grant.granted_ttl_seconds <= 1800
    assert grant.identifiers["cert_serial"]
    handle = GrantHandle(order.request_id, order.kind, grant.accessor, grant.identifiers)
    assert gateway.revoke(handle) is RevokeOutcome.NOT_REVOCABLE
    assert gateway.lookup_accessor(grant.accessor) is None  # its records end with it
    assert gateway.lookup_accessor(grant.identifiers["receipt_accessor"]) is None


def test_ssh_ttl_capped_by_role_max(
    gateway: VaultGateway, jitflow_vault: JitflowVault, tmp_path: Path
) -> None:
    key = ssh_keypair(tmp_path)
    grant = gateway.issue(ssh_order(jitflow_vault, key, duration=48 * 3600))  # role max 24h
    assert grant.capped is True
    assert 24 * 3600 - 30 <= grant.granted_ttl_seconds <= 24 * 3600


def group_members(vault: JitflowVault) -> list[str]:
    answer = api(vault.addr, vault.root_token, "GET", f"identity/group/name/{vault.setup.group}")
    return list(answer.json()["data"].get("member_entity_ids") or [])


def carol_oncall_order(vault: JitflowVault) -> GrantOrder:
    return GrantOrder(
        request_id=new_request_id(),
        policy="oncall",
        requester="carol",
        kind=GrantKind.IDENTITY_GROUP,
        duration_seconds=600,
        group=vault.setup.group,
    )


def test_identity_group_membership_added_then_removed(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    order = carol_oncall_order(jitflow_vault)
    carol = jitflow_vault.setup.entity_ids["carol"]
    assert carol not in group_members(jitflow_vault)
    grant = gateway.issue(order)
    assert grant.identifiers["entity_id"] == carol
    assert grant.identifiers["group_id"] == jitflow_vault.setup.group_id
    assert carol in group_members(jitflow_vault)
    group = api(
        jitflow_vault.addr,
        jitflow_vault.root_token,
        "GET",
        f"identity/group/name/{jitflow_vault.setup.group}",
    ).json()["data"]
    assert group["policies"] == ["jitflow-oncall-admin"]  # other fields survive the update

    assert grant.accessor is not None
    anchor = gateway.lookup_accessor(grant.accessor)  # recorded in Vault before the write
    assert anchor is not None and anchor.meta["jitflow_entity"] == carol
    assert anchor.meta["jitflow_group"] == jitflow_vault.setup.group

    handle = GrantHandle(order.request_id, order.kind, grant.accessor, grant.identifiers)
    assert gateway.revoke(handle) is RevokeOutcome.REVOKED
    assert carol not in group_members(jitflow_vault)
    assert gateway.lookup_accessor(grant.accessor) is None
    assert gateway.revoke(handle) is RevokeOutcome.ALREADY_GONE


def test_identity_group_membership_held_by_another_grant_stays(
    gateway: VaultGateway, jitflow_vault: JitflowVault
) -> None:
    order = carol_oncall_order(jitflow_vault)
    carol = jitflow_vault.setup.entity_ids["carol"]
    grant = gateway.issue(order)
    held = GrantHandle(
        order.request_id, order.kind, grant.accessor, grant.identifiers, keep_membership=True
    )
    assert gateway.revoke(held) is RevokeOutcome.REVOKED
    assert carol in group_members(jitflow_vault)  # the ledger says another grant holds it
    assert gateway.lookup_accessor(grant.accessor or "") is None
    freed = GrantHandle(order.request_id, order.kind, None, grant.identifiers)
    assert gateway.revoke(freed) is RevokeOutcome.REVOKED
    assert carol not in group_members(jitflow_vault)


def test_identity_group_unknown_login_is_a_clear_error(gateway: VaultGateway) -> None:
    order = GrantOrder(
        request_id=new_request_id(),
        policy="oncall",
        requester="mallory",
        kind=GrantKind.IDENTITY_GROUP,
        duration_seconds=600,
        group="jitflow-oncall",
    )
    with pytest.raises(JitflowError, match="no Vault entity has the alias 'mallory'"):
        gateway.issue(order)
