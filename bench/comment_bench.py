"""Benchmark: N marked-comment upserts on one pull request, as sync posts its PR comments.

Each upsert lists the PR's comments (all pages, PyGithub's PaginatedList) to find jitflow's
comment with that marker, then creates it: N upserts on one PR read ~N^2/2 comments. Runs the
GitHub gateway (PyGithub, GithubRetry, no write pacing) against the in-process GitHub stand-in
and prints CPU seconds: the whole process (stand-in included) and the client thread alone,
best of `--rounds`, with the request count.

    python bench/comment_bench.py [--count 150] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.github import GitHubGateway
from jitflow.sandbox.github_standin import GitHubStandIn

SEED_ENV = {
    "GIT_AUTHOR_NAME": "seed",
    "GIT_AUTHOR_EMAIL": "s@x",
    "GIT_COMMITTER_NAME": "seed",
    "GIT_COMMITTER_EMAIL": "s@x",
}


def seed_repo(root: Path) -> Path:
    """A bare origin with main and a `request` branch one commit ahead (the PR)."""
    bare = root / "origin.git"
    Git(root).run("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git = Git(bare)
    empty = git.run("hash-object", "-t", "tree", "-w", "--stdin", input=b"")
    base = git.run("commit-tree", empty, "-m", "root", env=SEED_ENV)
    request = git.run("commit-tree", empty, "-p", base, "-m", "request", env=SEED_ENV)
    git.run("update-ref", "refs/heads/main", base)
    git.run("update-ref", "refs/heads/request", request)
    return bare


def one_round(count: int) -> tuple[float, float, int]:
    """(process CPU, client-thread CPU, requests) of `count` upserts on a fresh PR."""
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(seed_repo(Path(tmp))) as standin:
        standin.add_user("alice")
        number = standin.create_pull("alice", "request", title="bench")
        env = {
            "GITHUB_TOKEN": standin.add_user("jitflow-bot"),
            "GITHUB_REPOSITORY": standin.full_name,
            "GITHUB_API_URL": standin.api_url,
            "JITFLOW_BOT_LOGIN": "jitflow-bot",
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        with GitHubGateway.from_env(env) as github:
            before = len(standin.requests_log)
            process, thread = time.process_time(), time.thread_time()
            for i in range(count):
                github.upsert_comment(number, f"bench:{i}", f"grant {i} expired")
            process, thread = time.process_time() - process, time.thread_time() - thread
        assert len(standin.comments(number)) == count, "a comment is missing"
        return process, thread, len(standin.requests_log) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=150, help="upserts on one PR")
    parser.add_argument("--rounds", type=int, default=3, help="best of R")
    args = parser.parse_args()
    rounds = [one_round(args.count) for _ in range(args.rounds)]
    for i, (process, thread, requests) in enumerate(rounds, 1):
        print(f"round {i}: {process:.2f}s CPU ({thread:.2f}s client thread), {requests} requests")
    process, thread = min(r[0] for r in rounds), min(r[1] for r in rounds)
    print(
        f"{args.count} comment upserts on one PR: {process:.2f}s CPU with the stand-in, "
        f"{thread:.2f}s in the client thread (best of {args.rounds})"
    )


if __name__ == "__main__":
    main()
