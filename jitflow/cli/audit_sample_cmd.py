"""`jitflow audit sample`: a reproducible random sample of events, with evidence."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from jitflow.cli.audit_cmd import REF_OPTION, REPO_OPTION, RUNNER_OPTION, audit
from jitflow.cli.group import EXIT_CODES_HELP
from jitflow.cli.options import (
    IsoTime,
)


@audit.command("sample", epilog=EXIT_CODES_HELP)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    default=25,
    show_default=True,
    help="How many events to sample.",
)
@click.option(
    "--seed", type=int, metavar="N", help="Repeat a sample: same seed, same history, same pick."
)
@click.option(
    "--kind",
    type=click.Choice(["issue", "end"]),
    help="Only provisioning (issue) or termination (end) events. Default: both.",
)
@click.option("--since", type=IsoTime(), help="Only events at or after this time.")
@click.option("--until", type=IsoTime(), help="Only events at or before this time.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (a .pdf name prints through Chromium). Default: HTML on stdout.",
)
@click.option("--now", type=IsoTime(), help="Treat this as the current time.")
@REF_OPTION
@RUNNER_OPTION
@REPO_OPTION
def audit_sample(  # noqa: PLR0913 (Click passes one parameter per option)
    count: int,
    seed: int | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    output: Path | None,
    now: datetime | None,
    ref: str,
    runner_email: str | None,
    repo: Path,
) -> None:
    """A reproducible random sample of issue and end events, each with its evidence."""
    from jitflow.core.sampling import SampleKind
    from jitflow.usecases.audit.sample import ALL_KINDS, SampleOptions, run_sample

    result = run_sample(
        SampleOptions(
            repo=repo,
            ref=ref,
            count=count,
            seed=seed,
            kinds=(SampleKind(kind),) if kind else ALL_KINDS,
            since=since,
            until=until,
            now=now,
            runner_email=runner_email,
            output=output,
        )
    )
    kinds = kind or "issue and end"
    click.echo(
        f"sampled {result.sampled} of {result.population} {kinds} event(s) with seed {result.seed}",
        err=True,
    )
