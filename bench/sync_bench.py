"""Benchmark: N active grants expiring at once, against a local OpenBao.

Times, in one run, each with fresh tokens on the same server:
  1. `jitflow sync`: plan, concurrent revokes, their confirmation, N commits in one
     fast-import stream, one push, then each grant's expiry comment on its PR (the GitHub
     stand-in, PyGithub, no write pacing) (by default in this process, i.e. without
     interpreter start-up; `--cli` runs the real `jitflow sync` command and includes it),
  2. a shell loop of `bao token revoke -accessor`, one process per token (measured on
     `--loop-sample` tokens and scaled to N: each call is a process start plus one request,
     so the loop is linear; the output says so; `--loop-sample 0` runs the whole loop),
  3. the floor: bare concurrent revoke-accessor calls, with the same concurrency as sync
     (`DEFAULT_REVOKE_WORKERS` threads), the same keep-alive HTTP client (one requests
     session whose pool holds a connection per thread), the same server, nothing else.
With `--rounds R`, sync and the floor are each measured R times (alternately) and the best
of each is compared; every figure is printed. Targets: sync >= 20x faster than the loop,
and <= 2x the floor.

    python bench/sync_bench.py [--count 1000] [--rounds 1] [--loop-sample 100] [--cli]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from jitflow.adapters.git import Git
from jitflow.adapters.git.writing import Identity, LedgerCommit, WrittenAs, write_commits
from jitflow.adapters.github import GitHubGateway
from jitflow.adapters.vault import VaultGateway
from jitflow.adapters.vault.gateway import DEFAULT_REVOKE_WORKERS
from jitflow.core.ledger import GrantBlock, active_record
from jitflow.core.model import GrantKind
from jitflow.core.times import format_time
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.servers.openbao import OpenBaoDevServer
from jitflow.sandbox.servers.vault_setup import configure_dev_vault
from jitflow.usecases.sync import SyncOptions, run_sync


def keep_alive_session(token: str, workers: int) -> requests.Session:
    """One pooled session holding a connection per worker (a smaller pool would serialise)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=workers)
    session.mount("http://", adapter)
    session.headers["X-Vault-Token"] = token
    return session


def make_tokens(server: OpenBaoDevServer, count: int, prefix: str = "bench") -> list[str]:
    session = keep_alive_session(server.root_token, 16)

    def one(i: int) -> str:
        body: dict[str, Any] = {
            "policies": ["jitflow-readonly"],
            "ttl": "1h",
            "meta": {
                "jitflow_request": f"{prefix}-{i:05d}",
                "jitflow_policy": "ops-read",
                "jitflow_requester": "alice",
            },
        }
        answer = session.post(
            f"{server.addr}/v1/auth/token/create/jitflow-grant", json=body, timeout=30
        )
        answer.raise_for_status()
        return str(answer.json()["auth"]["accessor"])

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def seed_repo(root: Path, accessors: list[str], now: datetime) -> Path:
    """A bare origin whose main holds one active record per accessor, all expired by now+1h."""
    bare = root / "origin.git"
    Git(root).run("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git = Git(bare)
    empty = git.run("hash-object", "-t", "tree", "-w", "--stdin", input=b"")
    env = {
        "GIT_AUTHOR_NAME": "seed",
        "GIT_AUTHOR_EMAIL": "s@x",
        "GIT_COMMITTER_NAME": "seed",
        "GIT_COMMITTER_EMAIL": "s@x",
    }
    base = git.run("commit-tree", empty, "-m", "root", env=env)
    request = git.run("commit-tree", empty, "-p", base, "-m", "request", env=env)
    git.run("update-ref", "refs/heads/request", request)  # the grants' PR #1 (their comments)
    files: dict[str, bytes | None] = {}
    for i, accessor in enumerate(accessors):
        request = b"policy: ops-read\nrequester: alice\nreason: benchmark grant\n"
        block = GrantBlock(
            GrantKind.VAULT_TOKEN,
            now,
            now + timedelta(minutes=1),
            60,
            60,
            ("bob",),
            "bob",
            now,
            1,
            base,
            base,
            {"accessor": accessor},
        )
        files[f"requests/active/bench-{i:05d}.yaml"] = active_record(request, block)
    tip = write_commits(
        git, base, [LedgerCommit("seed", files, now)], WrittenAs(Identity("seed", "s@x"))
    )
    git.run("update-ref", "refs/heads/main", tip)
    return bare


def time_sync(server: OpenBaoDevServer, root: Path, count: int, now: datetime, cli: bool) -> float:
    """Seconds for one sync that expires `count` grants (each gets its expiry comment on PR #1,
    in the GitHub stand-in, without write pacing); checks that it did all of them."""
    bare = seed_repo(root, make_tokens(server, count), now)
    work = root / "runner"
    Git(root).run("clone", "--quiet", str(bare), str(work))
    later = now + timedelta(hours=2)
    with GitHubStandIn(bare) as standin:
        standin.add_user("alice")
        standin.create_pull("alice", "request", title="bench grants")
        env = {
            "VAULT_ADDR": server.addr,
            "VAULT_TOKEN": server.root_token,
            "GITHUB_TOKEN": standin.add_user("jitflow-bot"),
            "GITHUB_REPOSITORY": standin.full_name,
            "GITHUB_API_URL": standin.api_url,
            "JITFLOW_RUNNER_NAME": "jitflow-sync",
            "JITFLOW_BOT_LOGIN": "jitflow-bot",
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        if cli:
            elapsed = _time_cli_sync(work, later, env)
        else:
            vault = VaultGateway(server.addr, server.root_token)
            with GitHubGateway.from_env(env) as github:
                started = time.perf_counter()
                report = run_sync(SyncOptions(work, later), vault, github, env)
                elapsed = time.perf_counter() - started
            assert report.ok and len(report.done) == count, report.errors[:3]
        assert len(standin.comments(1)) == count, "an expiry comment is missing"
    expired = Git(bare).run("rev-list", "--count", "--grep=^Jitflow-Event: expire", "main")
    assert int(expired) == count, f"{expired} expiry commits on main, expected {count}"
    assert not Git(bare).list_tree("main", "requests/active/"), "active records left on main"
    return elapsed


def _time_cli_sync(work: Path, later: datetime, extra: dict[str, str]) -> float:
    env = {**os.environ, **extra}
    command = [sys.executable, "-m", "jitflow", "sync", "--repo", str(work)]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, "--now", format_time(later)], env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return elapsed


def time_loop(server: OpenBaoDevServer, sample: int) -> float:
    accessors = make_tokens(server, sample, "loop")
    started = time.perf_counter()
    for accessor in accessors:
        server.bao("token", "revoke", "-accessor", accessor)
    return time.perf_counter() - started


def time_floor(server: OpenBaoDevServer, count: int, workers: int) -> float:
    accessors = make_tokens(server, count, "floor")
    session = keep_alive_session(server.root_token, workers)
    url = f"{server.addr}/v1/auth/token/revoke-accessor"

    def revoke(accessor: str) -> None:
        session.post(url, json={"accessor": accessor}, timeout=30).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(revoke, accessors))
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="grants expiring at once")
    parser.add_argument("--rounds", type=int, default=1, help="measure sync and floor R times")
    parser.add_argument(
        "--loop-sample",
        type=int,
        default=100,
        help="tokens the bao loop really revokes, scaled to --count (0: all of them)",
    )
    parser.add_argument("--cli", action="store_true", help="time the `jitflow sync` command")
    args = parser.parse_args()
    count, workers = args.count, DEFAULT_REVOKE_WORKERS
    sample = count if args.loop_sample <= 0 else min(args.loop_sample, count)
    now = datetime.now(UTC).replace(microsecond=0)
    syncs: list[float] = []
    floors: list[float] = []
    with OpenBaoDevServer() as server, tempfile.TemporaryDirectory() as tmp:
        configure_dev_vault(server.addr, server.root_token)
        for round_number in range(args.rounds):
            root = Path(tmp) / f"round{round_number}"
            root.mkdir()
            syncs.append(time_sync(server, root, count, now, args.cli))
            floors.append(time_floor(server, count, workers))
            print(
                f"round {round_number + 1}: jitflow sync {syncs[-1]:.2f}s, "
                f"raw concurrent HTTP {floors[-1]:.2f}s ({syncs[-1] / floors[-1]:.2f}x)",
                flush=True,
            )
        loop_s = time_loop(server, sample) * count / sample
    sync_s, raw_s = min(syncs), min(floors)
    what = "`jitflow sync` command" if args.cli else "jitflow sync in-process"
    loop_note = "measured" if sample == count else f"measured on {sample}, scaled to {count}"
    print(
        f"{count} expiries: {what} {sync_s:.2f}s (incl. {count} commits + push), "
        f"bao loop {loop_s:.2f}s ({loop_note}), raw concurrent HTTP {raw_s:.2f}s "
        f"({workers} threads, keep-alive)" + (f"; best of {args.rounds}" if args.rounds > 1 else "")
    )
    print(
        f"sync is {loop_s / sync_s:.1f}x faster than the loop (target >= 20x); "
        f"{sync_s / raw_s:.2f}x the raw floor (target <= 2x)"
    )


if __name__ == "__main__":
    main()
