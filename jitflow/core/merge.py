"""How a merged PR landed on main, which reviews count, and how late a grant may start.

Pure: the use-case reads main's first-parent chain from git and passes it in, with `now`.
The rules (see README "Security model"):
- the policies that decide are main's as it stood just before the PR landed, a commit on
  main's first-parent chain below the PR's `merge_commit_sha`, never a commit that came
  with the PR, whatever the merge method;
- only reviews submitted before the merge count;
- a grant is issued for its window [due, due + duration]: a run up to `LATE_GRACE` late
  issues the whole duration, a later run only what is left of the window, and a window
  with less than `MIN_REMAINDER` left is denied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from jitflow.core.model import Review
from jitflow.core.times import format_time

LATE_GRACE = timedelta(minutes=15)
MIN_REMAINDER = timedelta(minutes=1)


class MergeMethod(StrEnum):
    MERGE = "merge"  # a merge commit (also each entry of a merge queue using merges)
    SQUASH = "squash"  # one new commit
    REBASE = "rebase"  # one new commit per PR commit; merge_commit_sha is the last one
    FAST_FORWARD = "fast-forward"  # the PR head itself pushed onto main


@dataclass(frozen=True)
class ChainStep:
    """One commit on main's first-parent chain, newest first."""

    sha: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Landing:
    """Where a PR landed: `base` is main just before it, `commits` what it brought."""

    method: MergeMethod
    base: str
    commits: tuple[str, ...]  # first-parent commits of main the PR brought, newest first


def find_landing(
    chain: Sequence[ChainStep],
    head_sha: str,
    pr_commits: Iterable[str],
    same_change: Callable[[str], bool],
) -> Landing | None:
    """How the PR whose `merge_commit_sha` is `chain[0]` landed, or None when it can't be
    told for sure (then nothing is issued).

    `same_change(base)` says whether main's diff from `base` to the merge commit is exactly
    the PR's file list: only then does `base` hold the rules the PR was judged by.
    """
    if not chain:
        return None
    merge, own = chain[0], set(pr_commits)
    if len(merge.parents) >= 2:
        if merge.parents[1] != head_sha:
            return None
        return _checked(MergeMethod.MERGE, merge.parents[0], chain[:1], same_change)
    if merge.sha == head_sha:
        brought = 0
        while brought < len(chain) and chain[brought].sha in own:
            brought += 1
        if brought >= len(chain):
            return None
        return _checked(MergeMethod.FAST_FORWARD, chain[brought].sha, chain[:brought], same_change)
    for count in dict.fromkeys((1, max(1, len(own)))):
        segment = chain[:count]
        if count >= len(chain) or any(len(step.parents) != 1 for step in segment):
            continue
        method = MergeMethod.SQUASH if count == 1 else MergeMethod.REBASE
        landing = _checked(method, chain[count].sha, segment, same_change)
        if landing is not None:
            return landing
    return None


def _checked(
    method: MergeMethod,
    base: str,
    segment: Sequence[ChainStep],
    same_change: Callable[[str], bool],
) -> Landing | None:
    if not same_change(base):
        return None
    return Landing(method, base, tuple(step.sha for step in segment))


def reviews_before(reviews: Iterable[Review], merged_at: datetime) -> tuple[Review, ...]:
    """The reviews submitted before the merge: an approval given afterwards approves nothing
    that was decided (GitHub accepts reviews on merged PRs)."""
    return tuple(r for r in reviews if r.submitted_at <= merged_at)


@dataclass(frozen=True)
class IssueWindow:
    """How long to issue for, or why not (a window that has passed)."""

    duration: timedelta | None
    late_by: timedelta
    problem: str = ""


def issue_window(due: datetime, duration: timedelta, now: datetime) -> IssueWindow:
    """What is left of the window [due, due + duration] at `now`."""
    late = max(timedelta(0), now - due)
    if late <= LATE_GRACE:
        return IssueWindow(duration, late)
    left = due + duration - now
    if left < MIN_REMAINDER:
        return IssueWindow(
            None,
            late,
            f"its window ended at {_time(due + duration)}: a grant is never issued after it",
        )
    return IssueWindow(left, late)


def _time(moment: datetime) -> str:
    return format_time(moment)
