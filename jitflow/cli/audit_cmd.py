"""`jitflow audit`: the group, its shared options and the report (one row per request).

Its subcommands live in audit_verify_cmd, audit_review_cmd and audit_sample_cmd."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import IsoTime, complete_policy, format_option, repo_option

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
def audit(  # noqa: PLR0913 (Click passes one parameter per option)
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
