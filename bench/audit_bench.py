"""Benchmark `jitflow audit --format json` against a bare `git log --name-status`.

Builds a ledger repository with N grants using `git fast-import` (each grant: a request commit
on a PR branch, a merge commit, an issue commit and an expiry commit), then times, in one run,
the audit use-case in a child process against `git log --name-status` over the same history,
and reports the ratio and the child's peak memory (ru_maxrss).

    python bench/audit_bench.py            # 2,000 and 20,000 grants
    python bench/audit_bench.py 500 5000   # other sizes
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

RUNNER = "jitflow-sync <jitflow-sync@users.noreply.github.com>"
PEOPLE = ["alice", "carol", "dave", "mallory", "oscar", "peggy"]
REVIEWERS = ["bob", "erin"]
POLICY = b"""name: orders-db-write
description: Write access to the orders database
grant: {kind: database, mount: database, role: orders-write}
duration: {default: 30m, max: 4h}
requesters: {groups: [engineers]}
approvals:
  rules:
    - {count: 1, from: {groups: [sre-leads]}}
"""
GROUPS = b"engineers: [alice, carol, dave, mallory, oscar, peggy]\nsre-leads: [bob, erin]\n"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload


def _commit(
    ref: str,
    mark: int,
    who: str,
    when: datetime,
    message: str,
    parents: list[int],
    ops: list[bytes],
) -> bytes:
    stamp = f"{int(when.timestamp())} +0000"
    lines = [
        f"commit {ref}\nmark :{mark}\nauthor {who} {stamp}\ncommitter {who} {stamp}\n".encode()
    ]
    lines.append(_data(message.encode()))
    if parents:
        lines.append(f"from :{parents[0]}\n".encode())
        lines += [f"merge :{p}\n".encode() for p in parents[1:]]
    lines += ops
    return b"".join(lines) + b"\n"


def _inline(path: str, content: bytes) -> bytes:
    return f"M 100644 inline {path}\n".encode() + _data(content) + b"\n"


def fast_import_stream(grants: int) -> Iterator[bytes]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    mark = 1
    yield _commit(
        "refs/heads/main",
        mark,
        "admin <admin@example.com>",
        start,
        "policies",
        [],
        [_inline("policies/orders-db-write.yaml", POLICY), _inline("policies/groups.yaml", GROUPS)],
    )
    main = mark
    for index in range(grants):
        at = start + timedelta(minutes=30 * index + 1)
        who = PEOPLE[index % len(PEOPLE)]
        reviewer = REVIEWERS[index % 2]
        rid = f"{who}-orders-db-write-{at:%Y%m%d%H%M}-{index:06d}"
        request = (
            f"policy: orders-db-write\nrequester: {who}\nduration: 30m\n"
            f"reason: Fix stuck rows in orders.status for INC-{index}\n"
            f"ticket: INC-{index}\n"
        ).encode()
        mark += 1
        branch = mark
        yield _commit(
            f"refs/heads/request/{index % 4}",
            branch,
            f"{who} <{who}@users.noreply.github.com>",
            at,
            f"Request {rid}",
            [main],
            [_inline(f"requests/{rid}.yaml", request)],
        )
        mark += 1
        merge = mark
        yield _commit(
            "refs/heads/main",
            merge,
            f"{reviewer} <noreply@github.com>",
            at + timedelta(minutes=1),
            f"Merge pull request #{index + 1} from {who}/request",
            [main, branch],
            [_inline(f"requests/{rid}.yaml", request)],
        )
        issued = at + timedelta(minutes=2)
        expires = issued + timedelta(minutes=30)
        grant = (
            f"grant:\n  kind: database\n  mount: database\n  role: orders-write\n"
            f"  issued_at: '{_iso(issued)}'\n  expires_at: '{_iso(expires)}'\n"
            f"  requested_seconds: 1800\n  granted_seconds: 1800\n"
            f"  approved_by:\n  - {reviewer}\n  merged_by: {reviewer}\n"
            f"  merged_at: '{_iso(at + timedelta(minutes=1))}'\n  pr: {index + 1}\n"
            f"  merge_commit: ':{merge}'\n  policy_commit: ':{main}'\n"
            f"  break_glass: false\n  vault:\n    accessor: acc{index}\n"
        ).encode()
        trailers = (
            f"\n\nJitflow-Event: {{event}}\nJitflow-Request: {rid}\n"
            f"Jitflow-Policy: orders-db-write\nJitflow-Requester: {who}\n"
            "Jitflow-Unsettled: none\n"  # the checkpoint every runner commit carries
        )
        mark += 1
        issue = mark
        yield _commit(
            "refs/heads/main",
            issue,
            RUNNER,
            issued,
            f"jitflow: issue {rid}" + trailers.format(event="issue"),
            [merge],
            [
                f"D requests/{rid}.yaml\n".encode(),
                _inline(f"requests/active/{rid}.yaml", request + grant),
            ],
        )
        ended = (
            f"ended:\n  at: '{_iso(expires + timedelta(seconds=9))}'\n  reason: expired\n"
            f"  by: jitflow-sync\n"
        ).encode()
        mark += 1
        yield _commit(
            "refs/heads/main",
            mark,
            RUNNER,
            expires + timedelta(seconds=9),
            f"jitflow: expire {rid}" + trailers.format(event="expire"),
            [issue],
            [
                f"D requests/active/{rid}.yaml\n".encode(),
                _inline(f"requests/archive/{expires:%Y/%m}/{rid}.yaml", request + grant + ended),
            ],
        )
        main = mark


def build(root: Path, grants: int) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(root)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=root, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in fast_import_stream(grants):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=root, check=True)


def timed(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB, the child and the processes it waited for) and stderr."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed with {proc.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss, errors


AUDIT = (
    "import sys; from pathlib import Path; "
    "from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit; "
    "n = run_audit(AuditOptions(repo=Path(sys.argv[1]), format=ReportFormat.JSON, "
    "output=Path('/dev/null'))); import resource; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)


def bench(grants: int, workdir: Path) -> dict[str, float]:
    root = workdir / f"ledger-{grants}.git"
    started = time.perf_counter()
    build(root, grants)
    built = time.perf_counter() - started
    git_seconds, git_rss, _ = timed(["git", "log", "--name-status", "HEAD"], root)
    audit_seconds, audit_rss, own_rss = timed([sys.executable, "-c", AUDIT, str(root)], root)
    return {
        "grants": grants,
        "build_s": built,
        "git_log_s": git_seconds,
        "audit_s": audit_seconds,
        "ratio": audit_seconds / git_seconds,
        "audit_maxrss_mib": audit_rss / 1024,
        "python_maxrss_mib": int(own_rss) / 1024,
        "git_maxrss_mib": git_rss / 1024,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [2000, 20000]
    with tempfile.TemporaryDirectory(prefix="jitflow-audit-bench-") as tmp:
        for grants in sizes:
            r = bench(grants, Path(tmp))
            print(
                f"{r['grants']:>6} grants: audit {r['audit_s']:.2f}s, git log --name-status "
                f"{r['git_log_s']:.2f}s, ratio {r['ratio']:.2f}, audit peak RSS "
                f"{r['audit_maxrss_mib']:.0f} MiB with its git children, Python alone "
                f"{r['python_maxrss_mib']:.0f} MiB (git log {r['git_maxrss_mib']:.0f} MiB), "
                f"built in {r['build_s']:.1f}s",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
