"""`jitflow check`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, format_option, now_or, repo_option
from jitflow.cli.style import paint
from jitflow.errors import ExitCode, UsageError

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
    args = CheckArgs(repo, now_or(now), output_format, event, base, head, author)
    raise SystemExit(int(_gate(args) if args.event is not None else _check(args)))


@dataclass(frozen=True)
class CheckArgs:
    """`jitflow check`'s options as parsed: live (`event`) or offline (`base`..`head`)."""

    repo: Path
    now: datetime
    output_format: str
    event: Path | None = None
    base: str | None = None
    head: str = "HEAD"
    author: str | None = None

    def __post_init__(self) -> None:
        if self.event is None and self.base is None:
            raise UsageError(
                "check needs --base REF (e.g. --base origin/main), or --event PATH in GitHub Actions"
            )


def _gate(args: CheckArgs) -> ExitCode:
    from jitflow.reporters.check import render_reports
    from jitflow.reporters.pr_comment import PULL_REQUEST_FEEDBACK
    from jitflow.usecases.gate import GateOptions, run_gate

    assert args.event is not None
    options = GateOptions(args.repo, args.event, args.now, feedback=PULL_REQUEST_FEEDBACK)
    result = run_gate(options)
    _append_step_summary(result.reports, args.output_format)
    click.echo(result.note + render_reports(result.reports, args.output_format), nl=False)
    return result.exit_code


def _check(args: CheckArgs) -> ExitCode:
    from jitflow.reporters.check import render_reports
    from jitflow.usecases.check import CheckOptions, run_check

    assert args.base is not None
    options = CheckOptions(args.repo, args.base, args.head, args.now, args.author)
    report = run_check(options)
    _append_step_summary((report,), args.output_format)
    rendered = render_reports((report,), args.output_format)
    click.echo(paint(rendered, sys.stdout) if args.output_format == "text" else rendered, nl=False)
    return ExitCode.OK if report.decision.allowed else ExitCode.DENIED


def _append_step_summary(reports: Sequence[CheckReport], output_format: str) -> None:
    """With `--format github` in Actions: each report's Markdown summary appended to the
    job's step summary file ($GITHUB_STEP_SUMMARY)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if output_format != "github" or not path or not reports:
        return
    from jitflow.reporters.check import render_markdown

    with open(path, "a", encoding="utf-8") as summary:
        summary.write("".join(render_markdown(report) for report in reports))
