"""How a grant's request landed on main, as the ledger records it, checked against history.

History alone takes the first-parent commit that added `requests/<id>.yaml` as the merge and
its parent as the policy commit. That is right for merge commits, squashes and one-commit
rebases; a rebase (or fast-forward) of several commits lands the PR as a straight line of
commits, and sync records GitHub's `merge_commit_sha` (the last of them) and the commit below
them. Verify accepts that record only when history proves it: the recorded policy commit is
the first-parent base of a straight line of single-parent commits ending at the recorded merge,
the line contains the commit that added the request, and every commit in it touches nothing
but request files, so the policies at the base are the policies at every commit of the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jitflow.adapters.git import Git, graph, log
from jitflow.core.history import RequestTrail

_REQUEST_FILE = re.compile(r"requests/[a-z0-9][a-z0-9-]*\.yaml")
_MAX_LINE = 250  # a PR's commits; a longer line is not believed


@dataclass(frozen=True)
class Landing:
    """A recorded multi-commit landing that history confirms."""

    merge: str
    policy_commit: str
    commits: frozenset[str]


def recorded_landing(git: Git, trail: RequestTrail, grant: Mapping[str, Any]) -> Landing | None:
    """The recorded landing when it differs from history's default reading and history
    proves it; None when it matches the default or can't be proven (the usual mismatch
    findings then apply)."""
    merge, policy = grant.get("merge_commit"), grant.get("policy_commit")
    if trail.merge is None or not isinstance(merge, str) or not isinstance(policy, str):
        return None
    default_parent = trail.merge_parents[0] if trail.merge_parents else ""
    if merge == trail.merge.sha and policy == default_parent:
        return None
    if not all(_is_commit(sha) and graph.is_commit(git, sha) for sha in (merge, policy)):
        return None
    if not graph.is_ancestor(git, merge, "HEAD"):
        return None
    commits = graph.first_parents_between(git, policy, merge, _MAX_LINE + 1)
    if not commits or len(commits) > _MAX_LINE or trail.merge.sha not in commits:
        return None
    if graph.has_merge_between(git, policy, merge):
        return None
    if graph.first_parent_of(git, commits[-1]) != policy:
        return None
    touched = log.paths_changed_between(git, policy, merge)
    if not all(_REQUEST_FILE.fullmatch(path) for path in touched):
        return None
    return Landing(merge, policy, frozenset(commits))


def _is_commit(value: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{40}", value) is not None
