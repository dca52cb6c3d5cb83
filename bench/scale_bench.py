"""Does a run cost O(current state), not O(history)? Every figure of issue #15 in one run.

For each size N (default 2,000 / 10,000 / 100,000 grants) it builds a ledger with
`git fast-import` (bench/audit_bench.py's builder: each grant a request commit, a merge, an
issue and an expiry commit), adds today's state on top (1,000 policies, three pending
requests, one PR branch adding a request) and measures, best of --runs, wall seconds and the
CPU seconds of the processes involved (CPU is what a machine shared with other work distorts
least; the load average is printed beside each size):

  state read   sync's read of main (`read_state`)      floor: `git ls-tree -r main`    (<= 2x)
  sync plan    `jitflow sync --dry-run`, local OpenBao growth from the smallest N  (<= 1.5x)
  check        `jitflow check` of the PR branch        growth (<= 1.5x), and < 1 s
  audit        `jitflow audit --format json`           floor: `git log --name-status` (<= 1.5x)
               and its peak RSS (flat in N)
  incremental  `audit --incremental` after one new commit (the cache warm)  against the floor
  access       the sync workflow in the workflow harness, from the push of a merge to the
               credentials comment (bench/access_bench.py)                  budget: < 3 s
  fetch        what the sync workflow fetches now (depth 1 + the history sync asks for) against
               `fetch-depth: 0`, bytes and seconds, over file:// (`--no-fetch` skips it)

and once: `pip install .` of this checkout into a fresh virtualenv with a warm pip cache (what
the workflows' install step costs; `--no-pip` skips it).

    python bench/scale_bench.py [--grants 2000 10000 100000] [--runs 3] [--no-fetch]
        [--no-access] [--no-pip]
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from audit_bench import build  # noqa: E402

NOW = "2031-01-01T00:00:00Z"  # after every grant the builder writes: nothing is due
STATE_READ = """
import resource, sys, time
from jitflow.adapters.git import Git
from jitflow.usecases.sync.state import read_state
def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
git = Git(sys.argv[1])
tip = git.rev_parse("main")
read_state(git, tip)  # imports and first reads out of the way: the runner's read itself
started, used = time.perf_counter(), cpu()
read_state(git, tip)
print(time.perf_counter() - started, cpu() - used)
"""
Row = dict[str, Any]


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


Timing = tuple[float, float, float]  # wall seconds, CPU seconds, peak RSS (MiB)


def best(runs: int, once: Callable[[], Timing]) -> Timing:
    """The best wall, the best CPU and the highest peak RSS of `runs` runs."""
    results = [once() for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results), max(r[2] for r in results)


def seconds(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Timing:
    """One run of `command`: wall, CPU (it and the children it waited for), peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    errors = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # check exits 1: approvals pending
        raise SystemExit(f"{command[:4]} failed: {errors.decode(errors='replace')[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(grants: int, workdir: Path, runs: int, servers: dict[str, str], args: Any) -> Row:
    root = workdir / f"ledger-{grants}.git"
    started = time.perf_counter()
    build(root, grants)
    add_state(root)
    r: Row = {"grants": grants, "build_s": time.perf_counter() - started}
    r["load"] = os.getloadavg()[0]
    work = workdir / f"runner-{grants}"
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--shared", str(root), str(work)], check=True
    )
    r["ls_tree"] = best(runs, lambda: seconds(["git", "ls-tree", "-r", "main"], root))
    r["state_read"] = best(runs, lambda: _state_read(work))
    env = {**os.environ, **servers, "JITFLOW_RUNNER_NAME": "jitflow-sync"}
    sync = [sys.executable, "-m", "jitflow", "sync", "--dry-run", "--repo", str(work), "--now", NOW]
    r["sync"] = best(runs, lambda: seconds(sync, work, env))
    check = [sys.executable, "-m", "jitflow", "check", "--repo", str(root), "--base", "main"]
    r["check"] = best(runs, lambda: seconds([*check, "--head", "req", "--now", NOW], root))
    r["git_log"] = best(runs, lambda: seconds(["git", "log", "--name-status", "HEAD"], root))
    audit = [sys.executable, "-m", "jitflow", "audit", "--format", "json", "--now", NOW]
    audit += ["--repo", str(root), "--output", os.devnull]
    r["audit"] = best(runs, lambda: seconds(audit, root))
    seconds([*audit, "--incremental"], root)  # builds the cache
    r["incremental"] = best(runs, lambda: _after_one_commit(root, [*audit, "--incremental"]))
    r["load"] = max(r["load"], os.getloadavg()[0])
    if not args.no_fetch:
        r.update(fetch_figures(root, workdir / f"fetch-{grants}"))
    if not args.no_access:
        from access_bench import time_to_access

        r["access"] = (*time_to_access(root, args.vault, workdir / f"access-{grants}", runs), 0.0)
    return r


def _state_read(work: Path) -> Timing:
    out = subprocess.run(
        [sys.executable, "-c", STATE_READ, str(work)], capture_output=True, check=True
    )
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu), 0.0


def _after_one_commit(root: Path, command: list[str]) -> Timing:
    """The incremental audit after one more merge on main (a new pending request)."""
    tip = int(_git(root, "log", "-1", "--format=%ct", "main"))
    index = tip % 100_000
    stream = _commit("refs/heads/main", "bob", tip + 60, f"merge {index}", "refs/heads/main^0")
    request = "policy: orders-db-write\nrequester: carol\nduration: 30m\nreason: more rows\n"
    stream += _inline(f"requests/carol-more-{index}.yaml", request) + b"\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=stream, check=True)
    return seconds(command, root)


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


def _fig(t: Timing) -> str:
    return f"{t[0]:.2f}s wall / {t[1]:.2f}s CPU"


def _ratio(a: Timing, b: Timing) -> str:
    return f"{a[0] / b[0]:.2f}x wall, {a[1] / max(b[1], 1e-3):.2f}x CPU"


def report(rows: list[Row], first: Row) -> None:
    n0 = f"the {int(first['grants']):,}-grant run"
    for r in rows:
        print(
            f"--- {int(r['grants']):,} grants (built in {r['build_s']:.0f}s; load {r['load']:.1f})"
        )
        print(
            f"  sync state read {_fig(r['state_read'])}; git ls-tree -r main {_fig(r['ls_tree'])}: "
            f"{_ratio(r['state_read'], r['ls_tree'])} the floor (target <= 2x)"
        )
        print(
            f"  sync --dry-run  {_fig(r['sync'])}: {_ratio(r['sync'], first['sync'])} {n0} "
            "(target <= 1.5x)"
        )
        print(
            f"  check           {_fig(r['check'])}: {_ratio(r['check'], first['check'])} {n0} "
            "(target <= 1.5x, and < 1 s)"
        )
        print(
            f"  audit           {_fig(r['audit'])}; git log --name-status {_fig(r['git_log'])}: "
            f"{_ratio(r['audit'], r['git_log'])} (target <= 1.5x); peak RSS "
            f"{r['audit'][2]:.0f} MiB (git log {r['git_log'][2]:.0f} MiB)"
        )
        print(
            f"  audit --incremental, one new commit: {_fig(r['incremental'])}: "
            f"{_ratio(r['incremental'], r['git_log'])} git log; peak RSS {r['incremental'][2]:.0f} MiB"
        )
        if "access" in r:
            print(
                f"  time to access  {_fig(r['access'])} from the merge's push to the credentials "
                f"comment: {r['access'][0] / 3:.2f}x the 3 s budget"
            )
        if "full_fetch_s" in r:
            print(
                f"  fetch           fetch-depth 0: {r['full_fetch_mib']:.1f} MiB in "
                f"{r['full_fetch_s']:.2f}s; depth 1 + sync's on-demand deepening: "
                f"{r['shallow_fetch_mib']:.1f} MiB in {r['shallow_fetch_s']:.2f}s "
                f"({r['shallow_fetch_mib'] / r['full_fetch_mib']:.2f}x the bytes)"
            )
        sys.stdout.flush()


def pip_install(workdir: Path) -> Timing:
    """`pip install .` of this checkout (as committed) into a fresh virtualenv, the second
    time, so pip's cache is warm: what the workflows' "Install jitflow" step costs."""
    source = workdir / "pip-source"
    source.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    timing: Timing = (0.0, 0.0, 0.0)
    for attempt in range(2):
        venv = workdir / f"venv-{attempt}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install"]
        timing = seconds([*pip, "--disable-pip-version-check", "--no-input", "-q", "."], source)
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, nargs="+", default=[2000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=3, help="best of R for each timed figure")
    parser.add_argument("--no-fetch", action="store_true", help="skip the clone figures")
    parser.add_argument("--no-access", action="store_true", help="skip the time to access")
    parser.add_argument("--no-pip", action="store_true", help="skip the pip install figure")
    args = parser.parse_args()
    from access_bench import start_vault

    from jitflow.sandbox.github_standin import GitHubStandIn
    from jitflow.sandbox.servers.openbao import OpenBaoDevServer

    rows = []
    with tempfile.TemporaryDirectory(prefix="jitflow-scale-") as tmp, OpenBaoDevServer() as bao:
        args.vault = start_vault(bao.addr, bao.root_token)
        if not args.no_pip:
            installed = pip_install(Path(tmp))
            print(f"pip install . (warm cache): {_fig(installed)}", flush=True)
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
                rows.append(measure(grants, Path(tmp), args.runs, servers, args))
            report(rows[-1:], rows[0])
    print(f"=== summary (best of {args.runs} each; a shared machine, so wall time is noisy)")
    if not args.no_pip:
        print(f"pip install . (warm cache): {_fig(installed)}")
    report(rows, rows[0])


if __name__ == "__main__":
    main()
