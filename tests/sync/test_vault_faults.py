"""Drills: Vault misbehaving under the sync (issue 12, items 2 and 3).

A private OpenBao behind the fault-injecting relay (tests/sync/vault_proxy.py); the runner
only sees what a real client would: error answers, dropped connections, a killed process.
"""

from __future__ import annotations

from jitflow.errors import ExitCode
from tests.sync.conftest import World
from tests.sync.observe import active_grant, archived, events, later, vault_tokens
from tests.sync.test_vault_midsync import behind_proxy, private_vault  # noqa: F401
from tests.sync.vault_proxy import CuttableVaultProxy

_ACCESSORS = "auth/token/accessors"


def test_a_refused_token_listing_does_not_stop_expiry_or_revoke(
    behind_proxy: tuple[World, CuttableVaultProxy],  # noqa: F811
) -> None:
    world, proxy = behind_proxy
    expiring, _ = world.approved_merge()
    incident, _ = world.approved_merge(duration="2h")
    world.sync()
    tokens = {i: (active_grant(world, i) or {})["vault"]["accessor"] for i in (expiring, incident)}
    waiting, _ = world.approved_merge(duration="2h")

    proxy.answer_with("LIST", _ACCESSORS, 403)  # the runner's policy lost `list` on accessors
    run = world.sync("--now", later(45), "--revoke", incident, check=False)

    assert run.returncode == ExitCode.UNEXPECTED, run.stdout + run.stderr
    assert "orphan tokens failed" in run.stderr and "Traceback" not in run.stderr
    assert f"not issuing {waiting}" in run.stderr
    live = vault_tokens(world.vault)
    assert expiring not in live and incident not in live  # ended in Vault ...
    assert [r["ended"]["reason"] for r in archived(world, expiring)] == ["expired"]
    assert [r["ended"]["reason"] for r in archived(world, incident)] == ["revoked"]
    assert events(world, incident) == ["issue", "revoke"]  # ... and in git
    assert waiting not in live and events(world, waiting) == []  # nothing issued blind
    assert tokens[expiring] != tokens[incident]

    proxy.restore()
    world.sync("--now", later(45))
    grant = active_grant(world, waiting)
    assert grant is not None and vault_tokens(world.vault)[waiting] == [grant["vault"]["accessor"]]


def test_a_failing_token_listing_does_not_stop_expiry(
    behind_proxy: tuple[World, CuttableVaultProxy],  # noqa: F811
) -> None:
    world, proxy = behind_proxy
    expiring, _ = world.approved_merge()
    world.sync()
    proxy.answer_with("LIST", _ACCESSORS, 500, ("internal error",))
    run = world.sync("--now", later(45), check=False)
    assert run.returncode == ExitCode.UNEXPECTED
    assert "orphan tokens failed" in run.stderr
    assert expiring not in vault_tokens(world.vault)
    assert events(world, expiring) == ["issue", "expire"]


def test_credentials_lost_to_a_vault_outage_are_replaced_and_delivered(
    behind_proxy: tuple[World, CuttableVaultProxy],  # noqa: F811
) -> None:
    world, proxy = behind_proxy
    request_id, number = world.approved_merge()
    proxy.cut_on("POST", "sys/wrapping/wrap")  # Vault goes away between issue and delivery
    run = world.sync(check=False)
    assert run.returncode == ExitCode.UNEXPECTED
    [orphan] = vault_tokens(world.vault)[request_id]  # issued, delivered to nobody
    assert active_grant(world, request_id) is None

    proxy.restore()
    world.sync()  # the settling run
    grant = active_grant(world, request_id)
    assert grant is not None and grant["vault"]["accessor"] != orphan
    assert vault_tokens(world.vault)[request_id] == [grant["vault"]["accessor"]]
    bodies = [str(c["body"]) for c in world.standin.comments(number)]
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)
    assert any(f"`{request_id}` is active" in b for b in bodies)
    assert events(world, request_id) == ["revoke", "issue"]
