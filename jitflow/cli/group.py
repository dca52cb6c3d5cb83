"""The `jitflow` group: its help, exit codes, and one clear line for every jitflow error.

Each command module registers its subcommand on `cli`; jitflow/cli/__init__.py imports them all.
"""

from __future__ import annotations

import os
from typing import Any

import click

from jitflow import __version__
from jitflow.errors import ExitCode, JitflowError

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (for check: the request is valid; approvals may be pending)
  1  denied (a request or change violates policy; a verification failed)
  2  usage or configuration error (bad flags, bad files, missing settings)
  3  unexpected error (a bug, or a service failing in an unexpected way)
"""


class JitflowGroup(click.Group):
    """Turns jitflow's errors into one clear line and the documented exit code."""

    group_class = type  # subgroups (audit, policy) are JitflowGroups too

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole first sentence, wrapped, never cut to "..."."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JitflowError as exc:
            click.echo(f"jitflow: error: {exc.message}", err=True)
            ctx.exit(int(exc.exit_code))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("jitflow: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if os.environ.get("JITFLOW_DEBUG"):
                raise
            click.echo(
                f"jitflow: unexpected error: {type(exc).__name__}: {exc}\n"
                "Set JITFLOW_DEBUG=1 for a traceback, and please report it.",
                err=True,
            )
            ctx.exit(int(ExitCode.UNEXPECTED))


@click.group(
    cls=JitflowGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="jitflow")
def cli() -> None:
    """Just-in-time privilege elevation, reviewed in pull requests, issued by Vault."""
