"""`jitflow audit`, `jitflow audit verify`, `jitflow audit review`: evidence from git history."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import click

from jitflow.cli import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, complete_policy, format_option, json_text, repo_option
from jitflow.errors import ExitCode, UsageError

REPO_OPTION = repo_option()
REF_OPTION = click.option(
    "--ref",
    metavar="REF",
    default="HEAD",
    show_default=True,
    help="Read history up to this commit.",
)
RUNNER_OPTION = click.option(
    "--runner-email",
    metavar="EMAIL",
    help="The runner identity. Default: JITFLOW_RUNNER_EMAIL or jitflow-sync's.",
)


def _duration(value: str, flag: str) -> timedelta:
    from jitflow.core.durations import DurationError, parse_duration

    try:
        return parse_duration(value)
    except DurationError as exc:
        raise UsageError(f"{flag}: {exc}") from exc


@cli.group(invoke_without_command=True, epilog=EXIT_CODES_HELP)
@click.option(
    "--since", type=IsoTime(), help="Only grants active at or after this time (ISO 8601, UTC)."
)
@click.option("--until", type=IsoTime(), help="Only grants active before this time.")
@click.option("--requester", metavar="LOGIN", help="Only this requester's requests.")
@click.option(
    "--policy",
    "policy_name",
    metavar="NAME",
    shell_complete=complete_policy,
    help="Only requests under this policy.",
)
@click.option(
    "--resource", metavar="TEXT", help="Only grants whose kind, mount or role contains TEXT."
)
@format_option("table", "csv", "json", "markdown", "html", "ocsf")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the report to FILE.",
)
@click.option("--now", type=IsoTime(), help="Treat this as the current time (for open grants).")
@click.option(
    "--incremental",
    is_flag=True,
    help="Keep a row cache in the clone's .git/jitflow/ and read only the commits since the "
    "last run (safe to delete; audit verify never reads it).",
)
@REF_OPTION
@RUNNER_OPTION
@REPO_OPTION
@click.pass_context
def audit(
    ctx: click.Context,
    since: datetime | None,
    until: datetime | None,
    requester: str | None,
    policy_name: str | None,
    resource: str | None,
    output_format: str,
    output: Path | None,
    now: datetime | None,
    incremental: bool,
    ref: str,
    runner_email: str | None,
    repo: Path,
) -> None:
    """Who had what access, when, why, approved by whom: one row per request, from git alone.

    Subcommands prove the invariants (verify) and write access reviews (review).
    """
    if ctx.invoked_subcommand is not None:
        return
    from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit

    options = AuditOptions(
        repo=repo,
        ref=ref,
        since=since,
        until=until,
        requester=requester,
        policy=policy_name,
        resource=resource,
        format=ReportFormat(output_format),
        output=output,
        now=now,
        runner_email=runner_email,
        incremental=incremental,
    )
    rows = run_audit(options)
    if output is not None:
        click.echo(f"wrote {rows} row(s) to {output}", err=True)


@audit.command("verify", epilog=EXIT_CODES_HELP)
@click.option(
    "--vault", is_flag=True, help="Also compare live jitflow tokens in Vault with active grants."
)
@click.option(
    "--tolerance",
    metavar="DURATION",
    default="15m",
    show_default=True,
    help="How late past expires_at a grant may end.",
)
@click.option(
    "--github",
    "check_github",
    is_flag=True,
    help="Also check each grant's PR, merge, author and reviews against GitHub's record.",
)
@click.option(
    "--allowed-signers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Trust the runner CA in FILE instead of the repository's .jitflow/allowed_signers.",
)
@click.option("--now", type=IsoTime(), help="Treat this as the current time.")
@format_option("text", "json", help="json: {ok, head, requests_checked, violations}.")
@REF_OPTION
@RUNNER_OPTION
@REPO_OPTION
def audit_verify(
    vault: bool,
    check_github: bool,
    allowed_signers: Path | None,
    tolerance: str,
    now: datetime | None,
    output_format: str,
    ref: str,
    runner_email: str | None,
    repo: Path,
) -> None:
    """Prove from history that nothing was issued without approval and everything ended on time.

    Exits 1 with the evidence (code, request, commit) of every violation.
    """
    from jitflow.usecases.audit.verify import VerifyOptions, run_verify

    report = run_verify(
        VerifyOptions(
            repo=repo,
            ref=ref,
            now=now,
            tolerance=_duration(tolerance, "--tolerance"),
            vault=vault,
            runner_email=runner_email,
            allowed_signers=allowed_signers,
            github=check_github,
        )
    )
    if output_format == "json":
        click.echo(json_text({"ok": report.ok, **dataclasses.asdict(report)}))
    else:
        click.echo(report.describe())
    raise SystemExit(int(ExitCode.OK if report.ok else ExitCode.DENIED))


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
def audit_review(
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
            period=_duration(period, "--period"),
            now=now,
            output=output,
            runner_email=runner_email,
        )
    )
    if output is not None:
        click.echo(f"wrote {len(written)} review(s) to {output}", err=True)


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
def audit_sample(
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
