"""An extension by replacement whose new credentials can't be delivered: the grant it extends
is never revoked (its credentials go on to their own end) and the requester is told; for an
ssh certificate (which can't be revoked) the next sync delivers it from its receipt and only
then ends the old grant. Against OpenBao, PostgreSQL, the stand-in via PyGithub and git."""

from __future__ import annotations

import shutil

import pytest

from jitflow.adapters.vault import VaultGateway
from jitflow.sandbox.servers.postgres import PostgresServer
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived, events
from tests.sync.test_extension import _extension
from tests.sync.test_extension_kinds import (
    DB_POLICY,
    EXTENDABLE,
    _can_log_in,
    _database_creds,
)
from tests.sync.test_kinds_through_sync import SSH_POLICY, _certificate, _publish
from tests.sync.test_secret_grant import CERT_POLICY


def _fails_and_keeps_the_old_grant(world: World, policy: str, grant_id: str) -> str:
    """Extend `grant_id` while alice publishes no SSH key: the extension fails, the old grant
    stays; returns the extension's id."""
    old = active_grant(world, grant_id)
    assert old is not None
    keys = [world.key.with_name(world.key.name + ".pub").read_text().strip()]
    ext_id, number = _extension(world, policy, grant_id, "20m")
    world.standin.merge_pull(number, "alice")
    world.standin.set_ssh_keys("alice", [])  # age has nothing to encrypt to
    try:
        world.sync()
    finally:
        world.standin.set_ssh_keys("alice", keys)
    [failed] = archived(world, ext_id)
    assert failed["ended"]["reason"] == "failed"
    assert [f["code"] for f in failed["ended"]["findings"]] == ["delivery-failed"]
    assert failed["grant"]["extension"] == "replacement"
    # the old grant is untouched: still active, its token live
    assert active_grant(world, grant_id) == old
    assert events(world, grant_id) == ["issue"]
    vault = VaultGateway.from_env(world.env)
    assert vault.lookup_accessor(old["vault"]["accessor"]) is not None
    assert vault.lookup_accessor(failed["grant"]["vault"]["accessor"]) is None  # new: revoked
    # the requester is told on the extension's PR, and why
    bodies = [c["body"] for c in world.standin.comments(number)]
    [note] = [b for b in bodies if "could not be delivered" in b]
    assert "@alice" in note and "https://github.com/settings/keys" in note
    assert not any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)
    return ext_id


def test_a_database_extension_not_delivered_leaves_the_old_login_working(
    world: World, postgres: PostgresServer
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    grant_id, _ = world.approved_merge("orders-db")  # not renewable: extended by replacement
    world.sync()
    _publish(world, {"policies/orders-db.yaml": DB_POLICY + EXTENDABLE})
    user, password = _database_creds(world, grant_id)
    _fails_and_keeps_the_old_grant(world, "orders-db", grant_id)
    assert _can_log_in(postgres, user, password)


def test_a_secret_extension_not_delivered_leaves_the_old_secret(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    policy = CERT_POLICY.replace(b"default: 30s, max: 1h", b"default: 30m, max: 1h")
    _publish(world, {"policies/client-cert.yaml": policy + EXTENDABLE})
    grant_id, _ = world.approved_merge("client-cert")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None and old["vault"]["cert_serial"]
    _fails_and_keeps_the_old_grant(world, "client-cert", grant_id)


def test_an_ssh_extension_not_delivered_is_delivered_next_run_then_ends_the_old(
    world: World,
) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY + EXTENDABLE})
    public_key = world.key.with_name(world.key.name + ".pub").read_text().strip()
    head = "policy: ssh-prod\nrequester: alice\nreason: investigating the orders backlog now\n"
    grant_id, _ = world.approved_merge(
        "ssh-prod", body=f"{head}duration: 30m\nssh_public_key: {public_key}\n"
    )
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None
    body = f"{head}duration: 20m\nssh_public_key: {public_key}\nextends: {grant_id}\n"
    ext_id, number = world.request("ssh-prod", body=body)
    world.standin.merge_pull(number, "alice")  # 20m: self-approved
    # the certificate's comment can't be posted: GitHub refuses it
    world.standin.fail_next("POST", rf"/issues/{number}/comments$", 422, times=5)
    failed = world.sync(check=False)
    world.standin.clear_faults()
    assert failed.returncode != 0 and f"delivering {ext_id} failed" in failed.stdout + failed.stderr
    # a certificate can't be revoked: nothing is ended, the old grant goes on as it was
    assert active_grant(world, grant_id) == old
    assert active_grant(world, ext_id) is None and archived(world, ext_id) == []
    vault = VaultGateway.from_env(world.env)
    assert vault.lookup_accessor(old["vault"]["accessor"]) is not None

    world.sync()  # delivers the signed certificate from its receipt, then ends the old grant
    new = active_grant(world, ext_id)
    assert new is not None and new["extends"] == grant_id
    assert _certificate(world, ext_id, number)
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended" and record["ended"]["extended_by"] == ext_id
    assert record["ended"]["note"].startswith(f"still valid until {old['expires_at']}")
