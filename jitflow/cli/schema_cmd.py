"""`jitflow schema`."""

from __future__ import annotations

import click

from jitflow.cli.group import cli


@cli.command()
@click.argument(
    "name",
    type=click.Choice(["request", "policy", "groups", "oncall", "policy-test", "outbound"]),
)
def schema(name: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a file format."""
    from jitflow.core.schemas import schema_text

    click.echo(schema_text(name), nl=False)
