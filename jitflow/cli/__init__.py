"""The `jitflow` command line: parse options, call one use-case, render its result.

Use-cases and heavy libraries are imported inside each command so that `jitflow --help`
stays fast.
"""

from __future__ import annotations

import sys

from jitflow.cli import commands  # noqa: F401  (registers every subcommand on the group)
from jitflow.cli.group import EXIT_CODES_HELP, cli

__all__ = ["EXIT_CODES_HELP", "cli", "main"]


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="jitflow")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
