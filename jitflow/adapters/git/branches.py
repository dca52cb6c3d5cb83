"""Building a one-commit branch with git plumbing, as a GitHub login.

Used by `jitflow request` (adds a file) and `jitflow revoke` (deletes one): the work tree,
the index and the current branch are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git.runner import Git
from jitflow.errors import UsageError


@dataclass(frozen=True)
class BranchCommit:
    """The one commit of a new branch: the branch, its author's login, its message, and the
    one file it adds (path, content) and/or removes (path)."""

    branch: str
    login: str
    message: str
    add: tuple[str, bytes] | None = None
    remove: str | None = None


def commit_on_new_branch(git: Git, base: str, wanted: BranchCommit) -> str:
    """Create the branch at a new commit on `base` that adds and/or removes one file."""
    branch, login, message = wanted.branch, wanted.login, wanted.message
    add, remove = wanted.add, wanted.remove
    if git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"):
        raise UsageError(f"branch {branch} already exists")
    git_dir = Path(git.run("rev-parse", "--absolute-git-dir"))
    index = git_dir / f"jitflow-index-{branch.replace('/', '-')}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", base, env=env)
        if add is not None:
            path, content = add
            blob = git.run("hash-object", "-w", "--stdin", input=content)
            git.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        if remove is not None:
            git.run("update-index", "--remove", "--force-remove", remove, env=env)
        tree = git.run("write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    email = f"{login}@users.noreply.github.com"
    identity = {
        "GIT_AUTHOR_NAME": login,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": login,
        "GIT_COMMITTER_EMAIL": email,
    }
    commit = git.run("commit-tree", tree, "-p", base, input=message.encode(), env=identity)
    git.run("update-ref", f"refs/heads/{branch}", commit, "")
    return commit


def delete_branch(git: Git, branch: str) -> None:
    """Delete the local `branch`, as far as that works (clean-up after a failure)."""
    git.execute(["branch", "-D", branch], check=False)
