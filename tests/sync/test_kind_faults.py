"""Drills: identity-group and ssh grants when the sync dies or Vault fails mid-issue
(issue 12, items 1 and 5). A private OpenBao behind the fault-injecting relay; the sync is a
real process, killed by SIGKILL at a fixed Vault call so each drill lands the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jitflow.adapters.vault.sshcert import parse_certificate
from jitflow.errors import ExitCode
from tests.conftest_servers import JitflowVault
from tests.standin_helpers import clone
from tests.sync.conftest import World, vault_api
from tests.sync.fault_ledger import signed_serials
from tests.sync.kill import killed_at_answer, killed_sync
from tests.sync.observe import active_grant, archived, events, later, vault_tokens
from tests.sync.test_kinds_through_sync import GROUP_POLICY, SSH_POLICY, _publish, _ssh_request
from tests.sync.test_vault_midsync import behind_proxy, private_openbao  # noqa: F401
from tests.sync.vault_proxy import CuttableVaultProxy

_GROUP = "identity/group/name/"
# OpenBao's answer to lookup-accessor for a token between its expiry and its removal
VAULT_ENDING = ("1 error occurred:\n\t* permission denied\n\n",)


@pytest.fixture(scope="module")
def private_vault() -> Iterator[tuple[JitflowVault, str]]:
    """This module's own OpenBao. Its runs' heartbeats last 60 s, so a run stalled for
    seconds on a busy machine (its renewals come every 20 s) still records what it did; no
    drill here waits a killed run's heartbeat out (each ends it: `_end_killed_run`)."""
    yield from private_openbao("60s")


@pytest.fixture
def drill(
    behind_proxy: tuple[World, CuttableVaultProxy],  # noqa: F811
) -> Iterator[tuple[World, CuttableVaultProxy]]:
    """The world behind the relay; afterwards the group's members are put back as they were,
    so that a drill that failed halfway leaves no membership to the next (the module's
    drills share one private OpenBao)."""
    world, _ = behind_proxy
    before = _members(world)
    yield behind_proxy
    _set_members(world, before)


def _members(world: World) -> set[str]:
    answer = vault_api(
        world.vault.addr, world.vault.root_token, "GET", f"{_GROUP}{world.vault.setup.group}"
    )
    answer.raise_for_status()
    return set(answer.json()["data"].get("member_entity_ids") or [])


def _set_members(world: World, members: set[str]) -> None:
    path = f"{_GROUP}{world.vault.setup.group}"
    body = {"member_entity_ids": sorted(members)}
    vault_api(world.vault.addr, world.vault.root_token, "POST", path, body).raise_for_status()


def _heartbeat_of_killed_run(proxy: CuttableVaultProxy) -> str:
    [created] = proxy.answers("POST", "auth/token/create/jitflow-run")
    accessor: str = json.loads(created)["auth"]["accessor"]
    return accessor


def _end_killed_run(world: World, proxy: CuttableVaultProxy) -> None:
    """The killed run's heartbeat ends, as it would once Vault's clock passed its period."""
    accessor = {"accessor": _heartbeat_of_killed_run(proxy)}
    root, addr = world.vault.root_token, world.vault.addr
    vault_api(addr, root, "POST", "auth/token/revoke-accessor", accessor).raise_for_status()


def _verify_vault(world: World, now: str | None = None) -> subprocess.CompletedProcess[str]:
    """`now`: the clock of the last sync, when it ran ahead (its commits are dated then)."""
    world.runner.run("fetch", "--quiet", "origin")
    return subprocess.run(
        [
            *(sys.executable, "-m", "jitflow", "audit", "verify", "--vault"),
            *("--repo", str(world.runner.path), "--ref", "origin/main"),
            *(("--now", now) if now else ()),
        ],
        env=world.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("fault", ["killed-after-the-write", "500-on-the-read-back"])
def test_a_membership_never_outlives_its_grant(
    drill: tuple[World, CuttableVaultProxy],
    fault: str,
) -> None:
    world, proxy = drill
    _publish(world, {"policies/oncall.yaml": GROUP_POLICY})
    alice = world.vault.setup.entity_ids["alice"]
    assert alice not in _members(world)
    request_id, _ = world.approved_merge("oncall")
    if fault == "killed-after-the-write":
        killed_sync(world, proxy, "GET", _GROUP, nth=2)  # the read-back after the write
    else:
        proxy.answer_with("GET", _GROUP, 500, ("internal error",), skip=1)
        assert world.sync(check=False).returncode == ExitCode.UNEXPECTED
        proxy.restore()
    assert alice in _members(world)  # the write happened ...
    assert active_grant(world, request_id) is None  # ... and was not recorded

    if fault == "killed-after-the-write":
        # the settling run asks about the killed run's heartbeat as Vault is expiring it
        heartbeat = _heartbeat_of_killed_run(proxy)
        proxy.answer_with(
            "POST", "auth/token/lookup-accessor", 403, VAULT_ENDING, body_has=heartbeat
        )
    world.sync()  # the settling run
    proxy.restore()
    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["entity_id"] == alice
    assert vault_tokens(world.vault)[request_id] == [grant["vault"]["accessor"]]
    assert _verify_vault(world).returncode == 0

    world.sync("--now", grant["expires_at"])
    assert alice not in _members(world)  # removed at expiry: the ledger says nobody holds it
    assert request_id not in vault_tokens(world.vault)
    verified = _verify_vault(world, grant["expires_at"])
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_overlapping_grants_share_one_membership_until_the_last_ends(
    drill: tuple[World, CuttableVaultProxy],
) -> None:
    world, _ = drill
    _publish(world, {"policies/oncall.yaml": GROUP_POLICY})
    alice = world.vault.setup.entity_ids["alice"]
    short, _ = world.approved_merge("oncall", duration="30m")
    long, _ = world.approved_merge("oncall", duration="2h")
    world.sync()
    assert alice in _members(world)
    world.sync("--now", later(45))
    assert active_grant(world, short) is None
    assert alice in _members(world)  # the longer grant still holds it
    world.sync("--now", later(150))
    assert active_grant(world, long) is None
    assert alice not in _members(world)  # the last grant ended: so does the membership
    assert events(world, long) == ["issue", "expire"]


def test_verify_vault_finds_a_membership_without_a_grant(
    drill: tuple[World, CuttableVaultProxy],
) -> None:
    world, _ = drill
    _publish(world, {"policies/oncall.yaml": GROUP_POLICY})
    alice = world.vault.setup.entity_ids["alice"]
    request_id, _ = world.approved_merge("oncall")
    world.sync()
    expired = (active_grant(world, request_id) or {})["expires_at"]
    world.sync("--now", expired)
    assert _verify_vault(world, expired).returncode == 0
    _set_members(world, _members(world) | {alice})  # it outlived the grant (old jitflow, a hand)
    try:
        verified = _verify_vault(world, expired)
    finally:
        _set_members(world, _members(world) - {alice})
    assert verified.returncode != 0
    assert "group-member-without-grant" in verified.stdout + verified.stderr
    assert alice in verified.stdout + verified.stderr
    assert active_grant(world, request_id) is None


def _ssh_request_merged(world: World) -> tuple[str, int]:
    _publish(world, {"policies/ssh-prod.yaml": SSH_POLICY})
    return _ssh_request(world)


def _certificates_posted(world: World, number: int) -> list[str]:
    return [str(c["body"]) for c in world.standin.comments(number) if "-cert-v01@" in c["body"]]


def test_an_ssh_certificate_signed_before_a_crash_is_recorded_not_signed_again(
    drill: tuple[World, CuttableVaultProxy],
) -> None:
    world, proxy = drill
    request_id, number = _ssh_request_merged(world)
    # signed, its receipt written; the process dies reading the receipt back
    killed_sync(world, proxy, "POST", "auth/token/lookup-accessor", after="ssh/sign/")
    _end_killed_run(world, proxy)
    assert proxy.relayed("POST", "ssh/sign/") == 1
    assert active_grant(world, request_id) is None

    world.sync()  # the settling run
    assert proxy.relayed("POST", "ssh/sign/") == 1  # never signed twice
    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["cert_serial"]
    [posted] = _certificates_posted(world, number)
    assert events(world, request_id) == ["adopt"]
    live = vault_tokens(world.vault)[request_id]
    assert sorted(live) == sorted([grant["vault"]["accessor"], grant["vault"]["receipt_accessor"]])
    assert _verify_vault(world).returncode == 0
    world.sync("--now", grant["expires_at"])
    assert request_id not in vault_tokens(world.vault)
    assert posted


def test_a_certificate_signed_as_the_run_dies_is_recorded_from_the_runners_journal(
    drill: tuple[World, CuttableVaultProxy],
) -> None:
    world, proxy = drill
    request_id, number = _ssh_request_merged(world)
    # signed, and killed as the receipt is being written: nothing in Vault holds the answer
    killed_sync(world, proxy, "POST", "auth/token/create/", after="ssh/sign/")
    [serial] = signed_serials(proxy)
    _end_killed_run(world, proxy)

    world.sync()  # the settling run, on the same runner: its journal kept the certificate
    assert proxy.relayed("POST", "ssh/sign/") == 1  # never signed twice
    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["cert_serial"] == serial
    assert grant["vault"]["cert_key_id"].startswith(f"jitflow-{request_id}-")
    assert len(_certificates_posted(world, number)) == 1
    assert events(world, request_id) == ["adopt"]
    assert vault_tokens(world.vault)[request_id] == [grant["vault"]["accessor"]]
    assert _verify_vault(world).returncode == 0


@pytest.mark.parametrize("lost", ["answer-never-heard", "killed-before-the-receipt"])
def test_a_certificate_lost_with_its_run_is_never_signed_again(
    drill: tuple[World, CuttableVaultProxy],
    tmp_path: Path,
    lost: str,
) -> None:
    world, proxy = drill
    request_id, number = _ssh_request_merged(world)
    if lost == "answer-never-heard":  # Vault signed; the run never got the answer
        killed_at_answer(world, proxy, "POST", "ssh/sign/")
    else:
        killed_sync(world, proxy, "POST", "auth/token/create/", after="ssh/sign/")
    _end_killed_run(world, proxy)
    [signed] = proxy.answers("POST", "ssh/sign/")
    key_id = parse_certificate(json.loads(signed)["data"]["signed_key"]).key_id

    # the settling run on a fresh runner (a new CI machine): no journal, only Vault's anchor
    fresh = clone(world.bare, tmp_path / "fresh-runner")
    world.sync(repo=fresh.path)
    assert proxy.relayed("POST", "ssh/sign/") == 1  # not signed a second time
    assert active_grant(world, request_id) is None
    [record] = archived(world, request_id)
    assert record["ended"]["reason"] == "failed"
    assert record["grant"]["vault"]["cert_key_id"] == key_id  # the ledger names it
    assert record["grant"]["vault"]["cert_serial"] == "unknown"
    assert events(world, request_id) == ["adopt", "fail"]
    assert request_id not in vault_tokens(world.vault)  # its anchor is gone
    status = [str(c["body"]) for c in world.standin.comments(number) if "failed" in c["body"]]
    assert len(status) == 1 and key_id in status[0] and "new request" in status[0]
    assert not _certificates_posted(world, number)
    world.sync(repo=fresh.path)
    assert proxy.relayed("POST", "ssh/sign/") == 1
    assert _verify_vault(world).returncode == 0
