"""Time to access: the runner's own time from the push event of a merge to the credentials
comment posted, on a long ledger history.

The sync workflow (`.github/workflows/sync.yml`) runs in the workflow harness
(tests/workflows/harness.py: GitHub's environment, expressions and shells, a real checkout of
the stand-in's repository) against the GitHub stand-in and OpenBao, for the push of a merged
request PR. GitHub's queue (event to job start) is not in it, nor the `pip install` step,
which the harness skips as machine setup (bench/scale_bench.py measures it on its own).

The repository is served by a `git daemon` started for each run, as GitHub serves it from its
own machines: the git work of GitHub's side (upload-pack and pack-objects for the checkout and
sync's fetches, receive-pack for sync's push) is the daemon's, measured apart from the job's.
The figures: wall seconds (both sides, on this machine), the CPU seconds of the job's
processes (the runner's own work: the checkout's git, jitflow and its git, the shells) and
the CPU seconds of the daemon (GitHub's git side). The stand-in's API answers run in this
process, outside both; its own git calls (a PR's commits, merge bases) are counted with the
job's, a few milliseconds each with the commit-graph GitHub keeps.

Used by bench/scale_bench.py; on its own: `python bench/access_bench.py [--grants N] [--runs R]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from jitflow.adapters.git import Git  # noqa: E402
from jitflow.sandbox.github_standin import GitHubStandIn  # noqa: E402
from jitflow.sandbox.github_standin.events import build_event  # noqa: E402
from tests.conftest_servers import TEST_REPOSITORY, JwtSigner  # noqa: E402
from tests.standin_helpers import push_branch  # noqa: E402
from tests.workflows.test_harness import OPS_READ  # noqa: E402

BOT = "github-actions[bot]"
SYNC = ROOT / ".github" / "workflows" / "sync.yml"


@dataclass(frozen=True)
class VaultForAccess:
    addr: str
    jwt_role: str
    signer: JwtSigner
    pid: int | None = None  # the OpenBao server's process, when known (its CPU is printed)


def process_cpu(pid: int | None) -> float:
    """CPU seconds a running process has used so far (0 when unknown)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_vault(addr: str, root_token: str) -> VaultForAccess:
    """Configure a fresh dev OpenBao the way the workflow tests do (JWT auth for the job)."""
    from jitflow.sandbox.servers.vault_setup import configure_dev_vault

    signer = JwtSigner()
    setup = configure_dev_vault(
        addr, root_token, jwt_public_key_pem=signer.public_key_pem, repository=TEST_REPOSITORY
    )
    assert setup.jwt_role
    return VaultForAccess(addr, setup.jwt_role, signer)


def add_project_policies(bare: Path, workdir: Path) -> None:
    """The project's policies (with ops-read, a token OpenBao can issue) on top of main."""
    work = workdir / "admin"
    _sparse_clone(bare, work, "policies")
    for source in (ROOT / "policies").rglob("*.yaml"):
        target = work / "policies" / source.relative_to(ROOT / "policies")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    groups = work / "policies" / "groups.yaml"
    groups.write_text(groups.read_text() + "engineers: [alice, carol, dave]\n")
    (work / "policies" / "ops-read.yaml").write_bytes(OPS_READ)
    git = Git(work)
    git.run("add", "-A")
    ident = ["-c", "user.name=admin", "-c", "user.email=admin@example.com"]
    git.run(*ident, "commit", "-q", "-m", "Project policies")
    git.run("push", "-q", "origin", "HEAD:main")


def _sparse_clone(bare: Path, work: Path, folder: str) -> None:
    """A one-commit clone with only `folder` (and the files beside it) written out: the
    archive's 100,000 files are not what the bench measures."""
    _allow_filters(bare)
    clone = ["git", "clone", "-q", "--depth=1", "--filter=blob:none", "--no-checkout"]
    clone += [bare.as_uri(), str(work)]
    subprocess.run(clone, check=True)
    subprocess.run(["git", "sparse-checkout", "set", folder], cwd=work, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=work, check=True)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class GitDaemon:
    url: str
    cpu: float = 0.0  # CPU seconds of the daemon and its children, once it has stopped


@contextmanager
def git_daemon(bare: Path) -> Iterator[GitDaemon]:
    """Serve `bare` over git:// (fetch and push) from a daemon of its own, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={bare.parent}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(bare.parent),
        ]
    )
    served = GitDaemon(f"git://127.0.0.1:{port}/{bare.name}")
    try:
        for _ in range(200):
            if (
                subprocess.run(["git", "ls-remote", served.url], capture_output=True).returncode
                == 0
            ):
                break
            time.sleep(0.05)
        yield served
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(daemon.pid, 0)
        served.cpu = usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Access:
    wall: float  # seconds from the push event to the credentials comment, both sides
    runner_cpu: float  # the job's processes
    server_cpu: float  # GitHub's git side (the daemon)
    # this process: the stand-in's API answers (GitHub's API side) and the harness itself
    local_cpu: float = 0.0
    vault_cpu: float = 0.0  # the OpenBao server


def time_to_access(bare: Path, vault: VaultForAccess, workdir: Path, runs: int) -> Access:
    """Best of `runs` of each figure (CPU is what a loaded machine distorts least), in the
    steady state: after one run, printed as run 0 and not counted, of this version on the
    built history. The history's runner commits carry no `Jitflow-Awaiting-Review` list (the
    builder writes ledgers as older runners did), so that first run reads the last 30 days'
    archive records, as an organisation's first run after upgrading does, once; it writes the
    list every later run reads instead."""
    from tests.workflows.harness import Platform, run_workflow, trigger

    owner, repo = TEST_REPOSITORY.split("/")
    add_project_policies(bare, workdir)
    key = workdir / "alice_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with GitHubStandIn(bare, owner=owner, repo=repo) as standin:
        standin.add_user("alice", ssh_keys=[key.with_suffix(".pub").read_text().strip()])
        standin.add_user("bob")
        bot_token = standin.add_user(BOT)
        author = workdir / "alice"
        _sparse_clone(bare, author, "requests/active")
        alice = Git(author)
        alice.run("config", "user.name", "alice")
        alice.run("config", "user.email", "alice@users.noreply.github.com")
        times: list[float] = []
        cpus, served, local, vaults = list(times), list(times), list(times), list(times)
        for index in range(runs + 1):
            request_id = f"alice-ops-read-access-{index}"
            content = (
                "policy: ops-read\nrequester: alice\nduration: 30m\n"
                "reason: investigating the orders backlog for the incident\n"
            )
            branch = f"request/{request_id}"
            push_branch(alice, branch, {f"requests/{request_id}.yaml": content.encode()})
            number = standin.create_pull("alice", branch, title=f"Request {request_id}")
            standin.submit_review(number, "bob", "APPROVE")
            standin.merge_pull(number, "bob")
            with git_daemon(bare) as daemon:
                platform = Platform(
                    bare,
                    standin.full_name,
                    standin.api_url,
                    bot_token,
                    variables={"VAULT_ADDR": vault.addr, "JITFLOW_VAULT_ROLE": vault.jwt_role},
                    sign_id_token=vault.signer.sign,
                    machine_env={"JITFLOW_GITHUB_WRITE_INTERVAL": "0"},
                    clone_url=daemon.url,
                )
                event = trigger(platform, "push", build_event("push", standin, number))
                started, cpu, own = time.perf_counter(), _children_cpu(), _own_cpu()
                bao = process_cpu(vault.pid)
                run_workflow(SYNC, platform, event, workdir / f"runs-{index}")
                times.append(time.perf_counter() - started)
                cpus.append(_children_cpu() - cpu)
                local.append(_own_cpu() - own)
                vaults.append(process_cpu(vault.pid) - bao)
            served.append(daemon.cpu)
            label = "run 0 (first of this version: no list yet)" if index == 0 else f"run {index}"
            print(
                f"  {label}: {describe(Access(times[-1], cpus[-1], served[-1], local[-1], vaults[-1]))}",
                file=sys.stderr,
                flush=True,
            )
            comments = [c["body"] for c in standin.comments(number) if c["user"]["login"] == BOT]
            if not any(f"jitflow:credentials:{request_id}" in c for c in comments):
                raise SystemExit(f"no credentials comment on PR #{number}")
    steady = slice(1, None)
    return Access(*(min(figures[steady]) for figures in (times, cpus, served, local, vaults)))


def github_origin(history: Path, cache: Path) -> Path:
    """`history` packed the way GitHub keeps a repository it serves, built once and kept in
    `cache` next to it: GitHub repacks in the background (one pack, deltas searched afresh,
    so the newest versions are whole and older ones deltas against them), with a reachability
    bitmap and a commit-graph. `git fast-import`'s own packing is nothing like it: there the
    tip's trees are deltas against older versions that a one-commit fetch doesn't send, so
    every checkout would pay a delta search over them that GitHub's serving doesn't."""
    target = cache / f"{history.name.removesuffix('.git')}.github.git"
    done = target / "jitflow-bench-github-packed"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(history, target, symlinks=True)
    packed = ["git", "-C", str(target), "repack", "-a", "-d", "-f", "-q", "--write-bitmap-index"]
    subprocess.run(packed, check=True)
    graph = ["git", "-C", str(target), "commit-graph", "write", "--reachable"]
    subprocess.run(graph, check=True)
    _allow_filters(target)
    done.touch()
    return target


def _allow_filters(bare: Path) -> None:
    """As GitHub: partial clones (GitHub serves blob:none, blob:limit and tree:0 only)."""
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=bare, check=True)


def compile_like_pip() -> None:
    """Write jitflow's bytecode, as `pip install` does on a runner. A shell that sets
    PYTHONDONTWRITEBYTECODE (this machine's does) would otherwise have every jitflow process
    compile every module it loads: ~0.6 s of CPU a job at 100,000 grants (time to access 3.05
    against 2.44 s, same code), which no installed runner pays."""
    import compileall

    import jitflow

    for package in {ROOT / "jitflow", Path(jitflow.__file__).parent}:
        compileall.compile_dir(package, quiet=1)


def main() -> None:
    from jitflow.sandbox.servers.openbao import OpenBaoDevServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cache", type=Path, help="keep the built history here (bench/scale_bench.py's cache)"
    )
    parser.add_argument(
        "--packing",
        choices=("github", "fast-import"),
        default="github",
        help="serve the history repacked as GitHub keeps it (default) or as fast-import left it",
    )
    args = parser.parse_args()
    compile_like_pip()
    with tempfile.TemporaryDirectory(prefix="jitflow-access-") as tmp, OpenBaoDevServer() as bao:
        bare = origin(args, Path(tmp))
        vault = start_vault(bao.addr, bao.root_token)
        process = getattr(bao, "_process", None)  # a bench may look inside the launcher
        vault = VaultForAccess(vault.addr, vault.jwt_role, vault.signer, process and process.pid)
        access = time_to_access(bare, vault, Path(tmp), args.runs)
    print(
        f"{args.grants:,} grants ({args.packing} packing): time to access {describe(access)} "
        f"(best of {args.runs}; load {os.getloadavg()[0]:.1f})"
    )


def origin(args: argparse.Namespace, workdir: Path) -> Path:
    """The origin the stand-in serves: a copy sharing the history's objects (runs write)."""
    from scale_bench import copy_of, history

    cache = args.cache or workdir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    built, _ = history(args.grants, cache)
    if args.packing == "github":
        return copy_of(github_origin(built, cache), workdir / "origin.git")
    bare = copy_of(built, workdir / "origin.git")
    # GitHub keeps a commit-graph for its repositories; without one the stand-in's answers
    # (a PR's commits, merge bases) walk the whole history.
    subprocess.run(["git", "commit-graph", "write", "--reachable"], cwd=bare, check=True)
    return bare


def describe(access: Access) -> str:
    local = (
        f", {access.local_cpu:.2f}s CPU of the stand-in's API and the harness"
        if access.local_cpu
        else ""
    )
    local += f", {access.vault_cpu:.2f}s CPU of OpenBao" if access.vault_cpu else ""
    return (
        f"{access.wall:.2f}s wall, {access.runner_cpu:.2f}s CPU of the job (the runner), "
        f"{access.server_cpu:.2f}s CPU of GitHub's git side{local}"
    )


if __name__ == "__main__":
    main()
