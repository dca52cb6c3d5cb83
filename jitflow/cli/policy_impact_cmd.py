"""`jitflow policy impact`: what a policy change would change."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP
from jitflow.cli.options import IsoTime, format_option, now_or
from jitflow.cli.policy_cmd import REPO_OPTION, policy


@policy.command("impact", epilog=EXIT_CODES_HELP)
@click.option("--base", required=True, metavar="REF", help="Policies before the change.")
@click.option(
    "--head", default="HEAD", show_default=True, metavar="REF", help="Policies after the change."
)
@click.option("--now", type=IsoTime(), help="Evaluate undated requests as of this time.")
@format_option("text", "markdown", "json", help="markdown: as the PR comment shows it.")
@click.option(
    "--comment",
    "pr_number",
    type=int,
    metavar="PR",
    help="Also post the report as a comment on this PR.",
)
@REPO_OPTION
def policy_impact(  # noqa: PLR0913 (Click passes one parameter per option)
    base: str,
    head: str,
    now: datetime | None,
    output_format: str,
    pr_number: int | None,
    repo: Path,
) -> None:
    """Replay every request in history against the policies at BASE and at HEAD.

    Lists requests whose verdict or required approvals would change, and active grants the
    new policies would not allow.
    """
    from jitflow.reporters.policy_impact import render_impact, render_impact_json
    from jitflow.usecases.policy_impact import ImpactComment, ImpactOptions, run_impact

    options = ImpactOptions(repo=repo, base=base, head=head, now=now_or(now))
    if pr_number is None:
        report = run_impact(options)
    else:
        with wiring.github(wiring.environment()) as github:
            markdown = functools.partial(render_impact, output_format="markdown")
            report = run_impact(options, ImpactComment(pr_number, github, markdown))
    if output_format == "json":
        click.echo(render_impact_json(report))
    else:
        click.echo(render_impact(report, output_format), nl=False)
