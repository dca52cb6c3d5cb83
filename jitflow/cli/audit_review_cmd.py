"""`jitflow audit review`: a Markdown access review per policy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from jitflow.cli.audit_cmd import REF_OPTION, REPO_OPTION, RUNNER_OPTION, audit
from jitflow.cli.options import (
    IsoTime,
    duration_value,
)


@audit.command("review")
@click.option(
    "--period",
    metavar="DURATION",
    default="90d",
    show_default=True,
    help="How far back the review looks.",
)
@click.option("--now", type=IsoTime(), help="End of the period. Default: now.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write <policy>.md files into DIR.",
)
@REF_OPTION
@RUNNER_OPTION
@REPO_OPTION
def audit_review(  # noqa: PLR0913 (Click passes one parameter per option)
    period: str,
    now: datetime | None,
    output: Path | None,
    ref: str,
    runner_email: str | None,
    repo: Path,
) -> None:
    """A markdown access review per policy: who used it, how often, total hours, denials."""
    from jitflow.usecases.audit.review import ReviewOptions, run_review

    written = run_review(
        ReviewOptions(
            repo=repo,
            ref=ref,
            period=duration_value(period, "--period"),
            now=now,
            output=output,
            runner_email=runner_email,
        )
    )
    if output is not None:
        click.echo(f"wrote {len(written)} review(s) to {output}", err=True)
