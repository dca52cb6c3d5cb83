"""Clocks that bound a ledger commit's date where main's own order can't: on a quiet main
(nobody pushed after a leaked runner certificate expired) a forgery dated into the certificate's
validity sits on top of commits as old as it. Vault's anchor (`--vault`: the runner anchors every
tip it pushes) and GitHub's record of pushes (`--github`: repository activity, GitHub's clock)
still tell it apart."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

from jitflow.core.model import Push
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.audit.history_builder import T0, Handle, HistoryBuilder
from tests.audit.test_verify_dates import LATER, expired_kit, forge
from tests.audit.test_verify_forged_claims import FakeGitHub, FakeLedger, FakeVault, pull


@dataclass
class PushingGitHub(FakeGitHub):
    pushes: list[Push] = field(default_factory=list)  # main's, newest first

    def branch_pushes(self, branch: str) -> list[Push]:
        assert branch == "main"
        return self.pushes


def honest_pushes(builder: HistoryBuilder) -> list[Push]:
    """Each commit on main pushed on its own a minute after its date, newest first."""
    log = builder.git.run("log", "--first-parent", "--format=%H %P %ct", "main").splitlines()
    pushes = []
    for line in log:
        sha, *parents, stamp = line.split()
        at = T0.fromtimestamp(int(stamp), T0.tzinfo) + timedelta(minutes=1)
        pushes.append(Push("jitflow-sync", parents[0] if parents else "0" * 40, sha, "push", at))
    return pushes


@pytest.fixture
def quiet(tmp_path: Path) -> tuple[HistoryBuilder, Handle]:
    builder = HistoryBuilder(tmp_path / "quiet")
    handle = builder.lifecycle("alice", "bob", T0)  # the runner's last push; then nobody pushed
    return builder, handle


def test_a_forgery_on_a_quiet_main_is_above_vaults_anchor(
    quiet: tuple[HistoryBuilder, Handle], tmp_path: Path
) -> None:
    builder, _ = quiet
    anchored = builder.head()
    vault = FakeVault([], FakeLedger(builder.kit.ca_public, anchored))
    sha = forge(builder, expired_kit(builder, tmp_path), T0 + timedelta(minutes=50))
    options = VerifyOptions(repo=builder.root, now=LATER, vault=True)
    report = run_verify(options, vault)
    assert [(v.code, v.commit) for v in report.violations] == [("ledger-commit-unanchored", sha)]
    assert anchored[:12] in report.violations[0].message
    # a run between its push and its anchor write (dated within the bound) is no finding
    assert run_verify(replace(options, now=T0 + timedelta(minutes=60)), vault).ok
    # nor once a later run anchored a tip above it
    assert run_verify(options, replace(vault, ledger_port=FakeLedger(vault.ledger_port.ca, sha))).ok


def test_a_forgery_on_a_quiet_main_is_dated_before_githubs_push(
    quiet: tuple[HistoryBuilder, Handle], tmp_path: Path
) -> None:
    builder, handle = quiet
    options = VerifyOptions(repo=builder.root, now=LATER, github=True)
    github = PushingGitHub({handle.pr: pull(handle)}, honest_pushes(builder))
    assert run_verify(options, github=github).ok
    tip = builder.head()
    sha = forge(builder, expired_kit(builder, tmp_path), T0 + timedelta(minutes=50))
    github.pushes.insert(0, Push("mallory", tip, sha, "push", LATER - timedelta(hours=1)))
    report = run_verify(options, github=github)
    assert [(v.code, v.commit) for v in report.violations] == [("ledger-commit-backdated", sha)]
    message = report.violations[0].message
    assert "GitHub's record of the push" in message and "mallory" in message
    assert "2026-11-03T08:00:00Z" in message


def test_a_late_push_bounds_only_the_commits_it_brought(
    quiet: tuple[HistoryBuilder, Handle],
) -> None:
    builder, handle = quiet
    builder.commit("admin", "Update the README", LATER, allow_empty=True)
    github = PushingGitHub({handle.pr: pull(handle)}, honest_pushes(builder))
    options = VerifyOptions(repo=builder.root, now=LATER, github=True)
    assert run_verify(options, github=github).ok  # the runner's end commit is below its before
    first, *rest = github.pushes
    github.pushes = [replace(first, before="0" * 40, kind="force_push"), *rest]
    assert run_verify(options, github=github).ok  # a force push brings its tip alone
    github.pushes = [replace(first, before=rest[0].before), *rest[1:]]  # with the end commit
    report = run_verify(options, github=github)
    assert [(v.code, v.commit) for v in report.violations] == [
        ("ledger-commit-backdated", rest[0].after)
    ]
