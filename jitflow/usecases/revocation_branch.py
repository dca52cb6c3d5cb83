"""`jitflow revoke ID`: a branch that deletes requests/active/ID.yaml, built with plumbing.

Merging that PR is the revocation; `jitflow sync` then revokes in Vault and archives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.adapters.git.branches import BranchCommit, commit_on_new_branch
from jitflow.adapters.git.remote import push_branch
from jitflow.core.ledger import active_path
from jitflow.errors import UsageError
from jitflow.usecases.request import resolve_login


class PullOpener(Protocol):
    """Opens a pull request (the GitHub adapter)."""

    def create_pull(self, head: str, base: str, title: str, body: str) -> int: ...


@dataclass(frozen=True)
class RevokeOptions:
    repo: Path
    request_id: str
    reason: str
    login: str | None = None
    base: str = "origin/main"
    open_pr: bool = False  # push the branch to `remote` and open its PR into `base`'s branch
    remote: str = "origin"


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
    title = f"Revoke {options.request_id}"
    body = f"Revoke access early.\n\nReason: {options.reason.strip()}\n"
    wanted = BranchCommit(branch, login, f"{title}\n\n{body}", remove=path)
    commit = commit_on_new_branch(git, base, wanted)
    return RevocationBranch(options.request_id, branch, commit, title, body)


@dataclass(frozen=True)
class Revocation:
    """The revocation branch written, and its PR's number when one was opened."""

    branch: RevocationBranch
    pull_number: int | None = None


def revoke_through_pr(options: RevokeOptions, github: PullOpener | None) -> Revocation:
    """Write the revocation branch; with `open_pr`, push it and open its PR on `github`
    (which the caller builds first, so its settings are checked before the branch is)."""
    if options.open_pr and github is None:
        raise UsageError("--open needs GitHub to open the pull request")
    made = create_revocation(options)
    if not options.open_pr or github is None:
        return Revocation(made)
    return Revocation(
        made, open_revocation_pr(options.repo, made, options.remote, options.base, github)
    )


def open_revocation_pr(
    repo: Path, made: RevocationBranch, remote: str, base: str, github: PullOpener
) -> int:
    """Push the revocation branch to `remote` and open its PR into `base`'s branch."""
    push_branch(Git(repo), remote, made.branch)
    return github.create_pull(made.branch, base.split("/")[-1], made.title, made.body)
