"""Option types shared by several commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from jitflow.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def format_option(*choices: str, help: str | None = None) -> Callable[[F], F]:
    """`--format` (into `output_format`), defaulting to the first choice."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help or "How to print the result.",
    )


def repo_option(help: str | None = None) -> Callable[[F], F]:
    """`--repo DIR`: the clone to work in, by default the current directory."""
    return click.option(
        "--repo",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        default=Path("."),
        show_default=True,
        help=help or "The access repository's clone.",
    )


class IsoTime(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 time with a zone, e.g. 2026-11-23T09:00:00Z, or a date (00:00 UTC)."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        from jitflow.core.times import parse_time

        text = str(value).strip()
        if _DATE.match(text):
            text += "T00:00:00Z"
        try:
            return parse_time(text)
        except ValueError:
            self.fail(
                f"{value!r} is neither an ISO 8601 time with a zone (e.g. 2026-11-23T09:00:00Z)"
                " nor a date (e.g. 2026-11-23, meaning 00:00 UTC)",
                param,
                ctx,
            )


remote_option = click.option(
    "--remote",
    metavar="NAME",
    default="origin",
    show_default=True,
    help="With --open: where to push the branch.",
)


def duration_value(value: str, flag: str) -> timedelta:
    """A duration flag's value (`90d`, `15m`), or a usage error naming the flag."""
    from jitflow.core.durations import DurationError, parse_duration

    try:
        return parse_duration(value)
    except DurationError as exc:
        raise UsageError(f"{flag}: {exc}") from exc


def now_or(value: datetime | None) -> datetime:
    return value or datetime.now(UTC).replace(microsecond=0)


def _clone(ctx: click.Context) -> Path:
    value = ctx.params.get("repo")
    return Path(value) if value else Path(".")


def complete_policy(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: the policy names in the work tree's policies/."""
    folder = _clone(ctx) / "policies"
    names = sorted(
        p.stem for p in folder.glob("*.yaml") if p.name not in ("groups.yaml", "rotations.yaml")
    )
    return [name for name in names if name.startswith(incomplete)]


def complete_grant(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: the ids of active grants in the work tree's requests/active/."""
    folder = _clone(ctx) / "requests" / "active"
    ids = sorted(p.stem for p in folder.glob("*.yaml"))
    return [grant for grant in ids if grant.startswith(incomplete)]
