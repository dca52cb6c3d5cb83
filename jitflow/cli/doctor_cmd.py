"""`jitflow doctor`: check a live setup and say how to fix each problem."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import format_option
from jitflow.cli.style import paint

DOCTOR_HELP = """Check a live setup (this clone, GitHub, Vault) and name each problem with its fix.

\b
repository (the clone at --repo):
  repository.codeowners       CODEOWNERS (.github/, root or docs/) owns policies/, .github/,
                              requests/active/ and requests/archive/
  repository.workflow.check   .github/workflows/check.yml is the pinned template, byte for
  repository.workflow.sync    byte (only an older jitflow pin: a warning); a diff otherwise
  repository.policies         every policy and groups.yaml loads cleanly
  repository.policy-rules     every named group is defined, every approval rule can be met,
                              break-glass is no longer than duration.max
github (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL; protection or rulesets of --branch):
  github.required-statuses    jitflow/policy and jitflow/approval are required
  github.required-reviews     at least 1 approving review is required
  github.code-owner-reviews   review from code owners is required
  github.admins-enforced      administrators are included; rulesets have no bypass actors
  github.protection-readable  the token can read them (administration: read)
vault (VAULT_ADDR and VAULT_TOKEN; skipped when unset):
  vault.reachable             the server answers and is unsealed
  vault.jwt-role              JITFLOW_VAULT_ROLE on JITFLOW_VAULT_JWT_MOUNT: role_type jwt,
                              bound audiences, user_claim, no batch tokens
  vault.jwt-claims            bound_claims pin repository, ref refs/heads/<branch>,
                              environment jitflow (and workflow_ref if set), without globs
  vault.token-role            JITFLOW_VAULT_TOKEN_ROLE: orphan, explicit max TTL, not batch
  vault.grant.<policy>        what each policy grants exists: database/ssh mount and role,
                              Vault policies (allowed by the token role), internal group
outbound (.jitflow/outbound.yaml; skipped when absent):
  outbound.config             the file loads (file:line:column of each problem)
  outbound.<endpoint>         https:// (or allowed loopback http://); every secret it names
                              is set ({env: NAME}) or in Vault KV ({vault: PATH, key: K})
  outbound.<endpoint>.mark    its high-water mark reads from Vault and is a commit of main
  outbound.<endpoint>.reachable  (--probe) the server answers a HEAD of its root over TLS,
                              through HTTPS_PROXY if set; no body, no credentials

Exit 0 when nothing failed (warnings and skips allowed), 1 when a check failed.
Tokens are never printed.
"""


@cli.command(help=DOCTOR_HELP, epilog=EXIT_CODES_HELP)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    default=Path("."),
    show_default=True,
    help="The access repository's clone.",
)
@click.option(
    "--branch", metavar="BRANCH", default="main", show_default=True, help="The protected branch."
)
@format_option("text", "json")
@click.option(
    "--skip",
    "skipped",
    type=click.Choice(["github", "vault", "outbound"]),
    multiple=True,
    help="Leave out a section (repeatable).",
)
@click.option(
    "--probe",
    is_flag=True,
    help="Also contact each outbound endpoint (a HEAD of its root: no body, no credentials).",
)
def doctor(
    repo: Path, branch: str, output_format: str, skipped: tuple[str, ...], probe: bool
) -> None:
    from jitflow.reporters.doctor import render_doctor
    from jitflow.usecases.doctor import DoctorOptions, run_doctor

    report = run_doctor(
        DoctorOptions(
            repo=repo,
            branch=branch,
            skip=frozenset(skipped),
            environ=dict(os.environ),
            probe=probe,
        )
    )
    rendered = render_doctor(report, output_format)
    click.echo(paint(rendered, sys.stdout) if output_format == "text" else rendered, nl=False)
    raise SystemExit(int(report.exit_code))
