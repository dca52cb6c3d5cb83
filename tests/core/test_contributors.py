"""Who changed a PR, and whether it is the author's own: core.contributors, table-driven."""

from __future__ import annotations

import pytest

from jitflow.core.contributors import co_author_login, judge_contributions
from jitflow.core.model import PullCommit, PullRequestFacts, Push

HEAD = "h" * 40
OTHER = "o" * 40


def pr(*commits: PullCommit, pushes: tuple[Push, ...] | None = None) -> PullRequestFacts:
    return PullRequestFacts(
        number=1,
        author="alice",
        title="t",
        state="open",
        draft=False,
        base_ref="main",
        base_sha="b" * 40,
        head_ref="req",
        head_sha=commits[-1].sha if commits else HEAD,
        commits=commits,
        pushes=pushes,
    )


def own(sha: str = HEAD, **extra: object) -> PullCommit:
    return PullCommit(sha, "alice", "alice", **extra)  # type: ignore[arg-type]


CASES = [
    (
        "own commit, own push",
        pr(own(), pushes=(Push("alice", "0" * 40, HEAD, "push"),)),
        set(),
        set(),
    ),
    ("pushes not read (offline fake)", pr(own()), set(), set()),
    ("author null", pr(PullCommit(HEAD, None, "alice")), {"commit-identity-unlinked"}, set()),
    ("committer null", pr(PullCommit(HEAD, "alice", None)), {"commit-identity-unlinked"}, set()),
    ("authored by bob", pr(PullCommit(HEAD, "bob", "alice")), {"commit-not-by-author"}, {"bob"}),
    ("committed by bob", pr(PullCommit(HEAD, "alice", "Bob")), {"commit-not-by-author"}, {"bob"}),
    ("web-flow, verified", pr(PullCommit(HEAD, "alice", "web-flow", verified=True)), set(), set()),
    (
        "web-flow, unsigned",
        pr(PullCommit(HEAD, "alice", "web-flow")),
        {"commit-not-by-author"},
        set(),
    ),
    (
        "co-author by noreply",
        pr(own(co_authors=("Bob <1+bob@users.noreply.github.com>",))),
        {"co-author"},
        {"bob"},
    ),
    (
        "co-author by name",
        pr(own(co_authors=("carol <c@corp.example>",))),
        {"co-author"},
        {"carol"},
    ),
    (
        "co-author is the author",
        pr(own(co_authors=("A <alice@users.noreply.github.com>",))),
        set(),
        set(),
    ),
    (
        "pushed by bob",
        pr(own(), pushes=(Push("bob", "0" * 40, HEAD, "branch_creation"),)),
        {"pushed-by-other"},
        {"bob"},
    ),
    (
        "pusher unknown",
        pr(own(), pushes=(Push(None, "0" * 40, HEAD, "push"),)),
        {"pushed-by-other"},
        set(),
    ),
    (
        "bob's push of another commit does not matter",
        pr(own(), pushes=(Push("alice", "0" * 40, HEAD, "push"), Push("bob", HEAD, OTHER, "push"))),
        set(),
        set(),
    ),
    ("head push missing", pr(own(), pushes=()), {"push-unattributed"}, set()),
]


@pytest.mark.parametrize(
    ("facts", "codes", "others"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_contributions(facts: PullRequestFacts, codes: set[str], others: set[str]) -> None:
    judged = judge_contributions(facts)
    assert {f.code for f in judged.findings} == codes
    assert judged.contributors - {"alice"} == others


@pytest.mark.parametrize(
    ("trailer", "login"),
    [
        ("Bob <bob@users.noreply.github.com>", "bob"),
        ("Bob <12345+Bob-X@users.noreply.github.com>", "bob-x"),
        ("Bob <bob@example.com>", None),
        ("no email at all", None),
    ],
)
def test_co_author_login(trailer: str, login: str | None) -> None:
    assert co_author_login(trailer) == login
