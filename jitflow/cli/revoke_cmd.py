"""`jitflow revoke`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import complete_grant, remote_option, repo_option

_REPO = repo_option()


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("request_id", metavar="ID", shell_complete=complete_grant)
@click.option("--reason", required=True, help="Why the grant ends early.")
@click.option("--open", "open_pr", is_flag=True, help="Push the branch and open the PR.")
@click.option("--as", "login", metavar="LOGIN", help="Your GitHub login.")
@click.option(
    "--base",
    metavar="REF",
    default="origin/main",
    show_default=True,
    help="Branch the revocation from this commit.",
)
@remote_option
@_REPO
def revoke(  # noqa: PLR0913 (Click passes one parameter per option)
    request_id: str,
    reason: str,
    open_pr: bool,
    login: str | None,
    base: str,
    remote: str,
    repo: Path,
) -> None:
    """Create a branch deleting requests/active/ID.yaml: merging it revokes the grant."""
    from jitflow.usecases.revocation_branch import RevokeOptions, revoke_through_pr

    options = RevokeOptions(repo, request_id, reason, login, base, open_pr, remote)
    opener = wiring.github(wiring.environment()) if open_pr else None  # checked first
    with opener if opener is not None else contextlib.nullcontext():
        revocation = revoke_through_pr(options, opener)
    made = revocation.branch
    click.echo(f"created branch {made.branch} ({made.commit[:12]})")
    if revocation.pull_number is not None:
        click.echo(f"opened PR #{revocation.pull_number}")
