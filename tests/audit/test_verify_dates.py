"""A ledger commit's date must fit its place in main's history: its signature is checked at
that date, so a leaked runner key with an expired certificate could otherwise sign forged
commits dated back into the certificate's validity and append them on top of today's main."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.usecases.audit.dates import SHIPPED_RUN_BOUND, run_bound
from tests.audit.history_builder import (
    RUNNER_EMAIL,
    RUNNER_NAME,
    T0,
    HistoryBuilder,
    SigningKit,
)

LATER = T0 + timedelta(days=1)  # main has moved on a day past the leaked certificate


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    builder = HistoryBuilder(tmp_path / "ledger")
    builder.lifecycle("alice", "bob", T0)
    builder.commit("admin", "Update the README", LATER, allow_empty=True)
    return builder


def expired_kit(builder: HistoryBuilder, tmp_path: Path) -> SigningKit:
    """A runner key the ledger CA certified for one hour around T0 (long expired): leaked."""
    key = tmp_path / "leaked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    window = f"{T0 - timedelta(hours=1):%Y%m%d%H%M%S}:{T0 + timedelta(hours=1):%Y%m%d%H%M%S}"
    ca = builder.kit.certificate.parent / "ca"
    subprocess.run(
        [
            *("ssh-keygen", "-q", "-s", str(ca), "-I", "leaked", "-n", "jitflow-ledger"),
            *("-V", window, f"{key}.pub"),
        ],
        check=True,
    )
    return SigningKit(builder.kit.ca_public, Path(f"{key}-cert.pub"))


def forge(builder: HistoryBuilder, kit: SigningKit, at: datetime) -> str:
    """A runner commit (it claims the runner's identity: a ledger commit) signed by `kit`."""
    message = "jitflow: revoke x\n\nJitflow-Event: revoke\nJitflow-Request: alice-x"
    return builder.commit(
        RUNNER_NAME, message, at, email=RUNNER_EMAIL, allow_empty=True, signer=kit
    )


def verify(builder: HistoryBuilder, now: datetime) -> tuple[int, str]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--repo", str(builder.root), "--now", stamp]
    )
    return result.exit_code, result.output


def test_an_expired_certificate_signing_today_is_refused(
    builder: HistoryBuilder, tmp_path: Path
) -> None:
    sha = forge(builder, expired_kit(builder, tmp_path), LATER + timedelta(minutes=1))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 1
    assert f"ledger-unsigned: alice-x at {sha[:12]}" in output


def test_a_commit_backdated_into_the_certificate_is_refused(
    builder: HistoryBuilder, tmp_path: Path
) -> None:
    parent = builder.git.run("rev-parse", "HEAD")
    sha = forge(builder, expired_kit(builder, tmp_path), T0 + timedelta(minutes=30))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 1, output
    assert f"ledger-commit-backdated: alice-x at {sha[:12]}" in output
    assert "2026-11-02T09:30:00Z" in output and "2026-11-03T09:00:00Z" in output
    assert parent[:12] in output


def test_an_old_dated_commit_in_between_does_not_launder_the_date(
    builder: HistoryBuilder, tmp_path: Path
) -> None:
    recent = builder.git.run("rev-parse", "HEAD")
    builder.commit("mallory", "Typo", T0 + timedelta(minutes=29), allow_empty=True)
    sha = forge(builder, expired_kit(builder, tmp_path), T0 + timedelta(minutes=30))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 1, output
    assert f"ledger-commit-backdated: alice-x at {sha[:12]}" in output
    assert recent[:12] in output


def test_a_run_that_retried_on_a_newer_main_is_not_backdated(builder: HistoryBuilder) -> None:
    # sync dates its commits at the run's start; a push retried on top of a merge made
    # during the run lands below that merge's date (the shipped job stops after 15 minutes)
    forge(builder, builder.kit, LATER - timedelta(minutes=14))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 0, output


def test_the_slack_follows_the_sync_jobs_timeout(builder: HistoryBuilder, tmp_path: Path) -> None:
    builder.write(".github/workflows/sync.yml", "jobs:\n  sync:\n    timeout-minutes: 60\n")
    builder.commit("admin", "Sync may run for an hour", LATER + timedelta(minutes=1))
    # a run that started 50 minutes before the merge below it, re-applied after the wait
    forge(builder, builder.kit, LATER - timedelta(minutes=50))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 0, output
    sha = forge(builder, expired_kit(builder, tmp_path), T0 + timedelta(minutes=30))
    code, output = verify(builder, LATER + timedelta(minutes=5))
    assert code == 1, output
    assert output.count("ledger-commit-backdated") == 1
    assert f"ledger-commit-backdated: alice-x at {sha[:12]}" in output
    assert "more than 1:05:00 before" in output


def test_the_run_bound_is_read_from_the_sync_workflow() -> None:
    root = Path(__file__).resolve().parents[2]
    shipped = [root / ".github/workflows/sync.yml", root / "jitflow/templates/workflows/sync.yml"]
    assert [run_bound(p.read_bytes()) for p in shipped] == [timedelta(minutes=15)] * 2
    assert run_bound(None) == SHIPPED_RUN_BOUND  # no workflow here: the shipped one's
    untimed = b"jobs:\n  a: {timeout-minutes: 30}\n  b: {runs-on: x}\n"
    assert run_bound(untimed) == timedelta(minutes=360)  # GitHub's default for b
    assert run_bound(b"jobs:\n  a: {timeout-minutes: '${{ vars.T }}'}\n") == timedelta(hours=6)


def test_a_commit_dated_ahead_of_the_verifiers_clock_is_refused(builder: HistoryBuilder) -> None:
    forge(builder, builder.kit, LATER + timedelta(minutes=4))  # within the clocks' skew
    assert verify(builder, LATER)[0] == 0
    sha = forge(builder, builder.kit, LATER + timedelta(hours=1))
    code, output = verify(builder, LATER)
    assert code == 1, output
    assert output.count("ledger-commit-") == 1
    assert f"ledger-commit-future-dated: alice-x at {sha[:12]}" in output
    assert "2026-11-03T10:00:00Z" in output
