"""`jitflow sync`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, complete_grant, format_option, now_or, repo_option
from jitflow.errors import ExitCode

_REPO = repo_option()


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
def sync(  # noqa: PLR0913 (Click passes one parameter per option)
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
    from jitflow.usecases.sync import SyncOptions
    from jitflow.usecases.sync.with_delivery import run_sync_with_delivery

    environ = wiring.environment()
    options = SyncOptions(repo, now_or(now), dry_run, no_issue, revoke_ids, remote, branch)
    vault = wiring.vault(environ)
    with wiring.github(environ) as github:
        run = run_sync_with_delivery(options, vault, github, environ)
    report = run.report
    if output_format == "json":
        click.echo(render_sync_json(report, dry_run, run.deliveries), nl=False)
    else:
        click.echo(render_sync_text(report, dry_run, run.deliveries or ()), nl=False)
        click.echo(render_sync_problems(report), nl=False, err=True)
    raise SystemExit(int(ExitCode.OK if report.ok else ExitCode.UNEXPECTED))
