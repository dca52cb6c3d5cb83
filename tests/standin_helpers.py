"""Git helpers for tests that drive the GitHub stand-in: seed a bare repo, push branches."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.accounts import first_id

DEFAULT_FILES: Mapping[str, bytes] = {
    "README.md": b"# access\n\nAccess requests live under requests/.\n",
}
IDENTITY = {
    "GIT_AUTHOR_NAME": "Seed",
    "GIT_AUTHOR_EMAIL": "seed@example.test",
    "GIT_COMMITTER_NAME": "Seed",
    "GIT_COMMITTER_EMAIL": "seed@example.test",
}


def write_files(root: Path, files: Mapping[str, bytes | None]) -> None:
    """Write (or, for None, delete) files below root."""
    for name, content in files.items():
        target = root / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def github_ids(*logins: str) -> str:
    """groups.yaml's `github_ids:` line pinning each login to the account the stand-in gives
    the first to register it."""
    return "github_ids:\n" + "".join(f"  {login}: {first_id(login)}\n" for login in logins)


def make_bare_repo(directory: Path, files: Mapping[str, bytes] = DEFAULT_FILES) -> Path:
    """A bare repository whose `main` holds one commit with `files`."""
    bare = directory / "origin.git"
    seed = directory / "seed"
    Git(directory).run("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    Git(directory).run("init", "--quiet", "--initial-branch=main", str(seed))
    write_files(seed, files)
    git = Git(seed, env=IDENTITY)
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "Initial commit")
    git.run("push", "--quiet", str(bare), "main")
    return bare


def clone(
    bare: Path, target: Path, name: str = "Alice Example", email: str = "alice@example.test"
) -> Git:
    """A work-tree clone of the bare repo with an identity configured."""
    Git(bare.parent).run("clone", "--quiet", str(bare), str(target))
    git = Git(target)
    git.run("config", "user.name", name)
    git.run("config", "user.email", email)
    return git


def push_branch(
    work: Git,
    branch: str,
    files: Mapping[str, bytes | None],
    message: str = "Change",
    start: str = "origin/main",
) -> str:
    """Commit `files` on `branch` (created from `start` if new), push it, return the sha."""
    existing = work.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    if existing:
        work.run("checkout", "--quiet", branch)
    else:
        work.run("fetch", "--quiet", "origin")
        work.run("checkout", "--quiet", "-b", branch, start)
    write_files(work.path, files)
    work.run("add", "--all")
    work.run("commit", "--quiet", "-m", message)
    work.run("push", "--quiet", "origin", branch)
    return work.rev_parse("HEAD")


def pygithub(standin: GitHubStandIn, login: str, per_page: int = 30, retry: Any = None) -> Any:
    """A PyGithub client for `login`, without PyGithub's default throttling.

    PyGithub waits 0.25 s between requests and 1 s between writes by default,
    which is right for github.com and only slows tests down here.
    """
    from github import Auth, Github

    return Github(
        base_url=standin.api_url,
        auth=Auth.Token(standin.token_for(login)),
        per_page=per_page,
        retry=retry,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
