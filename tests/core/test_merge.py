"""core.merge on plain values: how a PR landed, which reviews count, late windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jitflow.core.merge import (
    LATE_GRACE,
    ChainStep,
    MergeMethod,
    find_landing,
    issue_window,
    reviews_before,
)
from jitflow.core.model import Review, ReviewState

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def chain(*steps: str) -> list[ChainStep]:
    """'sha:parent1,parent2' entries, newest first."""
    out = []
    for step in steps:
        sha, _, parents = step.partition(":")
        out.append(ChainStep(sha, tuple(p for p in parents.split(",") if p)))
    return out


def only(*bases: str):  # type: ignore[no-untyped-def]
    return lambda base: base in bases


@pytest.mark.parametrize(
    ("steps", "head", "commits", "ok_bases", "expected"),
    [
        # merge commit: main before = first parent
        (("M:B,H", "B:A"), "H", ("H",), ("B",), (MergeMethod.MERGE, "B", ("M",))),
        # merge commit whose second parent is not the PR head: can't be this PR's merge
        (("M:B,X", "B:A"), "H", ("H",), ("B",), None),
        # squash: one new commit on main
        (("S:B", "B:A"), "H", ("c1", "c2"), ("B",), (MergeMethod.SQUASH, "B", ("S",))),
        # rebase of three commits: c1' loosens, c2' adds, c3' reverts: the base is below c1'
        (
            ("c3r:c2r", "c2r:c1r", "c1r:B", "B:A"),
            "c3",
            ("c1", "c2", "c3"),
            ("B",),
            (MergeMethod.REBASE, "B", ("c3r", "c2r", "c1r")),
        ),
        # fast-forward push of the PR head: the base is the first commit not from the PR
        (
            ("c3:c2", "c2:c1", "c1:B", "B:A"),
            "c3",
            ("c1", "c2", "c3"),
            ("B",),
            (MergeMethod.FAST_FORWARD, "B", ("c3", "c2", "c1")),
        ),
        # main's diff from the candidate base is not the PR's file list: refuse to guess
        (("c3r:c2r", "c2r:c1r", "c1r:B", "B:A"), "c3", ("c1", "c2", "c3"), (), None),
        # a rebase segment with a merge commit in it is not a rebase
        (("c2r:c1r", "c1r:B,Z", "B:A"), "c2", ("c1", "c2"), ("B",), None),
        # chain too short to reach a base
        (("S:B",), "H", ("c1",), ("B",), None),
        ((), "H", ("c1",), ("B",), None),
    ],
)
def test_find_landing(steps, head, commits, ok_bases, expected) -> None:  # type: ignore[no-untyped-def]
    landing = find_landing(chain(*steps), head, commits, only(*ok_bases))
    if expected is None:
        assert landing is None
    else:
        assert landing is not None
        assert (landing.method, landing.base, landing.commits) == expected


def test_a_one_commit_rebase_is_taken_as_a_squash_with_the_same_base() -> None:
    landing = find_landing(chain("R:B", "B:A"), "c1", ("c1",), only("B"))
    assert landing is not None and landing.base == "B"


def review(at: datetime) -> Review:
    return Review("bob", ReviewState.APPROVED, "H", at)


def test_only_reviews_submitted_before_the_merge_count() -> None:
    before, at, after = review(T0 - timedelta(minutes=1)), review(T0), review(T0 + timedelta(1))
    assert reviews_before((before, at, after), T0) == (before, at)


@pytest.mark.parametrize(
    ("late", "duration", "expected"),
    [
        (timedelta(0), timedelta(minutes=30), timedelta(minutes=30)),
        (LATE_GRACE, timedelta(minutes=30), timedelta(minutes=30)),
        (timedelta(minutes=20), timedelta(minutes=30), timedelta(minutes=10)),
        (timedelta(hours=2), timedelta(hours=8), timedelta(hours=6)),
        (timedelta(minutes=29, seconds=30), timedelta(minutes=30), None),
        (timedelta(hours=3), timedelta(minutes=30), None),
        (-timedelta(hours=1), timedelta(minutes=30), timedelta(minutes=30)),
    ],
)
def test_issue_window(late: timedelta, duration: timedelta, expected: timedelta | None) -> None:
    window = issue_window(T0, duration, T0 + late)
    assert window.duration == expected
    assert bool(window.problem) == (expected is None)
