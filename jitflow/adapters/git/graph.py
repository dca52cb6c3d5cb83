"""Questions about the commit graph: does a commit exist here, is one an ancestor of another,
which commits lie on a first-parent line. Each answer is one git process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from jitflow.adapters.git.runner import Git
from jitflow.core.times import format_time


def is_commit(git: Git, sha: str) -> bool:
    """Whether `sha` names a commit present in this clone."""
    return git.ok("cat-file", "-e", f"{sha}^{{commit}}")


def has_parent_here(git: Git, commit: str) -> bool:
    """Whether `commit`'s first parent is present (false at a shallow checkout's boundary)."""
    return git.ok("cat-file", "-e", f"{commit}^")


def is_ancestor(git: Git, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is in `descendant`'s history (a commit is its own ancestor)."""
    return git.ok("merge-base", "--is-ancestor", ancestor, descendant)


def ref_exists(git: Git, ref: str) -> bool:
    return git.ok("rev-parse", "--verify", "--quiet", ref)


def first_parent_of(git: Git, commit: str) -> str:
    return git.run("rev-parse", f"{commit}^")


def parents_of(git: Git, commit: str) -> list[str]:
    return git.run("rev-list", "--parents", "-n", "1", commit).split()[1:]


def first_parents_down_to(git: Git, tip: str, stops: Sequence[str]) -> list[str]:
    """`tip`'s first-parent line, newest first, down to (not into) the history of `stops`."""
    return git.run("rev-list", "--first-parent", tip, "--not", *stops).split()


def first_parents_with_parents(git: Git, tip: str, count: int) -> list[tuple[str, tuple[str, ...]]]:
    """The `count` newest commits of `tip`'s first-parent line, each with all its parents."""
    out = git.run("rev-list", "--first-parent", "--parents", "-n", str(count), tip)
    return [(line.split()[0], tuple(line.split()[1:])) for line in out.splitlines()]


def first_parents_between(git: Git, base: str, tip: str, limit: int) -> list[str]:
    """At most `limit` commits of `tip`'s first-parent line after `base`, newest first."""
    return git.run("rev-list", "--first-parent", f"--max-count={limit}", f"{base}..{tip}").split()


def first_parents_since(git: Git, tip: str, since: datetime) -> list[str]:
    """`tip`'s first-parent commits committed at `since` or later, newest first."""
    return git.run("rev-list", "--first-parent", f"--since={format_time(since)}", tip).split()


def has_merge_between(git: Git, base: str, tip: str) -> bool:
    """Whether a merge commit lies between `base` and `tip`."""
    return bool(git.run("rev-list", "--min-parents=2", f"{base}..{tip}").strip())


def commits_after(git: Git, mark: str, tip: str) -> list[str]:
    """Commits reachable from `tip` and not from `mark`, oldest first."""
    return git.run("rev-list", "--reverse", "--topo-order", tip, f"^{mark}", "--").split()
