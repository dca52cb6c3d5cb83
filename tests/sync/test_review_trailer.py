"""The runner's list of break-glass grants awaiting review: how a run carries it through its
commits, what sync reads with it, and how audit verify re-derives it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import FirstParentCommit
from jitflow.adapters.git.writing import LedgerCommit
from jitflow.core.history import parse_trailers
from jitflow.usecases.sync.post_review import unreviewed_grants
from jitflow.usecases.sync.review_trailer import (
    AwaitingCheck,
    awaiting_line,
    parse_awaiting,
    stamp,
)
from jitflow.usecases.sync.state import read_state
from tests.gitrepo import GitRepo
from tests.sync.test_recent import RUNNER, filler, runner_commit

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _record(request_id: str, issued: datetime, break_glass: bool = True) -> str:
    stamp_ = issued.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"policy: ops\nrequester: alice\nduration: 30m\nreason: {request_id}\n"
        f"grant:\n  kind: vault-token\n  issued_at: {stamp_}\n  merged_at: {stamp_}\n"
        f"  pr: 7\n  policy_commit: {'c' * 40}\n  break_glass: {str(break_glass).lower()}\n"
    )


def _commit(event: str, request_id: str, files: dict[str, bytes | None]) -> LedgerCommit:
    message = f"jitflow: {event} {request_id}\n\nJitflow-Event: {event}\n"
    return LedgerCommit(message + f"Jitflow-Request: {request_id}\n", files, NOW)


def _listed(commit: LedgerCommit) -> frozenset[str] | None:
    return parse_awaiting(parse_trailers(commit.message).get("jitflow-awaiting-review", ""))


def test_a_run_carries_the_list_through_its_commits() -> None:
    assert awaiting_line([]) == "Jitflow-Awaiting-Review: none"
    assert parse_awaiting("none") == frozenset() and parse_awaiting("") is None
    run = [
        _commit("expire", "old", {"requests/archive/2026/11/old.yaml": b"x\n"}),
        _commit("issue", "bg", {"requests/active/bg.yaml": _record("bg", NOW).encode()}),
        _commit("issue", "plain", {"requests/active/plain.yaml": b"break_glass: false\n"}),
        _commit("post-review", "earlier", {}),
    ]
    stamped = stamp(run, ["earlier"])
    assert [_listed(c) for c in stamped] == [
        {"earlier"},
        {"earlier", "bg"},
        {"earlier", "bg"},
        {"bg"},
    ]
    assert stamp(run[:2], ["earlier"]) == stamped[:2]  # the writer's early start stays valid


def test_sync_reads_only_the_archive_records_the_list_names(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    issued = NOW - timedelta(days=2)
    tip = repo.commit(
        {
            f"requests/archive/2026/11/{name}.yaml": _record(name, issued)
            for name in ("named", "unnamed")
        },
        branch="main",
    )
    state = read_state(repo.git, tip)
    assert state.awaiting_review is None  # no runner commit: the archive's recent months
    assert [g.id for g in unreviewed_grants(repo.git, state, NOW)] == ["named", "unnamed"]
    listed = dataclasses.replace(state, awaiting_review=frozenset({"named", "missing"}))
    assert [g.id for g in unreviewed_grants(repo.git, listed, NOW)] == ["named"]
    nothing = dataclasses.replace(state, awaiting_review=frozenset())
    assert unreviewed_grants(repo.git, nothing, NOW) == []


def _seen(sha: str, at: datetime, listed: str) -> FirstParentCommit:
    return FirstParentCommit(sha, "runner@x", at, "none", (), listed)


def test_verify_flags_a_list_that_leaves_out_a_grant_awaiting_review() -> None:
    check = AwaitingCheck(timedelta(days=30))
    check.grant("bg", "i" * 40, NOW, [])
    check.grant("reviewed", "i" * 40, NOW, [NOW + timedelta(hours=1)])
    check.grant("old", "o" * 40, NOW - timedelta(days=40), [])
    assert list(check.see(_seen("o" * 40, NOW - timedelta(days=40), "old"), True)) == []
    issue = _seen("i" * 40, NOW, "bg, reviewed, old")
    assert list(check.see(issue, True)) == []
    honest = _seen("h" * 40, NOW + timedelta(hours=2), "bg")  # reviewed and old may go
    assert list(check.see(honest, True)) == []
    lying = _seen("l" * 40, NOW + timedelta(hours=3), "none")
    assert [(lie.commit, lie.request_id) for lie in check.see(lying, True)] == [("l" * 40, "bg")]
    assert list(check.see(lying, False)) == []  # only runner commits carry a list
    later = _seen("m" * 40, NOW + timedelta(days=31), "none")  # out of sync's look-back
    assert list(check.see(later, True)) == []


def test_a_review_recorded_before_a_shallow_checkout_stays_recorded(tmp_path: Path) -> None:
    """The workflow's checkout is shallow: the search of recent messages for post-review
    commits sees only what was fetched, the list of the newest runner commit says it all."""
    repo = GitRepo.create(tmp_path / "repo")
    issued = repo.commit({"requests/active/bg.yaml": _record("bg", NOW)}, branch="main")
    message = "jitflow: post-review bg\n\nJitflow-Event: post-review\nJitflow-Request: bg\n"
    tree = repo.git.run("rev-parse", f"{issued}^{{tree}}")
    reviewed = repo.git.run("commit-tree", tree, "-p", issued, input=message.encode(), env=RUNNER)
    tip = runner_commit(
        repo, filler(repo, reviewed, 70), {}, "Jitflow-Unsettled: none\n" + awaiting_line([])
    )
    clone = Git(tmp_path / "clone")
    Git(tmp_path).run("clone", "-q", "--depth=1", repo.path.as_uri(), str(clone.path))
    state = read_state(clone, tip)
    assert state.awaiting_review == frozenset()
    assert unreviewed_grants(clone, state, NOW) == []
