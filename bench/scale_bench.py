"""Does a run cost O(current state), not O(history)? Every figure of issue #15 in one run.

For each size N (default 2,000 / 10,000 / 100,000 grants) it takes a ledger built with
`git fast-import` (bench/audit_bench.py's builder: each grant a request commit, a merge, an
issue and an expiry commit) with today's state on top (1,000 policies, three pending requests,
one PR branch adding a request). Histories are built once and kept in --cache (keyed by the
builder's source; delete the folder to rebuild), each with a copy packed as GitHub keeps it
(~2 min more at 100,000 the first time); measures that write work on shared copies.
It measures, best of --runs (default 1; of at least 3 for a figure under 3 s, whose single
run is mostly noise), wall seconds and the CPU seconds of the processes involved (CPU is what a
machine shared with other work distorts least; the load average is printed beside each size):

  state read   sync's read of main (`read_state`)      floor: `git ls-tree -r main`    (<= 2x)
  sync plan    `jitflow sync --dry-run`, local OpenBao growth from the smallest N  (<= 1.5x)
  check        `jitflow check` of the PR branch        growth (<= 1.5x), and < 1 s
               in the history packed as GitHub keeps it (what a clone gets; fast-import's
               own packing, which no clone has, printed beside it)
  audit        `jitflow audit --format json`           floor: `git log --name-status` (<= 1.5x)
               and its peak RSS (flat in N)
  incremental  `audit --incremental` after one new commit (the cache warm)  against the floor
  access       the sync workflow in the workflow harness, from the push of a merge to the
               credentials comment (bench/access_bench.py: the repository served by a git
               daemon, GitHub's git side measured apart from the job's; steady state:
               the first run of this version on a built history, printed as run 0, reads
               30 days of archive once and is not counted)                 budget: < 3 s
  fetch        the sync workflow's checkout (depth 1, blob:none, sparse: no archive) and what
               sync's state read fetches, against `fetch-depth: 0` (measured once per history),
               bytes and seconds, over file:// (`--no-fetch` skips it)

and once: `pip install .` of this checkout into a fresh virtualenv with a warm pip cache (what
the workflows' install step costs; `--no-pip` skips it).

    python bench/scale_bench.py [--grants 2000 10000 100000] [--runs 1] [--quick]
        [--cache DIR] [--no-fetch] [--no-access] [--no-pip]

`--quick` is 2,000 and 10,000 grants without the clone and pip figures.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from access_bench import describe, github_origin  # noqa: E402
from audit_bench import build  # noqa: E402

NOW = "2031-01-01T00:00:00Z"  # after every grant the builder writes: nothing is due
STATE_READ = """
import resource, sys, time
from jitflow.adapters.git import Git, reading
from jitflow.usecases.sync.state import read_state
def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
git = Git(sys.argv[1])
tip = git.rev_parse("main")
read_state(git, tip)  # imports and first reads out of the way: the runner's read itself
reading._MONTHS_SEEN.clear()  # but the archive's months again, as a runner's one read pays them
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


SHORT_S, SHORT_RUNS = 3.0, 5  # a figure whose best wall is under SHORT_S: best of SHORT_RUNS


def best(runs: int, once: Callable[[], Timing]) -> Timing:
    """The best wall, the best CPU and the highest peak RSS of `runs` runs, and of at least
    SHORT_RUNS while the best wall is under SHORT_S (a sub-second figure on a quiet machine,
    up to ~3x slower under load): one run of a 0.3 s figure is mostly noise (the same check
    measured 0.28 and 0.42 s in two runs, and sync --dry-run 0.47-0.79 s in best-of-3 runs
    on a quiet machine), and repeating it costs a few seconds."""
    results = [once()]
    while len(results) < runs or (
        len(results) < SHORT_RUNS and min(r[0] for r in results) < SHORT_S
    ):
        results.append(once())
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


def history(grants: int, cache: Path) -> tuple[Path, float]:
    """The N-grant history with today's state on top, built once by `git fast-import` and kept
    in `cache` (keyed by the builder's source, so a changed builder builds anew); the seconds
    the build took (0 when it came from the cache). Nothing measured writes into it."""
    key = hashlib.sha256((ROOT / "bench" / "audit_bench.py").read_bytes())
    key.update(inspect.getsource(add_state).encode())
    root = cache / f"ledger-{grants}-{key.hexdigest()[:12]}.git"
    if (root / "jitflow-bench-complete").exists():
        return root, 0.0
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    build(root, grants)
    add_state(root)
    _git(root, "config", "uploadpack.allowFilter", "true")  # as GitHub: partial clones
    (root / "jitflow-bench-complete").touch()
    return root, time.perf_counter() - started


def copy_of(root: Path, target: Path) -> Path:
    """A bare clone sharing the history's objects, for measures that write (commits, caches)."""
    subprocess.run(["git", "clone", "-q", "--bare", "--shared", str(root), str(target)], check=True)
    _git(target, "config", "uploadpack.allowFilter", "true")
    return target


def measure(grants: int, workdir: Path, runs: int, servers: dict[str, str], args: Any) -> Row:
    root, built = history(grants, args.cache)
    r: Row = {"grants": grants, "build_s": built}
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
    # The check reads trees a clone gets from GitHub, packed as GitHub keeps them (built once
    # and cached next to the history); fast-import's packing (each month tree of the archive
    # a delta chain up to 50 deep) is printed beside it, never judged: no clone looks like it.
    served = github_origin(root, args.cache)
    r["check"] = best(runs, lambda: _check(served))
    r["check_fast_import"] = best(runs, lambda: _check(root))
    r["git_log"] = best(runs, lambda: seconds(["git", "log", "--name-status", "HEAD"], root))
    audit = [sys.executable, "-m", "jitflow", "audit", "--format", "json", "--now", NOW]
    r["audit"] = best(
        runs, lambda: seconds([*audit, "--repo", str(root), "--output", os.devnull], root)
    )
    mine = copy_of(root, workdir / f"incremental-{grants}.git")
    incremental = [*audit, "--repo", str(mine), "--output", os.devnull, "--incremental"]
    seconds(incremental, mine)  # builds the cache
    r["incremental"] = best(runs, lambda: _after_one_commit(mine, incremental))
    r["load"] = max(r["load"], os.getloadavg()[0])
    if not args.no_fetch:
        r.update(fetch_figures(root, workdir / f"fetch-{grants}", args.cache))
    if not args.no_access:
        from access_bench import time_to_access

        # Served as GitHub keeps a repository (repacked, bitmap, commit-graph), not as
        # fast-import left it. Best of at least SHORT_RUNS: the figure is judged against 3 s
        # and one run of it varied 2.3-4.0 s at 100,000 grants on a quiet machine.
        origin = copy_of(served, workdir / f"access-origin-{grants}.git")
        access_runs = max(runs, SHORT_RUNS)
        r["access"] = time_to_access(origin, args.vault, workdir / f"access-{grants}", access_runs)
    return r


def _check(repository: Path) -> Timing:
    """`jitflow check` of the PR branch against main, in `repository`."""
    check = [sys.executable, "-m", "jitflow", "check", "--repo", str(repository), "--base", "main"]
    return seconds([*check, "--head", "req", "--now", NOW], repository)


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


def fetch_figures(origin: Path, workdir: Path, cache: Path) -> dict[str, float]:
    """Bytes and seconds: a full clone (fetch-depth: 0; measured once per history and kept in
    the cache) against the sync workflow's checkout (depth 1, blob:none, the sparse cone) plus
    what sync's state read then fetches."""
    url = origin.resolve().as_uri()
    known = cache / f"{origin.name}.full-fetch.json"
    if known.exists():
        full_figures = json.loads(known.read_text())
    else:
        full = workdir / "full"
        started = time.perf_counter()
        subprocess.run(["git", "clone", "-q", "--bare", "--no-local", url, str(full)], check=True)
        full_figures = {
            "full_fetch_s": time.perf_counter() - started,
            "full_fetch_mib": _size(full / "objects") / 2**20,
        }
        known.write_text(json.dumps(full_figures))
        shutil.rmtree(full)
    shallow = workdir / "shallow"
    started = time.perf_counter()
    shallow_clone = ["clone", "-q", "--depth=1", "--filter=blob:none", "--no-checkout"]
    subprocess.run(["git", *shallow_clone, url, str(shallow)], check=True)
    _git(shallow, "sparse-checkout", "set", "--cone", "jitflow", "policies", "requests/active")
    _git(shallow, "checkout", "-q", "main")
    subprocess.run(
        [sys.executable, "-c", STATE_READ, str(shallow)], check=True, capture_output=True
    )
    return {
        **full_figures,
        "shallow_fetch_s": time.perf_counter() - started,
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
            f"--- {int(r['grants']):,} grants ("
            + (f"built in {r['build_s']:.0f}s" if r["build_s"] else "history from the cache")
            + f"; load average {r['load']:.1f})"
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
        mine, first_mine = r["check_fast_import"], first["check_fast_import"]
        print(
            f"  (check on fast-import's packing, no clone's: {_fig(mine)}: {_ratio(mine, first_mine)})"
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
            access = r["access"]
            print(
                f"  time to access  from the merge's push to the credentials comment "
                f"(steady state; the first run of this version is 'run 0' above): "
                f"{describe(access)}: the runner's CPU {access.runner_cpu / 3:.2f}x, the wall "
                f"{access.wall / 3:.2f}x the 3 s budget"
            )
        if "full_fetch_s" in r:
            print(
                f"  fetch           fetch-depth 0: {r['full_fetch_mib']:.1f} MiB in "
                f"{r['full_fetch_s']:.2f}s; the workflow's checkout (depth 1, blob:none, sparse) "
                f"and sync's state read: "
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
    parser.add_argument("--runs", type=int, default=1, help="best of R for each timed figure")
    parser.add_argument("--no-fetch", action="store_true", help="skip the clone figures")
    parser.add_argument("--no-access", action="store_true", help="skip the time to access")
    parser.add_argument("--no-pip", action="store_true", help="skip the pip install figure")
    parser.add_argument(
        "--quick", action="store_true", help="2,000 and 10,000 grants, no clone, no pip figure"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jitflow-bench",
        help="where built histories are kept between runs (delete it to rebuild)",
    )
    args = parser.parse_args()
    if args.quick:
        args.grants, args.no_fetch, args.no_pip = [2000, 10000], True, True
    args.cache.mkdir(parents=True, exist_ok=True)
    from access_bench import compile_like_pip, start_vault

    compile_like_pip()  # every jitflow process below runs as an installed one would

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
    short = max(args.runs, SHORT_RUNS)
    runs = f"best of {args.runs} each, of {short} under {SHORT_S:.0f} s wall and time to access"
    print(f"=== summary ({runs}; a shared machine, so wall time is noisy)")
    if not args.no_pip:
        print(f"pip install . (warm cache): {_fig(installed)}")
    report(rows, rows[0])


if __name__ == "__main__":
    main()
