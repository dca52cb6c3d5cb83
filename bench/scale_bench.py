"""Does a run cost O(current state), not O(history)? Every figure of issue #15 in one run.

For each size N (default 2,000 / 10,000 / 100,000 grants) it builds a ledger with
`git fast-import` (bench/audit_bench.py's builder: each grant a request commit, a merge, an
issue and an expiry commit), adds today's state on top (1,000 policies, three pending
requests, one PR branch adding a request) and times, best of --runs:

  state read   sync's read of main (`read_state`)      floor: `git ls-tree -r main`    (<= 2x)
  sync plan    `jitflow sync --dry-run`, local OpenBao growth from the smallest N  (<= 1.5x)
  check        `jitflow check` of the PR branch        growth (<= 1.5x), and < 1 s
  audit        `jitflow audit --format json`           floor: `git log --name-status` (<= 1.5x)
  fetch        what the sync workflow fetches now (depth 1 + the history sync asks for) against
               `fetch-depth: 0`, bytes and seconds, over file:// (`--no-fetch` skips it)

    python bench/scale_bench.py [--grants 2000 10000 100000] [--runs 3] [--no-fetch]

The machine is shared: figures are noisy, so each is the best of --runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_bench import AUDIT, build, timed

NOW = "2031-01-01T00:00:00Z"  # after every grant the builder writes: nothing is due
STATE_READ = """
import sys, time
from jitflow.adapters.git import Git
from jitflow.usecases.sync.state import read_state
git = Git(sys.argv[1])
tip = git.rev_parse("main")
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    read_state(git, tip)
    times.append(time.perf_counter() - started)
print(min(times))
"""


def add_state(root: Path) -> None:
    """Today's state on top of the history: policies, pending requests, a PR branch."""
    tip = int(_git(root, "log", "-1", "--format=%ct", "main"))
    policy = (
        "name: {n}\ndescription: Bench policy {n}\n"
        "grant: {{kind: database, mount: database, role: bench}}\n"
        "duration: {{default: 30m, max: 2h}}\nrequesters: {{groups: [engineers]}}\n"
        "approvals:\n  rules:\n    - {{count: 1, from: {{groups: [sre-leads]}}}}\n"
    )
    parts = [_commit("refs/heads/main", "admin", tip + 60, "policies", "refs/heads/main^0")]
    for index in range(999):
        parts.append(
            _inline(f"policies/bench-{index:04d}.yaml", policy.format(n=f"bench-{index:04d}"))
        )
    parts.append(b"\n")
    request = (
        "policy: orders-db-write\nrequester: {who}\nduration: 30m\n"
        "reason: Fix stuck rows in orders.status for INC-9\nticket: INC-9\nstart: 2031-06-01T00:00:00Z\n"
    )
    for index, who in enumerate(("alice", "carol", "dave")):
        parts.append(_commit("refs/heads/main", "bob", tip + 120 + index, f"merge {index}", None))
        parts.append(_inline(f"requests/{who}-pending-{index}.yaml", request.format(who=who)))
        parts.append(b"\n")
    parts.append(_commit("refs/heads/req", "alice", tip + 300, "request", "refs/heads/main^0"))
    parts.append(_inline("requests/alice-bench-check.yaml", request.format(who="alice")))
    parts.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(parts), check=True)


def _commit(ref: str, who: str, when: int, message: str, parent: str | None) -> bytes:
    ident = f"{who} <{who}@users.noreply.github.com> {when} +0000"
    text = f"commit {ref}\nauthor {ident}\ncommitter {ident}\ndata {len(message)}\n{message}\n"
    return (text + (f"from {parent}\n" if parent else "")).encode()


def _inline(path: str, content: str) -> bytes:
    data = content.encode()
    return f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout.decode()


def best(runs: int, once: Callable[[], float]) -> float:
    return min(once() for _ in range(runs))


def seconds(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    if done.returncode not in (0, 1):  # check exits 1 for "approvals pending"
        raise SystemExit(f"{command[:4]} failed: {done.stderr.decode(errors='replace')[-800:]}")
    return time.perf_counter() - started


def measure(
    grants: int, workdir: Path, runs: int, servers: dict[str, str], fetch: bool
) -> dict[str, float]:
    root = workdir / f"ledger-{grants}.git"
    started = time.perf_counter()
    build(root, grants)
    add_state(root)
    figures: dict[str, float] = {"grants": grants, "build_s": time.perf_counter() - started}
    work = workdir / f"runner-{grants}"
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--shared", str(root), str(work)], check=True
    )
    figures["ls_tree_s"] = best(runs, lambda: seconds(["git", "ls-tree", "-r", "main"], root))
    out = subprocess.run(
        [sys.executable, "-c", STATE_READ, str(work), str(runs)], capture_output=True, check=True
    )
    figures["state_read_s"] = float(out.stdout)
    env = {**os.environ, **servers, "JITFLOW_RUNNER_NAME": "jitflow-sync"}
    sync = [sys.executable, "-m", "jitflow", "sync", "--dry-run", "--repo", str(work), "--now", NOW]
    figures["sync_s"] = best(runs, lambda: seconds(sync, work, env))
    check = [sys.executable, "-m", "jitflow", "check", "--repo", str(root), "--base", "main"]
    figures["check_s"] = best(runs, lambda: seconds([*check, "--head", "req", "--now", NOW], root))
    figures["git_log_s"], _, _ = timed(["git", "log", "--name-status", "HEAD"], root)
    figures["audit_s"], _, python_rss = timed([sys.executable, "-c", AUDIT, str(root)], root)
    figures["audit_python_mib"] = int(python_rss) / 1024
    if fetch:
        figures.update(fetch_figures(root, workdir / f"fetch-{grants}"))
    return figures


def fetch_figures(origin: Path, workdir: Path) -> dict[str, float]:
    """Bytes and seconds: a full clone (fetch-depth: 0) against the new checkout (depth 1)
    plus the history sync's read deepens to."""
    url = origin.resolve().as_uri()
    full, shallow = workdir / "full", workdir / "shallow"
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", url, str(full)], check=True)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--no-checkout", url, str(shallow)], check=True
    )
    subprocess.run(
        [sys.executable, "-c", STATE_READ, str(shallow), "1"], check=True, capture_output=True
    )
    shallow_s = time.perf_counter() - started  # the clone and the deepening sync's read did
    return {
        "full_fetch_s": full_s,
        "full_fetch_mib": _size(full / "objects") / 2**20,
        "shallow_fetch_s": shallow_s,
        "shallow_fetch_mib": _size(shallow / ".git" / "objects") / 2**20,
    }


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def report(rows: list[dict[str, float]], first: dict[str, float]) -> None:
    for r in rows:
        n = int(r["grants"])
        print(f"--- {n:,} grants (built in {r['build_s']:.0f}s)")
        print(
            f"  sync state read {r['state_read_s']:.3f}s, git ls-tree -r main {r['ls_tree_s']:.3f}s: "
            f"{r['state_read_s'] / r['ls_tree_s']:.2f}x the floor (target <= 2x)"
        )
        print(
            f"  sync --dry-run  {r['sync_s']:.2f}s: {r['sync_s'] / first['sync_s']:.2f}x "
            f"the {int(first['grants']):,}-grant run (target <= 1.5x)"
        )
        print(
            f"  check           {r['check_s']:.2f}s: {r['check_s'] / first['check_s']:.2f}x "
            f"the {int(first['grants']):,}-grant run (target <= 1.5x, and < 1 s)"
        )
        print(
            f"  audit           {r['audit_s']:.2f}s, git log --name-status {r['git_log_s']:.2f}s: "
            f"{r['audit_s'] / r['git_log_s']:.2f}x (target <= 1.5x); "
            f"Python peak RSS {r['audit_python_mib']:.0f} MiB"
        )
        if "full_fetch_s" in r:
            print(
                f"  fetch           fetch-depth 0: {r['full_fetch_mib']:.1f} MiB in "
                f"{r['full_fetch_s']:.2f}s; depth 1 + sync's on-demand deepening: "
                f"{r['shallow_fetch_mib']:.1f} MiB in {r['shallow_fetch_s']:.2f}s "
                f"({r['shallow_fetch_mib'] / r['full_fetch_mib']:.2f}x the bytes)"
            )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, nargs="+", default=[2000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=3, help="best of R for each timed figure")
    parser.add_argument("--no-fetch", action="store_true", help="skip the clone figures")
    args = parser.parse_args()
    from jitflow.sandbox.github import GitHubStandIn
    from jitflow.sandbox.openbao import OpenBaoDevServer
    from jitflow.sandbox.vault_setup import configure_dev_vault

    rows = []
    with tempfile.TemporaryDirectory(prefix="jitflow-scale-") as tmp, OpenBaoDevServer() as bao:
        configure_dev_vault(bao.addr, bao.root_token)
        for grants in args.grants:
            origin = Path(tmp) / f"standin-{grants}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
            with GitHubStandIn(origin) as standin:
                servers = {
                    "VAULT_ADDR": bao.addr,
                    "VAULT_TOKEN": bao.root_token,
                    "GITHUB_TOKEN": standin.add_user("jitflow-bot"),
                    "GITHUB_REPOSITORY": standin.full_name,
                    "GITHUB_API_URL": standin.api_url,
                }
                rows.append(measure(grants, Path(tmp), args.runs, servers, not args.no_fetch))
            report(rows[-1:], rows[0])
    print(f"=== summary (best of {args.runs} each; a shared machine, so noisy)")
    report(rows, rows[0])


if __name__ == "__main__":
    main()
