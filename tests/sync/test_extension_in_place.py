"""Extending a grant in place, end to end against OpenBao and PostgreSQL: the same credentials
(same accessor, same database user, the session held open stays) are renewed to the new end,
Vault's own end is the ledger's, and the holder can't renew them without approval."""

# ruff: noqa: S608  (SQL built from Vault's generated login)
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from jitflow.adapters.vault import VaultGateway
from jitflow.core.times import parse_time
from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import World, run_creds, vault_api
from tests.sync.observe import active_grant, archived, events
from tests.sync.test_extension import EXT_POLICY, _extension, _token_end
from tests.sync.test_extension_kinds import DB_POLICY, EXTENDABLE, _database_creds
from tests.sync.test_kinds_through_sync import _publish
from tests.sync.test_live_sessions import _held_session, _sql, _table


def _vault_end(world: World, accessor: str) -> datetime | None:
    found = _token_end(world, accessor)
    return None if found is None else parse_time(found[1][:19] + "Z")


def _near(a: datetime, b: datetime, seconds: int = 10) -> bool:
    """Within a few seconds: Vault counts from its own clock, a moment after ours (more on a
    loaded machine)."""
    return abs(a - b) <= timedelta(seconds=seconds)


def _verify_vault(world: World, *ids: str) -> list[str]:
    """`audit verify --vault`'s findings about these grants (the shared OpenBao holds other
    tests' tokens too)."""
    world.runner.run("fetch", "--quiet", "origin")
    options = VerifyOptions(repo=world.runner.path, ref="origin/main", vault=True)
    report = run_verify(options, VaultGateway.from_env(world.env))
    return [f"{v.code}: {v.message}" for v in report.violations if v.request_id in ids]


def test_vault_token_is_renewed_in_place_and_its_holder_cannot_renew_it(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ops-ext.yaml": EXT_POLICY})
    grant_id, _ = world.approved_merge("ops-ext")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None
    accessor = old["vault"]["accessor"]
    ceiling = parse_time(old["vault"]["renewable_until"])  # fixed at issue: total_max 2h
    # Vault counts it from its own issue time, after the sync read its clock (seconds, more
    # on a loaded machine)
    drift = ceiling - (parse_time(old["issued_at"]) + timedelta(hours=2, minutes=1))
    assert timedelta(0) <= drift <= timedelta(minutes=2)
    world.runner.run("fetch", "--quiet", "origin")
    shown = run_creds(world, grant_id, "json")
    assert shown.returncode == 0, shown.stderr
    token = json.loads(shown.stdout)["token"]

    # the holder can't extend their own grant: no `default` policy, so no renew-self
    for path, body in (
        ("auth/token/renew-self", {"increment": "2h"}),
        ("auth/token/renew", {"token": token, "increment": "2h"}),
        ("auth/token/renew-accessor", {"accessor": accessor, "increment": "2h"}),
    ):
        refused = vault_api(world.vault.addr, token, "POST", path, body)
        assert refused.status_code == 403, (path, refused.text)
    assert _near(_vault_end(world, accessor) or ceiling, parse_time(old["expires_at"]))

    ext_id, number = _extension(world, "ops-ext", grant_id, "20m")
    world.standin.merge_pull(number, "alice")
    world.sync()

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extends"] == grant_id and new["extension"] == "in-place"
    assert new["vault"]["accessor"] == accessor  # the same token
    assert new["vault"]["token_request"] == grant_id
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    assert -timedelta(seconds=2) <= parse_time(new["expires_at"]) - end <= timedelta(seconds=60)
    assert _near(_vault_end(world, accessor) or end, parse_time(new["expires_at"]))
    # the holder's token works on, and still can't renew itself
    assert vault_api(world.vault.addr, token, "GET", "secret/data/x").status_code in (200, 404)
    denied = vault_api(world.vault.addr, token, "POST", "auth/token/renew-self", {})
    assert denied.status_code == 403
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended" and record["ended"]["extension"] == "in-place"
    assert record["ended"]["extended_by"] == ext_id
    assert events(world, grant_id) == ["issue", "extend"]
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any(f"This extends `{grant_id}` **in place**" in b for b in bodies)
    assert not any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)  # nothing new to fetch
    assert _verify_vault(world, grant_id, ext_id) == []

    world.sync("--now", new["expires_at"])
    assert [r["ended"]["reason"] for r in archived(world, ext_id)] == ["expired"]
    assert _vault_end(world, accessor) is None


def test_database_lease_is_renewed_in_place_and_the_open_session_stays(
    world: World, postgres: PostgresServer
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/orders-db.yaml": DB_POLICY + EXTENDABLE})
    grant_id, _ = world.approved_merge("orders-db")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None
    user, password = _database_creds(world, grant_id)
    lease_id = old["vault"]["lease_id"]
    table = _table(postgres, grant_id, user)

    with _held_session(postgres, user, password, table) as (_, pid):
        ext_id, number = _extension(world, "orders-db", grant_id, "20m")
        world.standin.merge_pull(number, "alice")
        world.sync()
        # the same user goes on: its open session was not touched
        assert _sql(postgres, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == "1"

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extension"] == "in-place" and new["kind"] == "database"
    assert new["vault"]["db_username"] == user and new["vault"]["lease_id"] == lease_id
    new_end = parse_time(new["expires_at"])
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    assert -timedelta(seconds=2) <= new_end - end <= timedelta(seconds=60)
    # Vault's lease and the anchor token both run to the new end; PostgreSQL's too
    lease = vault_api(
        world.vault.addr, world.vault.root_token, "PUT", "sys/leases/lookup", {"lease_id": lease_id}
    ).json()["data"]
    assert _near(parse_time(lease["expire_time"][:19] + "Z"), new_end)
    assert _near(_vault_end(world, new["vault"]["accessor"]) or end, new_end)
    valid = _sql(
        postgres, f"SELECT rolvaliduntil AT TIME ZONE 'UTC' FROM pg_roles WHERE rolname = '{user}'"
    )
    assert _near(datetime.fromisoformat(valid).replace(tzinfo=UTC), new_end)
    [record] = archived(world, grant_id)
    assert record["ended"]["extension"] == "in-place"
    assert record["ended"]["extended_by"] == ext_id
    assert record["ended"]["sessions"].startswith("go on: ")
    assert _verify_vault(world, grant_id, ext_id) == []

    world.sync("--now", new["expires_at"])
    assert [r["ended"]["reason"] for r in archived(world, ext_id)] == ["expired"]
    assert _sql(postgres, f"SELECT count(*) FROM pg_roles WHERE rolname = '{user}'") == "0"


LEASED_SECRET = b"""\
name: db-secret
description: Database credentials read as a generic leased secret
grant:
  kind: secret
  path: database/creds/readwrite
  policies: [jitflow-database-readwrite]
duration: {default: 30m, max: 1h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
extension: {total_max: 3h, self_approve_up_to: 30m}
"""


def test_a_renewable_secret_lease_is_renewed_in_place(
    world: World,
    postgres: PostgresServer,  # the database engine the secret's path reads
) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/db-secret.yaml": LEASED_SECRET})
    grant_id, _ = world.approved_merge("db-secret")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None and old["vault"]["revocable"] == "true"
    ext_id, number = _extension(world, "db-secret", grant_id, "20m")
    world.standin.merge_pull(number, "alice")
    world.sync()
    new = active_grant(world, ext_id)
    assert new is not None and new["extension"] == "in-place", world.main_paths()
    assert new["vault"]["lease_id"] == old["vault"]["lease_id"]
    lease = vault_api(
        world.vault.addr,
        world.vault.root_token,
        "PUT",
        "sys/leases/lookup",
        {"lease_id": old["vault"]["lease_id"]},
    ).json()["data"]
    assert _near(parse_time(lease["expire_time"][:19] + "Z"), parse_time(new["expires_at"]))
