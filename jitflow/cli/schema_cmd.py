"""`jitflow schema`."""

from __future__ import annotations

import click

from jitflow.cli.group import cli

# core.schemas.SCHEMA_NAMES, spelled out so that start-up imports no core module
NAMES = ("request", "policy", "groups", "oncall", "policy-test", "outbound")


@cli.command()
@click.argument("name", type=click.Choice(NAMES))
def schema(name: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a file format."""
    from jitflow.usecases.schemas import SchemaOptions, schema_document

    click.echo(schema_document(SchemaOptions(name)), nl=False)
