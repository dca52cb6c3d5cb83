"""Who moved which branch: GitHub's repository activity (GET /repos/{o}/{r}/activity).

GitHub knows the account behind every push, whatever identities the pushed commits claim.
Pushes over HTTP are the token's account's, and pushes made through `GitHubStandIn.push`
name their pusher; a branch that moved behind the
stand-in's back (a plain `git push` into the bare repository) is taken as pushed by the
author of the open PR from that branch; with no PR yet, by whoever opens the first PR from it
(until then the pusher is unknown).
"""

from __future__ import annotations

from jitflow.sandbox.github_standin.gitrepo import ZERO_SHA, BareRepo
from jitflow.sandbox.github_standin.state import Activity, Pull, Store, timestamp


def record(
    store: Store, git: BareRepo, branch: str, before: str, after: str, actor: str | None
) -> None:
    """Record one ref update by `actor`, typed as GitHub types it."""
    if before == after:
        return
    if before == ZERO_SHA:
        kind = "branch_creation"
    elif after == ZERO_SHA:
        kind = "branch_deletion"
    elif git.contains(before, after):
        kind = "push"
    else:
        kind = "force_push"
    store.activities.append(
        Activity(
            store.ids.next("activity"),
            f"refs/heads/{branch}",
            before,
            after,
            actor,
            kind,
            timestamp(),
        )
    )
    if after == ZERO_SHA:
        store.tips.pop(branch, None)
    else:
        store.tips[branch] = after


def follow(
    store: Store, git: BareRepo, branches: dict[str, str], pusher: str | None = None
) -> None:
    """Record every branch move since the last look: by `pusher` when known (an
    authenticated push over HTTP), else as the module docstring says."""
    for branch in sorted(set(store.tips) | set(branches)):
        before, after = store.tips.get(branch, ZERO_SHA), branches.get(branch, ZERO_SHA)
        if before != after:
            actor = pusher or _implied_pusher(store, branch)
            record(store, git, branch, before, after, actor)


def claim(store: Store, branch: str, author: str) -> None:
    """A PR was opened from `branch`: its unattributed pushes were its author's."""
    ref = f"refs/heads/{branch}"
    for activity in store.activities:
        if activity.ref == ref and activity.actor is None:
            activity.actor = author


def last_push(store: Store, pull: Pull) -> tuple[str, str]:
    """(pusher, when) of the push that made the PR's head what it is: GitHub's "most recent
    reviewable push". Without a record of it, the PR's author when it was opened."""
    ref = f"refs/heads/{pull.head_ref}"
    for activity in reversed(store.activities):
        if activity.ref == ref and activity.after == pull.head_sha:
            return activity.actor or pull.author, activity.timestamp
    return pull.author, pull.created_at


def _implied_pusher(store: Store, branch: str) -> str | None:
    for pull in sorted(store.pulls.values(), key=lambda p: -p.number):
        if pull.head_ref == branch and pull.state == "open":
            return pull.author
    return None
