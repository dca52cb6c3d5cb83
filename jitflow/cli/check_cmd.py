"""`jitflow check`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from jitflow.cli import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, format_option, now_or, repo_option
from jitflow.cli.style import paint
from jitflow.errors import ExitCode, UsageError


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--base",
    metavar="REF",
    help="The PR's target commit, e.g. origin/main. Policies are read here.",
)
@click.option(
    "--head", metavar="REF", default="HEAD", show_default=True, help="The PR's head commit."
)
@click.option(
    "--author",
    metavar="LOGIN",
    help="The PR author's GitHub login. Default: the head commit's author.",
)
@click.option(
    "--now", type=IsoTime(), help="Evaluate as of this UTC time (ISO 8601). Default: now."
)
@format_option(
    "text",
    "json",
    "github",
    "markdown",
    help="text for people, json for tools, github for workflow annotations (and the step summary).",
)
@click.option(
    "--event",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A GitHub event payload (GITHUB_EVENT_PATH): evaluate the PR live, set statuses, comment.",
)
@repo_option()
def check(
    base: str | None,
    head: str,
    author: str | None,
    now: datetime | None,
    output_format: str,
    event: Path | None,
    repo: Path,
) -> None:
    """Check a request branch against the policies at its base.

    Reads only git: the change set of HEAD against its merge base with BASE, the request
    files at HEAD, and the policies and groups at BASE (never at HEAD). A request PR may only
    add new files directly under requests/.
    """
    if event is not None:
        from jitflow.usecases.gate import GateOptions, run_gate

        result = run_gate(
            GateOptions(repo=repo, event_path=event, now=now_or(now), output_format=output_format)
        )
        click.echo(result.output, nl=False)
        raise SystemExit(int(result.exit_code))
    if base is None:
        raise UsageError(
            "check needs --base REF (e.g. --base origin/main), or --event PATH in GitHub Actions"
        )
    from jitflow.reporters.check import RENDERERS
    from jitflow.usecases.check import CheckOptions, run_check

    report = run_check(
        CheckOptions(repo=repo, base=base, head=head, now=now_or(now), author=author)
    )
    rendered = RENDERERS[output_format](report)
    click.echo(paint(rendered, sys.stdout) if output_format == "text" else rendered, nl=False)
    raise SystemExit(int(ExitCode.OK if report.decision.allowed else ExitCode.DENIED))
