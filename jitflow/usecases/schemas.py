"""`jitflow schema`: the JSON Schema (draft 2020-12) of one of jitflow's file formats."""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.core.schemas import SCHEMA_NAMES, schema_text
from jitflow.errors import UsageError


@dataclass(frozen=True)
class SchemaOptions:
    """Which format's schema: one of `SCHEMA_NAMES`."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in SCHEMA_NAMES:
            raise UsageError(f"no schema {self.name!r}: choose one of {', '.join(SCHEMA_NAMES)}")


def schema_document(options: SchemaOptions) -> str:
    """The schema's JSON text, as jitflow ships it."""
    return schema_text(options.name)
