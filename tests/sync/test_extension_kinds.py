"""Extending database and ssh grants end to end (stand-in via PyGithub, OpenBao, PostgreSQL,
git): the replacement credentials work up to the new end and the replaced ones end as each
kind allows (a database role is dropped and its sessions terminated; an ssh certificate
can't be revoked and is recorded so; a PKI `secret` likewise)."""

# ruff: noqa: S608  (SQL built from Vault's generated login)
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from datetime import timedelta

import pytest

from jitflow.core.times import parse_time
from jitflow.sandbox.servers.postgres import PostgresServer, find_psql
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.sync.conftest import POLICIES, World, run_creds
from tests.sync.observe import active_grant, archived, events
from tests.sync.test_extension import _extension
from tests.sync.test_kinds_through_sync import SSH_POLICY, _certificate, _publish
from tests.sync.test_live_sessions import _held_session, _sql, _table
from tests.sync.test_secret_grant import CERT_POLICY
from tests.vault.test_kinds import ssh_validity

EXTENDABLE = b"extension: {total_max: 3h, self_approve_up_to: 30m}\n"
DB_POLICY = POLICIES["policies/orders-db.yaml"]  # the sync world's own database policy


def _database_creds(world: World, request_id: str) -> tuple[str, str]:
    world.runner.run("fetch", "--quiet", "origin")
    shown = run_creds(world, request_id, "json")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    return values["username"], values["password"]


def _can_log_in(postgres: PostgresServer, user: str, password: str) -> bool:
    psql = find_psql()
    assert psql is not None
    done = subprocess.run(
        [psql, "-X", "-At", "-h", postgres.host, "-p", str(postgres.port), "-U", user,
         "-d", postgres.database, "-c", "SELECT current_user"],
        env={**os.environ, "PGPASSWORD": password}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode == 0 and done.stdout.strip() == user


def test_database_extension_new_login_works_old_role_dropped_sessions_ended(
    world: World, postgres: PostgresServer
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    # issued before the policy allowed extensions: its lease's token is not renewable, so the
    # extension is by replacement (in place: test_extension_in_place)
    grant_id, _ = world.approved_merge("orders-db")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None and "renewable_until" not in old["vault"]
    _publish(world, {"policies/orders-db.yaml": DB_POLICY + EXTENDABLE})
    old_user, old_password = _database_creds(world, grant_id)
    table = _table(postgres, grant_id, old_user)

    with _held_session(postgres, old_user, old_password, table) as (_, pid):
        ext_id, number = _extension(world, "orders-db", grant_id, "20m")
        world.standin.merge_pull(number, "alice")
        world.sync()
        # the old role's open session was terminated when it was replaced
        assert _sql(postgres, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == "0"

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extends"] == grant_id and new["kind"] == "database"
    assert new["extension"] == "replacement"
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    assert -timedelta(seconds=2) <= parse_time(new["expires_at"]) - end <= timedelta(seconds=60)
    new_user, new_password = _database_creds(world, ext_id)
    assert new_user != old_user
    assert _can_log_in(postgres, new_user, new_password)
    # the old role is gone after delivery
    assert _sql(postgres, f"SELECT count(*) FROM pg_roles WHERE rolname = '{old_user}'") == "0"
    assert not _can_log_in(postgres, old_user, old_password)
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended"
    assert record["ended"]["extended_by"] == ext_id
    assert "terminated" in record["ended"]["sessions"]
    assert events(world, grant_id) == ["issue", "extend"]

    world.sync("--now", new["expires_at"])
    assert [r["ended"]["reason"] for r in archived(world, ext_id)] == ["expired"]
    assert _sql(postgres, f"SELECT count(*) FROM pg_roles WHERE rolname = '{new_user}'") == "0"


def test_ssh_extension_signs_a_certificate_to_the_new_end(world: World) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: cannot read the certificate's validity")
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY + EXTENDABLE})
    public_key = world.key.with_name(world.key.name + ".pub").read_text().strip()
    body = (
        "policy: ssh-prod\nrequester: alice\nduration: 30m\n"
        "reason: investigating the orders backlog for the incident\n"
        f"ssh_public_key: {public_key}\n"
    )
    grant_id, number = world.approved_merge("ssh-prod", body=body)
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None
    old_cert = _certificate(world, grant_id, number)

    ext_body = (
        "policy: ssh-prod\nrequester: alice\nduration: 20m\n"
        "reason: the fix runs over, a little more time please\n"
        f"ssh_public_key: {public_key}\nextends: {grant_id}\n"
    )
    ext_id, ext_number = world.request("ssh-prod", body=ext_body)
    world.standin.merge_pull(ext_number, "alice")
    world.sync()

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extends"] == grant_id and new["kind"] == "ssh"
    assert new["vault"]["cert_serial"] != old["vault"]["cert_serial"]
    certificate = _certificate(world, ext_id, ext_number)
    assert certificate != old_cert
    cert_path = world.key.with_name(world.key.name + "-cert.pub")
    cert_path.write_text(certificate + "\n")
    _, valid_to, principals = ssh_validity(cert_path)
    assert sorted(principals) == ["deploy", "ubuntu"]
    assert parse_time(new["expires_at"]) == valid_to.astimezone()
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    assert -timedelta(seconds=2) <= parse_time(new["expires_at"]) - end <= timedelta(seconds=60)
    # the old certificate can't be revoked: recorded as ending at its own, earlier, end
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended"
    assert record["ended"]["extended_by"] == ext_id
    assert record["ended"]["sessions"].startswith("not ended: ")
    assert record["ended"]["note"] == (
        f"still valid until {old['expires_at']}: an SSH certificate can't be revoked"
    )
    assert record["ended"]["extension"] == "replacement"
    # audit says how it was extended and that the certificate outlives the grant's end
    world.runner.run("fetch", "--quiet", "origin")
    out = io.StringIO()
    run_audit(
        AuditOptions(repo=world.runner.path, ref="origin/main", format=ReportFormat.JSON), out
    )
    [row] = [r for r in json.loads(out.getvalue())["rows"] if r["id"] == grant_id]
    assert row["outcome_detail"] == f"extended (replaced) by {ext_id}"
    assert row["end_note"] == record["ended"]["note"]
    old_path = world.key.with_name("old-cert.pub")
    old_path.write_text(old_cert + "\n")
    assert ssh_validity(old_path)[1].astimezone() == parse_time(old["expires_at"])
    # and the requester is told so on the old grant's PR
    [note] = [c["body"] for c in world.standin.comments(number) if "has ended" in c["body"]]
    assert f"replaced by its extension `{ext_id}`" in note
    assert f"it stays valid until {old['expires_at']}" in note


def test_secret_extension_reads_a_new_certificate_to_the_new_end(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    policy = CERT_POLICY.replace(b"default: 30s, max: 1h", b"default: 30m, max: 1h")
    _publish(world, {"policies/client-cert.yaml": policy + EXTENDABLE})
    grant_id, old_number = world.approved_merge("client-cert")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None

    ext_id, number = _extension(world, "client-cert", grant_id, "20m")
    world.standin.merge_pull(number, "alice")
    world.sync()

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extends"] == grant_id and new["kind"] == "secret"
    assert new["vault"]["cert_serial"] != old["vault"]["cert_serial"]
    assert new["vault"]["not_after"] == new["expires_at"]
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    assert -timedelta(seconds=2) <= parse_time(new["expires_at"]) - end <= timedelta(seconds=60)
    world.runner.run("fetch", "--quiet", "origin")
    shown = run_creds(world, ext_id, "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["serial_number"] == new["vault"]["cert_serial"]
    # a PKI certificate can't be revoked early: the old one stays valid to its own end
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended"
    assert record["grant"]["vault"]["revocable"] == "false"
    not_after = old["vault"]["not_after"]
    assert record["ended"]["note"].startswith(f"still valid until {not_after}: a certificate")
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any(f"This extends `{grant_id}`" in b for b in bodies)
    [note] = [c["body"] for c in world.standin.comments(old_number) if "has ended" in c["body"]]
    assert "CRL" in note  # the old grant's PR says its certificate can't be revoked early
    assert f"It stays valid until {not_after}." in note
