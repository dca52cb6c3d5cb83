"""`jitflow check`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, format_option, now_or, repo_option
from jitflow.cli.style import paint

if TYPE_CHECKING:
    from jitflow.core.check_report import CheckReport


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
def check(  # noqa: PLR0913 (Click passes one parameter per option)
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
    from jitflow.reporters.check import render_reports
    from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
    from jitflow.usecases.check_command import CheckCommand, run_check_command

    command = CheckCommand(
        repo, now_or(now), event, base, head, author, feedback=PULL_REQUEST_FEEDBACK
    )
    result = run_check_command(command)
    _append_step_summary(result.reports, output_format)
    rendered = result.note + render_reports(result.reports, output_format)
    if event is None and output_format == "text":  # the live gate's log stays plain
        rendered = paint(rendered, sys.stdout)
    click.echo(rendered, nl=False)
    raise SystemExit(int(result.exit_code))


def _append_step_summary(reports: Sequence[CheckReport], output_format: str) -> None:
    """With `--format github` in Actions: each report's Markdown summary appended to the
    job's step summary file ($GITHUB_STEP_SUMMARY)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if output_format != "github" or not path or not reports:
        return
    from jitflow.reporters.check import render_markdown

    with open(path, "a", encoding="utf-8") as summary:
        summary.write("".join(render_markdown(report) for report in reports))
