"""The ledger anchor in Vault's KV: each sync run records the tip it pushed, with Vault's own
time of the write; a run's older tip never replaces a later run's (a run that only revokes runs
alongside the others, in a concurrency group of its own)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.vault import VaultGateway
from jitflow.usecases.sync.run_memory import SyncReport
from jitflow.usecases.sync.signing import record_anchor

_paths = itertools.count(1)


def _commit(git: Git, message: str) -> str:
    git.run("commit", "-q", "--allow-empty", "-m", message)
    return git.run("rev-parse", "HEAD")


def test_an_older_tip_is_never_anchored_over_a_later_runs(
    gateway: VaultGateway, tmp_path: Path
) -> None:
    git = Git(tmp_path)
    git.run("init", "-q", "-b", "main")
    git.run("config", "user.name", "jitflow-sync")
    git.run("config", "user.email", "sync@example.com")
    older, later = _commit(git, "the revoking run's"), _commit(git, "the other run's")
    environ = {"JITFLOW_LEDGER_ANCHOR_PATH": f"jitflow-kv/data/ledger-anchor-t{next(_paths)}"}
    report = SyncReport()
    record_anchor(gateway, environ, later, report, git)
    record_anchor(gateway, environ, older, report, git)  # its write comes last
    anchor = gateway.ledger(environ).read_anchor()
    assert anchor is not None and anchor.tip == later
    assert anchor.written_at is not None  # Vault's clock, which verify shows
    assert abs(anchor.written_at - datetime.now(UTC)) < timedelta(minutes=5)
    newest = _commit(git, "the next run's")
    record_anchor(gateway, environ, newest, report, git)
    assert _anchored(gateway, environ) == newest
    git.run("reset", "-q", "--hard", older)
    rewritten = _commit(git, "main rewritten")  # not below the anchor: written all the same
    record_anchor(gateway, environ, rewritten, report, git)
    assert _anchored(gateway, environ) == rewritten
    assert report.warnings == []


def _anchored(gateway: VaultGateway, environ: dict[str, str]) -> str | None:
    anchor = gateway.ledger(environ).read_anchor()
    return anchor.tip if anchor else None
