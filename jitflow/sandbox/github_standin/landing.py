"""How a PR lands on its base branch, with GitHub's `merge_commit_sha` for each way.

- merge: a merge commit (base, head); merge_commit_sha is it.
- squash: one commit on the base; merge_commit_sha is it.
- rebase: each PR commit replayed on the base (author kept, GitHub as committer);
  merge_commit_sha is the LAST replayed commit, and GitHub associates every replayed
  commit with the PR (`GET /commits/{sha}/pulls`).
- fast-forward push: someone pushes the PR head (or a descendant) to the base branch;
  GitHub marks the PR merged with merge_commit_sha = the head, merged_by the pusher.
- merge queue: each queued PR gets a merge (or squash) commit on top of the previous one in
  a `gh-readonly-queue/<base>/pr-<n>-<sha>` branch, and the base is fast-forwarded to it.

And the "Update branch" button, which moves the PR's head instead: a merge of the base into
the head, authored by whoever clicked, committed and signed by GitHub, and recorded as their
push (so they become the PR's last pusher).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from jitflow.sandbox.github_standin import pushes
from jitflow.sandbox.github_standin.gitrepo import BareRepo, CommitInfo
from jitflow.sandbox.github_standin.messages import ApiError, Request, Response

if TYPE_CHECKING:
    from jitflow.sandbox.github_standin.service import Service

GITHUB_IDENTITY = ("GitHub", "noreply@github.com")


class Conflict(Exception):
    """The PR's commits don't apply on the base: GitHub says it can't be rebased."""


def rebase(git: BareRepo, base: str, commits: tuple[str, ...]) -> tuple[str, ...]:
    """Replay `commits` (oldest first) onto `base`; the new commits, oldest first."""
    current, replayed = base, []
    for sha in commits:
        info = git.commit(sha)
        if len(info.parents) != 1:
            raise Conflict("This branch can't be rebased: it contains merge commits")
        tree = _applied(git, current, info)
        current = _replay_commit(git, tree, current, info)
        replayed.append(current)
    return tuple(replayed)


def _applied(git: BareRepo, onto: str, info: CommitInfo) -> str:
    """The tree of `onto` with the change of commit `info` applied (a temporary index)."""
    patch = git.git.execute(
        ["diff-tree", "-p", "--binary", "--full-index", info.parents[0], info.sha]
    ).stdout
    with tempfile.TemporaryDirectory(prefix="standin-rebase-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git.git.run("read-tree", onto, env=env)
        if patch.strip():
            applied = git.git.execute(["apply", "--cached", "-"], input=patch, env=env, check=False)
            if applied.returncode != 0:
                raise Conflict("This branch can't be rebased")
        return git.git.run("write-tree", env=env)


def _replay_commit(git: BareRepo, tree: str, parent: str, info: CommitInfo) -> str:
    env = {
        "GIT_AUTHOR_NAME": info.author.name,
        "GIT_AUTHOR_EMAIL": info.author.email,
        "GIT_AUTHOR_DATE": info.author.date,
        "GIT_COMMITTER_NAME": GITHUB_IDENTITY[0],
        "GIT_COMMITTER_EMAIL": GITHUB_IDENTITY[1],
    }
    replayed = git.git.run(
        "commit-tree", tree, "-p", parent, input=(info.message + "\n").encode(), env=env
    )
    return git.sign_as_github(replayed)  # GitHub signs the commits it rebases


def merge_queue(
    service: Service, numbers: list[int], actor: str, method: str = "merge"
) -> list[str]:
    """Land queued PRs as GitHub's merge queue does: a merge (or squash) commit per PR,
    each on top of the previous, built in a `gh-readonly-queue/...` branch that the base
    branch is then fast-forwarded to. Returns each PR's merge_commit_sha."""
    if method not in ("merge", "squash"):
        raise ApiError(405, f"Merge method {method} is not allowed for the merge queue")
    pulls = [service.pull(n) for n in numbers]
    if not pulls or len({p.base_ref for p in pulls}) != 1:
        raise ApiError(422, "A merge group holds open PRs into one branch")
    branch = pulls[0].base_ref
    start = current = service.git.branches()[branch]
    built = []
    for pull in pulls:
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        service.check_mergeable(pull, actor)
        outcome = service.git.merge_outcome(current, pull.head_sha)
        if outcome.tree is None:
            raise ApiError(405, "Pull Request is not mergeable")
        pull.base_sha = current
        sha = service.merge_commit_for(pull, method, outcome.tree, actor, None, None)
        built.append((pull, current, sha))
        current = sha
    queue = f"gh-readonly-queue/{branch}/pr-{pulls[-1].number}-{start}"
    service.git.git.run("update-ref", f"refs/heads/{queue}", current)
    try:
        if not service.git.update_branch(branch, current, start):
            raise ApiError(409, "Base branch was modified. Review and try the merge again.")
    finally:
        service.git.git.run("update-ref", "-d", f"refs/heads/{queue}")
    for pull, base, sha in built:
        service.mark_merged(pull, actor, sha, base, (sha,))
    return [sha for _, _, sha in built]


def update_branch(service: Service, number: int, actor: str, expected: str | None) -> str:
    """The "Update branch" button (merge method): the new head of PR `number`."""
    pull = service.pull(number)
    if pull.state != "open":
        raise ApiError(422, "Pull request is not open")
    if expected and expected != pull.head_sha:
        raise ApiError(422, "expected head sha didn't match current head ref.")
    base = service.git.branches()[pull.base_ref]
    if service.git.contains(base, pull.head_sha):
        raise ApiError(422, "There are no new commits on the base branch.")
    outcome = service.git.merge_outcome(pull.head_sha, base)
    if outcome.tree is None:
        raise ApiError(422, "merge conflict between base and head")
    message = f"Merge branch '{pull.base_ref}' into {pull.head_ref}\n"
    identity = (actor, f"{actor}@users.noreply.github.com")
    head = service.git.commit_tree(outcome.tree, (pull.head_sha, base), message, identity)
    if not service.git.update_branch(pull.head_ref, head, pull.head_sha):
        raise ApiError(422, "expected head sha didn't match current head ref.")
    pushes.record(service.store, service.git, pull.head_ref, pull.head_sha, head, actor)
    service.refresh()
    return head


class PullBranchApi:
    """PUT .../pulls/{pull_number}/update-branch (mixed into `Api`)."""

    svc: Service
    _number: Callable[[Request], int]  # Api's: the PR number, 404 unless our repository

    def update_pull_branch(self, req: Request) -> Response:
        expected = req.body.get("expected_head_sha")
        number = self._number(req)
        update_branch(self.svc, number, req.user.login, str(expected) if expected else None)
        url = f"https://github.com/{self.svc.owner}/{self.svc.repo}/pull/{number}"
        return Response(202, {"message": "Updating pull request branch.", "url": url})
