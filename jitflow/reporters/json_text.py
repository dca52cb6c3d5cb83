"""JSON for people and tools: indented, times in ISO 8601 (UTC as Z), enums as their values."""

from __future__ import annotations

from datetime import datetime


def json_text(value: object) -> str:
    """Indented JSON of plain data and dataclasses (times in ISO 8601, enums as values)."""
    import dataclasses
    import json
    from enum import Enum

    def plain(item: object) -> object:
        if isinstance(item, datetime):
            return item.isoformat().replace("+00:00", "Z")
        if isinstance(item, Enum):
            return item.value
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.asdict(item)
        return str(item)

    return json.dumps(value, indent=2, default=plain)
