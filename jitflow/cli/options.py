"""Option types shared by several commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click


class IsoTime(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 time with a zone, e.g. 2026-11-23T09:00:00Z."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        from jitflow.core.loading import parse_time

        try:
            return parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def now_or(value: datetime | None) -> datetime:
    return value or datetime.now(UTC).replace(microsecond=0)
