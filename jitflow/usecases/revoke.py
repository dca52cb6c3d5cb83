"""`jitflow revoke ID`: a branch that deletes requests/active/ID.yaml, built with plumbing.

Merging that PR is the revocation; `jitflow sync` then revokes in Vault and archives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.ledger import active_path
from jitflow.errors import UsageError
from jitflow.usecases.request import resolve_login


@dataclass(frozen=True)
class RevokeOptions:
    repo: Path
    request_id: str
    reason: str
    login: str | None = None
    base: str = "origin/main"


@dataclass(frozen=True)
class RevocationBranch:
    request_id: str
    branch: str
    commit: str
    title: str
    body: str


def create_revocation(options: RevokeOptions) -> RevocationBranch:
    git = Git(options.repo)
    login = resolve_login(git, options.login)
    base = git.rev_parse(options.base)
    path = active_path(options.request_id)
    if git.show_bytes(base, path) is None:
        raise UsageError(f"{options.request_id} is not an active grant at {options.base}")
    if not options.reason.strip():
        raise UsageError("--reason must say why the grant is revoked")
    branch = f"jitflow/revoke/{options.request_id}"
    if git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"):
        raise UsageError(f"branch {branch} already exists")
    git_dir = Path(git.run("rev-parse", "--absolute-git-dir"))
    index = git_dir / f"jitflow-index-revoke-{options.request_id}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", base, env=env)
        git.run("update-index", "--remove", "--force-remove", path, env=env)
        tree = git.run("write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    identity = {
        "GIT_AUTHOR_NAME": login,
        "GIT_AUTHOR_EMAIL": f"{login}@users.noreply.github.com",
        "GIT_COMMITTER_NAME": login,
        "GIT_COMMITTER_EMAIL": f"{login}@users.noreply.github.com",
    }
    title = f"Revoke {options.request_id}"
    body = f"Revoke access early.\n\nReason: {options.reason.strip()}\n"
    commit = git.run(
        "commit-tree", tree, "-p", base, input=f"{title}\n\n{body}".encode(), env=identity
    )
    git.run("update-ref", f"refs/heads/{branch}", commit, "")
    return RevocationBranch(options.request_id, branch, commit, title, body)
