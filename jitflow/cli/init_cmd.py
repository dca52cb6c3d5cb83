"""`jitflow init`."""

from __future__ import annotations

from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP, cli


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."), required=False
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--action",
    metavar="OWNER/NAME@SHA",
    help="The jitflow action the workflows run, pinned to a full commit SHA "
    "(default: the commit jitflow was installed from, when it was installed from GitHub).",
)
def init(directory: Path, force: bool, action: str | None) -> None:
    """Scaffold an access repository in DIRECTORY (default: here).

    Writes policies/ (groups and an example policy), requests/ (with active/ and archive/),
    the check and sync workflows (running the jitflow action pinned by --action),
    .github/CODEOWNERS, .pre-commit-config.yaml and the JSON Schemas under .jitflow/schemas/.
    Refuses to overwrite existing files unless --force.
    """
    from jitflow.reporters.init import render_next_steps
    from jitflow.usecases.init import InitOptions, run_init

    result = run_init(InitOptions(directory, force, action))
    for path in result.written:
        click.echo(f"  created  {path}")
    for path in result.overwritten:
        click.echo(f"  replaced {path}")
    click.echo(f"\n{render_next_steps(result.directory, result.action)}", nl=False)
