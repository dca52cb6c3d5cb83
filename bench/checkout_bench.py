"""The check workflow's checkout on a long ledger: the whole tip (as check.yml did) against the
sparse, blobless one with a sparse index (as check.yml and sync.yml do now), then `jitflow
check` of a request PR on that checkout (reading through git, so what it lacks it fetches).

Both checkouts are what actions/checkout v4 runs (init, one-commit fetch, optional cone,
checkout), from the history served by a `git daemon` packed as GitHub keeps it
(access_bench.github_origin), with git's global config in a HOME of their own. Printed for
each: wall and CPU seconds (the runner's git; GitHub's git side apart), MiB fetched, files
written, index size; for the check: its seconds and how many fetches it (or git, lazily) ran.

    python bench/checkout_bench.py [--grants 100000] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from access_bench import _children_cpu, git_daemon, github_origin  # noqa: E402
from scale_bench import NOW, copy_of, history  # noqa: E402

CONE = (".github", "policies", "requests/active")


def pull_merge(bare: Path) -> tuple[str, str]:
    """GitHub's test merge of the PR (the bench history's `req` branch into main), as
    refs/pull/1/merge, which is what a pull_request event checks out; main and req."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=bare, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    tree = git("merge-tree", "--write-tree", "main", "req").splitlines()[0]
    merge = git("commit-tree", tree, "-p", "main", "-p", "req", "-m", "Merge req into main")
    git("update-ref", "refs/pull/1/merge", merge)
    return git("rev-parse", "main"), git("rev-parse", "req")


def checkout(url: str, work: Path, home: Path, sparse: bool) -> dict[str, float]:
    """actions/checkout v4's commands for a pull_request event (refs/pull/1/merge)."""
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    home.mkdir(parents=True, exist_ok=True)
    if sparse:
        subprocess.run(["git", "config", "--global", "index.sparse", "true"], env=env, check=True)
    started, cpu = time.perf_counter(), _children_cpu()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=work, env=env, check=True)

    work.mkdir(parents=True)
    git("init", "-q")
    git("remote", "add", "origin", url)
    partial = ["--filter=blob:none"] if sparse else []
    merge = "+refs/pull/1/merge:refs/remotes/pull/1/merge"
    git("fetch", "-q", "--no-tags", *partial, "--depth=1", "origin", merge)
    if sparse:
        git("sparse-checkout", "set", "--cone", *CONE)
    git("checkout", "-q", "--force", "refs/remotes/pull/1/merge")
    figures = {"wall": time.perf_counter() - started, "cpu": _children_cpu() - cpu}
    figures["mib"] = _size(work / ".git" / "objects") / 2**20
    figures["files"] = sum(
        len(files) for top, _, files in os.walk(work) if ".git" not in Path(top).parts
    )
    figures["index_mib"] = (work / ".git" / "index").stat().st_size / 2**20
    return figures


def check(work: Path, home: Path, base: str, head: str) -> dict[str, float]:
    """`jitflow check` of the PR, fetching its base and head as the gate does (one commit
    each; blobs on demand), counting every fetch git runs."""
    trace = home / "trace.json"
    env = {**os.environ, "HOME": str(home), "GIT_TRACE2_EVENT": str(trace)}
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        ["git", "fetch", "-q", "--no-tags", "--depth=1", "origin", base, head],
        cwd=work,
        env=env,
        check=True,
    )
    command = [sys.executable, "-m", "jitflow", "check", "--repo", str(work), "--base", base]
    subprocess.run(
        [*command, "--head", head, "--now", NOW], cwd=work, env=env, stdout=subprocess.DEVNULL
    )
    figures = {"wall": time.perf_counter() - started, "cpu": _children_cpu() - cpu}
    figures["fetches"] = sum(
        '"event":"start"' in line and '"fetch"' in line for line in trace.read_text().splitlines()
    )
    return figures


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, help="bench/scale_bench.py's history cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jitflow-checkout-") as tmp:
        workdir = Path(tmp)
        cache = args.cache or workdir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        built, _ = history(args.grants, cache)
        bare = copy_of(github_origin(built, cache), workdir / "origin.git")
        base, head = pull_merge(bare)
        for sparse in (False, True):
            name = "sparse, blobless, sparse index" if sparse else "whole tip (before)"
            with git_daemon(bare) as daemon:
                home = workdir / f"home-{sparse}"
                figures = checkout(daemon.url, workdir / f"work-{sparse}", home, sparse)
                checked = check(workdir / f"work-{sparse}", home, base, head)
            print(
                f"{args.grants:,} grants, checkout {name}: {figures['wall']:.2f}s wall, "
                f"{figures['cpu']:.2f}s CPU (runner), {daemon.cpu:.2f}s CPU with the check "
                f"(GitHub's git side), {figures['mib']:.1f} MiB fetched, "
                f"{figures['files']:,.0f} files written, index {figures['index_mib']:.2f} MiB; "
                f"then check: {checked['wall']:.2f}s wall, {checked['cpu']:.2f}s CPU, "
                f"{checked['fetches']:.0f} fetches (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
