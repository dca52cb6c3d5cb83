"""How long `jitflow check` takes on a large access repository, next to a bare schema check.

Builds (with `git fast-import`) a repository with 1,000 policies and 10,000 archived requests,
plus a branch adding one request, then times, best of N runs, in the same process:

  jitflow check --base main --head request ...        (policies, groups, ids, grants from git)
  check-jsonschema --schemafile request.schema.json <the one request file>

and prints both and their ratio. The target is a ratio of at most 1.0: the whole gate costs no
more than validating one file against its schema.

    python bench/check_bench.py [--runs 5] [--policies 1000] [--archived 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

NOW = "2026-11-22T10:00:00Z"
EPOCH = 1_790_000_000
REQUESTER = "alice"


def policy_yaml(name: str) -> str:
    return (
        "# yaml-language-server: $schema=../.jitflow/schemas/policy.schema.json\n"
        f"name: {name}\n"
        f"description: Benchmark policy {name}\n"
        "grant:\n  kind: database\n  mount: database\n  role: bench\n"
        "duration: {default: 30m, max: 2h}\n"
        "requesters: {groups: [sre]}\n"
        "approvals:\n  rules:\n    - {count: 1, from: {groups: [sre-leads]}}\n"
        "reason: {min_length: 10}\n"
        "ticket: {required: false, pattern: '^(INC|CHG)-[0-9]+$'}\n"
        "limits: {active_per_requester: 2}\n"
    )


def archived_yaml(index: int, policy: str) -> tuple[str, str]:
    month = index % 12 + 1
    request_id = f"user{index % 97}-{policy}-2025{month:02d}01-{index:05d}"
    body = (
        f"policy: {policy}\nrequester: user{index % 97}\nduration: 30m\n"
        f"reason: benchmark history entry {index}\n"
        "grant:\n  kind: database\n  issued_at: '2025-01-01T10:00:00Z'\n"
        "  expires_at: '2025-01-01T10:30:00Z'\n"
        "ended:\n  at: '2025-01-01T10:30:05Z'\n  reason: expired\n  by: jitflow-sync\n"
    )
    return f"requests/archive/2025/{month:02d}/{request_id}.yaml", body


REQUEST = (
    "# yaml-language-server: $schema=../.jitflow/schemas/request.schema.json\n"
    "policy: p0007\n"
    f"requester: {REQUESTER}\n"
    "duration: 1h\n"
    "reason: investigate the slow checkout queries\n"
    "ticket: INC-4211\n"
)
REQUEST_PATH = "requests/alice-p0007-20261122-ab12.yaml"


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def _commit_header(ref: str, mark: int, who: str, message: str) -> bytes:
    ident = f"{who} <{who}@users.noreply.github.com> {EPOCH} +0000"
    head = f"commit {ref}\nmark :{mark}\nauthor {ident}\ncommitter {ident}\n"
    return head.encode() + _data(message)


def fast_import_stream(policies: int, archived: int) -> Iterator[bytes]:
    yield _commit_header("refs/heads/main", 1, "admin", "base")
    groups = "sre: [alice, carol]\nsre-leads: [bob]\n"
    yield b"M 100644 inline policies/groups.yaml\n" + _data(groups)
    names = [f"p{i:04d}" for i in range(policies)]
    for name in names:
        yield f"M 100644 inline policies/{name}.yaml\n".encode() + _data(policy_yaml(name))
    for index in range(archived):
        path, body = archived_yaml(index, names[index % len(names)])
        yield f"M 100644 inline {path}\n".encode() + _data(body)
    yield b"\n"
    yield _commit_header("refs/heads/request", 2, REQUESTER, "Request access")
    yield b"from :1\n"
    yield f"M 100644 inline {REQUEST_PATH}\n".encode() + _data(REQUEST)
    yield b"\n"


def build_repository(path: Path, policies: int, archived: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = b"".join(fast_import_stream(policies, archived))
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input=stream, check=True, capture_output=True
    )


def best_of(runs: int, command: list[str], cwd: Path, expect: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != expect:
            sys.exit(
                f"{' '.join(command)} exited {proc.returncode}, expected {expect}:\n"
                f"{proc.stdout.decode(errors='replace')}{proc.stderr.decode(errors='replace')}"
            )
        best = min(best, elapsed)
    return best


def jitflow_command() -> list[str]:
    return [sys.executable, "-m", "jitflow"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--archived", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    parser.add_argument(
        "--max-ratio", type=float, help="exit 1 when jitflow/check-jsonschema exceeds this"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="jitflow-bench-"))
    repo = args.keep or workdir / "access"
    try:
        started = time.perf_counter()
        build_repository(repo, args.policies, args.archived)
        built = time.perf_counter() - started
        request_file = workdir / "request.yaml"
        request_file.write_text(REQUEST, encoding="utf-8")
        schema_file = workdir / "request.schema.json"
        schema_file.write_bytes(
            subprocess.run(
                [*jitflow_command(), "schema", "request"], capture_output=True, check=True
            ).stdout
        )
        check = [
            *jitflow_command(),
            "check",
            "--base",
            "main",
            "--head",
            "request",
            "--author",
            REQUESTER,
            "--now",
            NOW,
            "--format",
            "json",
        ]
        # Sanity: the gate really evaluated the request against the big base.
        out = subprocess.run(check, cwd=repo, capture_output=True, check=False)
        report = json.loads(out.stdout)
        assert out.returncode == 0 and report["allowed"], out.stdout.decode()
        assert report["requests"][0]["policy"] == "p0007"

        jitflow_time = best_of(args.runs, check, repo, expect=0)
        schema_time = best_of(
            args.runs,
            ["check-jsonschema", "--schemafile", str(schema_file), str(request_file)],
            workdir,
            expect=0,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = jitflow_time / schema_time
    print(f"repository: {args.policies} policies, {args.archived} archived requests ({built:.1f}s)")
    print(f"jitflow check     best of {args.runs}: {jitflow_time * 1000:8.0f} ms")
    print(f"check-jsonschema  best of {args.runs}: {schema_time * 1000:8.0f} ms")
    print(f"ratio jitflow/check-jsonschema: {ratio:.2f} (target <= 1.0)")
    if args.max_ratio is not None and ratio > args.max_ratio:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
