"""`jitflow demo`: the sandbox's one door (imported lazily, only when the demo runs)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Leave the demo's access repository (full history) in DIR, a new directory.",
)
def demo(keep: Path | None) -> None:
    """See the whole lifecycle in ~20 seconds, on real local servers.

    Starts OpenBao (and PostgreSQL when installed) and a local GitHub stand-in, then plays:
    request PR, check, an ignored approval, a valid one, merge, sync issues, `jitflow creds`,
    the credential works, time jumps past the expiry, sync revokes, the credential is refused,
    `jitflow audit` and `audit verify`. Everything it starts is stopped and removed at the end.
    """
    from jitflow.sandbox.demo import DemoOptions, run_demo

    result = run_demo(DemoOptions(keep=keep), sys.stdout)
    raise SystemExit(int(result.exit_code))
