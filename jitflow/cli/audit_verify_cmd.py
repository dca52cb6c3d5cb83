"""`jitflow audit verify`: prove the ledger's invariants from history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from jitflow.cli.audit_cmd import REF_OPTION, REPO_OPTION, RUNNER_OPTION, audit
from jitflow.cli.group import EXIT_CODES_HELP
from jitflow.cli.options import (
    IsoTime,
    duration_value,
    format_option,
)
from jitflow.errors import ExitCode


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
def audit_verify(  # noqa: PLR0913 (Click passes one parameter per option)
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
    from jitflow.reporters.audit_verify import render_verify_json, render_verify_text
    from jitflow.usecases.audit.verify import VerifyOptions, run_verify

    report = run_verify(
        VerifyOptions(
            repo=repo,
            ref=ref,
            now=now,
            tolerance=duration_value(tolerance, "--tolerance"),
            vault=vault,
            runner_email=runner_email,
            allowed_signers=allowed_signers,
            github=check_github,
        )
    )
    if output_format == "json":
        click.echo(render_verify_json(report))
    else:
        click.echo(render_verify_text(report))
    raise SystemExit(int(ExitCode.OK if report.ok else ExitCode.DENIED))
