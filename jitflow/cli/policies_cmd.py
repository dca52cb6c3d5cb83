"""`jitflow policies`."""

from __future__ import annotations

from pathlib import Path

import click

from jitflow.cli.group import cli
from jitflow.cli.options import format_option, repo_option


@cli.command()
@click.option("--for", "login", metavar="LOGIN", help="Only policies this login may request.")
@click.option(
    "--ref", metavar="REF", default="HEAD", show_default=True, help="Read policies at this commit."
)
@format_option("text", "json")
@repo_option()
def policies(login: str | None, ref: str, output_format: str, repo: Path) -> None:
    """List policies: what each grants, for how long, who may ask and who approves.

    A policy or groups file that can't be loaded is reported on stderr with its file, line
    and column, and the exit code is 2.
    """
    from jitflow.reporters.policies import policy_problems, render_policies
    from jitflow.usecases.policies import PoliciesOptions, list_policies

    listing = list_policies(PoliciesOptions(repo=repo, ref=ref, login=login))
    click.echo(render_policies(listing, output_format), nl=False)
    for line in policy_problems(listing):
        click.echo(f"jitflow: {line}", err=True)
    raise SystemExit(int(listing.exit_code))
