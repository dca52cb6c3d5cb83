"""`jitflow sync`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, complete_grant, format_option, now_or, repo_option
from jitflow.errors import ExitCode

if TYPE_CHECKING:
    from jitflow.usecases.outbound.deliver import OutboundStore, OutboundSummary
    from jitflow.usecases.sync import SyncOptions

_REPO = repo_option()


class _OutboundSource(Protocol):
    """Where outbound delivery keeps its marks and secrets (the Vault gateway)."""

    def outbound(self, environ: Mapping[str, str]) -> OutboundStore: ...


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--now", type=IsoTime(), help="Act as of this UTC time (ISO 8601). Default: now.")
@click.option("--dry-run", is_flag=True, help="Print the plan; touch nothing.")
@click.option("--no-issue", is_flag=True, help="Only end grants (expire, revoke); issue nothing.")
@click.option(
    "--revoke",
    "revoke_ids",
    multiple=True,
    metavar="ID",
    shell_complete=complete_grant,
    help="Revoke now (incident).",
)
@click.option(
    "--remote",
    metavar="NAME",
    default="origin",
    show_default=True,
    help="The git remote to fetch from and push the ledger to.",
)
@click.option(
    "--branch", metavar="BRANCH", default="main", show_default=True, help="The protected branch."
)
@format_option("text", "json", help="json: planned or done transitions, warnings and errors.")
@_REPO
def sync(
    now: datetime | None,
    dry_run: bool,
    no_issue: bool,
    revoke_ids: tuple[str, ...],
    remote: str,
    branch: str,
    output_format: str,
    repo: Path,
) -> None:
    """Issue, expire and revoke grants, recording each transition as a commit on main.

    Needs VAULT_ADDR (+ VAULT_TOKEN or GitHub OIDC), GITHUB_TOKEN and GITHUB_REPOSITORY.
    """
    from jitflow.reporters.sync import render_sync_json, render_sync_problems, render_sync_text
    from jitflow.usecases.sync import SyncOptions, run_sync

    environ = wiring.environment()
    options = SyncOptions(repo, now_or(now), dry_run, no_issue, revoke_ids, remote, branch)
    vault = wiring.vault(environ)
    with wiring.github(environ) as github:
        report = run_sync(options, vault, github, environ)
    outbound = None if dry_run else _outbound(options, vault, environ)
    if outbound is not None:
        report.warnings.extend(outbound.warnings)
    deliveries = outbound.results if outbound is not None else None
    if output_format == "json":
        click.echo(render_sync_json(report, dry_run, deliveries), nl=False)
    else:
        click.echo(render_sync_text(report, dry_run, deliveries or ()), nl=False)
        click.echo(render_sync_problems(report), nl=False, err=True)
    raise SystemExit(int(ExitCode.OK if report.ok else ExitCode.UNEXPECTED))


def _outbound(
    options: SyncOptions, vault: _OutboundSource, environ: dict[str, str]
) -> OutboundSummary:
    """After the run: the ledger's new events to `.jitflow/outbound.yaml`'s endpoints."""
    from jitflow.usecases.outbound.deliver import after_sync

    git = wiring.pushing_git(options.repo, environ)
    return after_sync(git, options.remote, options.branch, vault.outbound(environ), environ)
