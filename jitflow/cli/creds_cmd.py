"""`jitflow creds`."""

from __future__ import annotations

from pathlib import Path

import click

from jitflow.cli import wiring
from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import complete_grant, format_option, repo_option
from jitflow.errors import ExitCode, WrappingTokenUsedError

_REPO = repo_option()


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("request_id", metavar="ID", shell_complete=complete_grant)
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("~/.ssh/id_ed25519").expanduser(),
    show_default=True,
    help="Your SSH private key (ed25519 or RSA, no passphrase).",
)
@format_option("env", "json", "pgpass", help="env: shell exports; pgpass: a ~/.pgpass line.")
@click.option(
    "--ref",
    metavar="REF",
    default="origin/main",
    show_default=True,
    help="Read the active grant and its PR here.",
)
@_REPO
def creds(request_id: str, identity: Path, output_format: str, ref: str, repo: Path) -> None:
    """Fetch, decrypt and unwrap the credentials of your active grant ID (printed once).

    For an SSH grant, saves the signed certificate next to --identity as `<key>-cert.pub`
    (where ssh looks for it) and prints it; --identity must be the key the request named.
    """
    from jitflow.reporters.creds import render_credentials
    from jitflow.usecases.creds import CredsOptions, SavedCertificate, retrieve

    environ = wiring.environment()
    options = CredsOptions(repo, request_id, identity, output_format, ref)
    with wiring.github(environ) as github:
        try:
            found = retrieve(options, github, environ)
        except WrappingTokenUsedError as exc:
            click.echo(
                f"jitflow: WARNING: POSSIBLE INTERCEPTION of {request_id}: {exc.message}", err=True
            )
            raise SystemExit(int(ExitCode.DENIED)) from exc
    if isinstance(found, SavedCertificate):
        click.echo(f"jitflow: saved the SSH certificate to {found.path}", err=True)
        values = {"certificate": found.certificate}
    else:
        values = found
    click.echo(render_credentials(values, output_format), nl=False)
