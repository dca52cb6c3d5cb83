"""Benchmark: N active grants expiring at once, against a local OpenBao.

Times, in one run, with fresh tokens for each:
  1. `jitflow sync` (concurrent revokes + one fast-import stream of N commits + one push),
  2. a shell loop of `bao token revoke -accessor` (one process per token),
  3. raw concurrent HTTP revoke-accessor calls (the floor),
and prints sync's speed-up over the loop (target >= 20x) and its ratio to the floor (<= 2x).

    python bench/sync_bench.py [--count 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from jitflow.adapters.git import Git
from jitflow.adapters.vault import VaultGateway
from jitflow.core.ledger import GrantBlock, active_record
from jitflow.core.model import GrantKind
from jitflow.sandbox.openbao import OpenBaoDevServer
from jitflow.sandbox.vault_setup import configure_dev_vault
from jitflow.usecases.sync import SyncOptions, run_sync
from jitflow.usecases.sync.writer import Identity, LedgerCommit, write_commits


def make_tokens(server: OpenBaoDevServer, count: int) -> list[str]:
    session = requests.Session()
    session.headers["X-Vault-Token"] = server.root_token

    def one(i: int) -> str:
        body = {
            "policies": ["jitflow-readonly"],
            "ttl": "1h",
            "meta": {
                "jitflow_request": f"bench-{i:05d}",
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
    tip = write_commits(git, base, [LedgerCommit("seed", files, now)], Identity("seed", "s@x"))
    git.run("update-ref", "refs/heads/main", tip)
    return bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    count = parser.parse_args().count
    now = datetime.now(UTC).replace(microsecond=0)
    with OpenBaoDevServer() as server, tempfile.TemporaryDirectory() as tmp:
        configure_dev_vault(server.addr, server.root_token)
        root = Path(tmp)
        bare = seed_repo(root, make_tokens(server, count), now)
        work = root / "runner"
        Git(root).run("clone", "--quiet", str(bare), str(work))
        vault = VaultGateway(server.addr, server.root_token)
        environ = {"JITFLOW_RUNNER_NAME": "jitflow-sync"}
        started = time.perf_counter()
        report = run_sync(SyncOptions(work, now + timedelta(hours=2)), vault, None, environ)
        sync_s = time.perf_counter() - started
        assert report.ok and len(report.done) == count, report.errors[:3]

        accessors = make_tokens(server, count)
        started = time.perf_counter()
        for accessor in accessors:
            server.bao("token", "revoke", "-accessor", accessor)
        loop_s = time.perf_counter() - started

        accessors = make_tokens(server, count)
        session = requests.Session()
        session.headers["X-Vault-Token"] = server.root_token

        def revoke(accessor: str) -> None:
            session.post(
                f"{server.addr}/v1/auth/token/revoke-accessor",
                json={"accessor": accessor},
                timeout=30,
            ).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(revoke, accessors))
        raw_s = time.perf_counter() - started
    print(
        f"{count} expiries: jitflow sync {sync_s:.2f}s (incl. {count} commits + push), "
        f"bao loop {loop_s:.2f}s, raw concurrent HTTP {raw_s:.2f}s"
    )
    print(
        f"sync is {loop_s / sync_s:.1f}x faster than the loop (target >= 20x); "
        f"{sync_s / raw_s:.2f}x the raw floor (target <= 2x)"
    )


if __name__ == "__main__":
    main()
