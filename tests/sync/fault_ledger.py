"""After a fault and a settling run: does Vault match the ledger exactly, for every kind?

Looked at from outside: Vault as root (tokens, the group's members, database leases), the
relay's record of what Vault signed, main in the bare repository, and the PR comments.
"""

from __future__ import annotations

import json

from jitflow.adapters.git import Git
from jitflow.adapters.vault.sshcert import parse_certificate
from tests.sync.conftest import World, vault_api
from tests.sync.observe import active_grant, archived, vault_tokens
from tests.sync.test_kinds_through_sync import GROUP_POLICY, SSH_POLICY, _publish, _ssh_request
from tests.sync.test_secret_grant import CERT_POLICY
from tests.sync.vault_proxy import CuttableVaultProxy

_SIGN = "ssh/sign/jitflow-user"


def merge_one_of_each(world: World) -> dict[str, tuple[str, int]]:
    """One approved, merged request per grant kind (database when PostgreSQL is there)."""
    _publish(world, {"policies/oncall.yaml": GROUP_POLICY, "policies/ssh-prod.yaml": SSH_POLICY})
    _publish(world, {"policies/client-cert.yaml": CERT_POLICY})
    merged = {
        "vault-token": world.approved_merge("ops-read"),
        "secret": world.approved_merge("client-cert", duration="30m"),
        "identity-group": world.approved_merge("oncall"),
        "ssh": _ssh_request(world),
    }
    if world.vault.postgres is not None:
        merged["database"] = world.approved_merge("orders-db")
    return merged


def group_members(world: World) -> set[str]:
    path = f"identity/group/name/{world.vault.setup.group}"
    answer = vault_api(world.vault.addr, world.vault.root_token, "GET", path)
    answer.raise_for_status()
    return set(answer.json()["data"].get("member_entity_ids") or [])


def database_leases(world: World, prefix: str = "database/creds/readwrite/") -> set[str]:
    path = f"sys/leases/lookup/{prefix}"
    answer = vault_api(world.vault.addr, world.vault.root_token, "LIST", path)
    if answer.status_code == 404:
        return set()
    answer.raise_for_status()
    return {f"{prefix}{k}" for k in answer.json()["data"]["keys"]}


def signed_serials(proxy: CuttableVaultProxy) -> list[str]:
    """Serials of every user certificate Vault signed, whether or not the sync heard back."""
    return [serial for serial, _ in signed_certificates(proxy)]


def signed_certificates(proxy: CuttableVaultProxy) -> list[tuple[str, str]]:
    """(serial, key id) of every user certificate Vault signed."""
    found = []
    for body in proxy.answers("POST", _SIGN):
        data = json.loads(body)["data"]
        found.append((data["serial_number"], parse_certificate(data["signed_key"]).key_id))
    return found


def _recorded_certificates(world: World, request_id: str) -> tuple[set[str], set[str]]:
    """(serials the ledger records, key ids of certificates it records as lost)."""
    records = [{"grant": active_grant(world, request_id) or {}}, *archived(world, request_id)]
    vaults = [r.get("grant", {}).get("vault", {}) for r in records]
    log = Git(world.bare).run("log", "--format=%B", "main")
    serials = {v["cert_serial"] for v in vaults if v.get("cert_serial")}
    serials |= {word.strip(",.()") for word in log.split() if len(word) > 8}
    lost = {v.get("cert_key_id", "") for v in vaults if v.get("cert_serial") == "unknown"}
    return serials, lost


def _told(world: World, request_id: str, number: int) -> bool:
    marker = f"<!-- jitflow:status:{request_id} -->"
    return any(marker in str(c["body"]) for c in world.standin.comments(number))


def assert_ledger_matches_vault(
    world: World,
    proxy: CuttableVaultProxy,
    merged: dict[str, tuple[str, int]],
    draw: str,
    *,
    ended: bool = False,
) -> None:
    """Every request's record matches Vault; with `ended`, every grant is over and gone."""
    live = vault_tokens(world.vault)
    members, leases = group_members(world), database_leases(world)
    alice = world.vault.setup.entity_ids["alice"]
    for kind, (request_id, number) in merged.items():
        grant = active_grant(world, request_id)
        where = f"{draw}: {kind} {request_id}"
        assert not (ended and grant), f"{where}: still active after its expiry"
        vault = (grant or {}).get("vault", {})
        recorded = {vault.get("accessor"), vault.get("receipt_accessor")} - {None}
        assert set(live.get(request_id, [])) == recorded, f"{where}: tokens {live} vs {vault}"
        assert grant or archived(world, request_id), f"{where}: neither issued nor ended"
        assert _told(world, request_id, number), f"{where}: the requester was told nothing"
        if kind == "identity-group":
            assert (alice in members) == (grant is not None), f"{where}: membership {members}"
        if kind == "database":
            held = {vault["lease_id"]} if grant else set()
            assert leases == held, f"{where}: leases {leases} vs {held}"
        if kind == "secret":
            certificates = database_leases(world, "pki/issue/jitflow-client/")
            held = {vault["lease_id"]} if grant else set()
            assert certificates == held, f"{where}: certificate leases {certificates} vs {held}"
        if kind == "ssh":
            signed = signed_certificates(proxy)
            assert len(signed) <= 1, f"{where}: signed {len(signed)} certificates"
            serials, lost = _recorded_certificates(world, request_id)
            for serial, key_id in signed:
                # a certificate whose answer died with its run is recorded by its key id
                known = serial in serials or key_id in lost
                assert known, f"{where}: certificate {serial} ({key_id}) not in the ledger"
